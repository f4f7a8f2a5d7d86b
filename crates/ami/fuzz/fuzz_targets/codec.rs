//! Fuzzes the AMI codec: arbitrary bytes, cut into arbitrary chunks, under small limits,
//! must decode without panicking, within the limits (what waits for more input never
//! exceeds the message size), and the same however they are cut.

#![no_main]

use bytes::BytesMut;
use clickdial_ami::{AmiCodec, CodecError, Frame, Limits};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const LIMITS: Limits = Limits {
    max_line_length: 256,
    max_headers: 32,
    max_message_size: 4096,
};

/// Decodes `chunks` in turn; the frames before the first error, and whether one came.
fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Frame>, Option<String>) {
    let mut codec = AmiCodec::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut step = |codec: &mut AmiCodec, buf: &mut BytesMut, eof: bool| -> Result<(), CodecError> {
        loop {
            let frame = if eof { codec.decode_eof(buf)? } else { codec.decode(buf)? };
            match frame {
                Some(frame) => {
                    if let Frame::Message(m) = &frame {
                        assert!(m.len() <= LIMITS.max_headers);
                    }
                    frames.push(frame);
                }
                None => {
                    assert!(buf.len() <= LIMITS.max_message_size, "waiting buffers stay bounded");
                    return Ok(());
                }
            }
        }
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if let Err(e) = step(&mut codec, &mut buf, false) {
            return (frames, Some(kind(&e)));
        }
    }
    let error = step(&mut codec, &mut buf, true).err().map(|e| kind(&e));
    (frames, error)
}

/// The error's variant, without details that depend on where the input was cut.
fn kind(e: &CodecError) -> String {
    match e {
        CodecError::Truncated { .. } => "truncated".into(),
        other => other.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let whole = decode(std::iter::once(data));
    let chunked = decode(data.chunks(usize::from(cut) + 1));
    assert_eq!(whole.0, chunked.0, "the same frames however the input is cut");
    if whole.1.is_none() || chunked.1.is_none() {
        assert_eq!(whole.1, chunked.1, "the same outcome however the input is cut");
    }
});
