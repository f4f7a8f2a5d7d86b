//! Parse throughput of the AMI codec on a captured AMI stream.
//!
//!     cargo run --release -p clickdial-ami --example parse -- FILE
//!
//! FILE holds the bytes an AMI server sent (with or without the banner line), e.g.
//! `crates/ami/tests/data/originate-300.ami`. The whole file is decoded from memory again
//! and again for about two seconds; one line reports the messages and events in one pass
//! and the throughput. Not a test: a number to compare across machines and libraries.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use clickdial_ami::{AmiCodec, Frame, Limits};
use tokio_util::codec::Decoder;

/// How long to keep decoding.
const RUN_FOR: Duration = Duration::from_secs(2);

/// Messages and events in one pass over `data`.
fn decode(data: &[u8]) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut codec = if data.starts_with(b"Asterisk Call Manager/") {
        AmiCodec::new(Limits::default())
    } else {
        AmiCodec::without_banner(Limits::default())
    };
    let mut buf = BytesMut::from(data);
    let (mut messages, mut events) = (0, 0);
    while let Some(frame) = codec.decode_eof(&mut buf)? {
        if let Frame::Message(message) = frame {
            messages += 1;
            events += u64::from(message.event().is_some());
        }
    }
    Ok((messages, events))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: parse FILE (an AMI capture)")?;
    let data = std::fs::read(&path)?;
    let (messages, events) = decode(&data)?;
    let started = Instant::now();
    let mut passes = 0u64;
    while started.elapsed() < RUN_FOR {
        decode(&data)?;
        passes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{messages} messages ({events} events) in {} bytes: {:.0} messages/s, {:.1} MB/s",
        data.len(),
        (messages * passes) as f64 / seconds,
        (data.len() as u64 * passes) as f64 / seconds / 1e6,
    );
    Ok(())
}
