//! The codec against a stream recorded from a real Asterisk 22 (`data/session.ami`: login,
//! Ping, Command, an Originate with its events, two event lists, Logoff), split at every
//! byte, with bare LFs, and against garbage and oversized input.

use bytes::BytesMut;
use clickdial_ami::{AmiCodec, CodecError, Frame, Limits};
use tokio_util::codec::Decoder;

const SESSION: &[u8] = include_bytes!("data/session.ami");

/// Decodes what `chunks` deliver one after another, as a socket would.
fn decode_chunks<'a>(
    codec: &mut AmiCodec,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Frame>, CodecError> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode(&mut buf)? {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf)? {
        frames.push(frame);
    }
    Ok(frames)
}

fn whole(bytes: &[u8]) -> Vec<Frame> {
    decode_chunks(&mut AmiCodec::default(), [bytes]).expect("the recording decodes")
}

#[test]
fn the_recording_decodes_into_its_banner_and_messages() {
    let frames = whole(SESSION);
    assert!(matches!(&frames[0], Frame::Banner(b) if b.version() == "11.0.0"));
    let messages: Vec<_> = frames[1..]
        .iter()
        .map(|f| match f {
            Frame::Message(m) => m,
            Frame::Banner(_) => panic!("a second banner"),
        })
        .collect();
    let blank_lines = SESSION.windows(4).filter(|w| w == b"\r\n\r\n").count();
    assert_eq!(messages.len(), blank_lines, "one message per blank line");
    let command = messages
        .iter()
        .find(|m| m.action_id() == Some("cmd2"))
        .expect("the dialplan command's answer");
    assert!(command.get_all("Output").count() > 5, "{command:?}");
    let originate = messages
        .iter()
        .find(|m| m.event() == Some("OriginateResponse"))
        .expect("an OriginateResponse");
    assert_eq!(originate.action_id(), Some("o0"));
    assert_eq!(originate.get("reason"), Some("4"));
    assert_eq!(messages.last().unwrap().response(), Some("Goodbye"));
}

#[test]
fn every_split_of_the_recording_decodes_the_same() {
    let reference = whole(SESSION);
    for split in 0..=SESSION.len() {
        let (a, b) = SESSION.split_at(split);
        let frames = decode_chunks(&mut AmiCodec::default(), [a, b]).unwrap();
        assert_eq!(frames, reference, "split at byte {split}");
    }
    let bytewise = decode_chunks(&mut AmiCodec::default(), SESSION.chunks(1)).unwrap();
    assert_eq!(bytewise, reference);
}

#[test]
fn bare_lf_line_endings_decode_like_crlf() {
    let bare: Vec<u8> = String::from_utf8_lossy(SESSION)
        .replace("\r\n", "\n")
        .into_bytes();
    let pairs = |frames: Vec<Frame>| -> Vec<Vec<(String, String)>> {
        frames
            .into_iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(
                    m.iter()
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect(),
                ),
                Frame::Banner(_) => None,
            })
            .collect()
    };
    assert_eq!(pairs(whole(&bare)), pairs(whole(SESSION)));
}

#[test]
fn an_endless_line_is_refused_without_buffering_it() {
    let limits = Limits::default();
    let mut codec = AmiCodec::default();
    let mut buf = BytesMut::from(&b"Asterisk Call Manager/11.0.0\r\nEvent: X\r\nValue: "[..]);
    assert!(matches!(codec.decode(&mut buf), Ok(Some(Frame::Banner(_)))));
    let chunk = [b'a'; 4096];
    let mut fed = 0;
    let err = loop {
        buf.extend_from_slice(&chunk);
        fed += chunk.len();
        match codec.decode(&mut buf) {
            Ok(None) => assert!(fed <= limits.max_line_length + chunk.len()),
            Ok(Some(frame)) => panic!("a frame from an endless line: {frame:?}"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, CodecError::LineTooLong { limit } if limit == limits.max_line_length));
}

#[test]
fn garbage_gives_errors_or_messages_never_a_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let limits = Limits {
        max_line_length: 64,
        max_headers: 8,
        max_message_size: 512,
    };
    let alphabet = b"\r\n\n:: aZ\x00\xff\xc3-";
    for _ in 0..2000 {
        let len = (next() % 700) as usize;
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if next() % 2 == 0 {
            bytes.splice(0..0, b"Asterisk Call Manager/11.0.0\n".iter().copied());
        }
        let mut codec = AmiCodec::new(limits);
        let chunks: Vec<&[u8]> = bytes.chunks(1 + (next() % 64) as usize).collect();
        if let Ok(frames) = decode_chunks(&mut codec, chunks) {
            for frame in frames {
                if let Frame::Message(m) = frame {
                    assert!(m.len() <= limits.max_headers);
                    assert!(m.as_str().len() <= 3 * limits.max_message_size);
                }
            }
        }
    }
}
