//! The streaming AMI codec: the banner line first, then messages of `Name: value` lines
//! (ended by CRLF or a bare LF) closed by a blank line, all within [`Limits`].

use std::io;

use bytes::{Buf, BytesMut};
use memchr::memchr_iter;
use tokio_util::codec::{Decoder, Encoder};

use crate::action::Action;
use crate::banner::{Banner, BannerError};
use crate::message::{Message, Span};

/// The line that ends old-style (`Response: Follows`) command output.
const END_COMMAND: &[u8] = b"--END COMMAND--";

/// Bounds on what a peer may send; crossing one is an error and the connection is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line accepted, without its line ending.
    pub max_line_length: usize,
    /// The most header lines in one message.
    pub max_headers: usize,
    /// The largest message in bytes, line endings included (at most `u32::MAX`).
    pub max_message_size: usize,
}

impl Default for Limits {
    /// 16 KiB lines, 4096 headers, 1 MiB messages: far above what Asterisk sends (its
    /// longest lines are command output and channel variables), far below harm.
    fn default() -> Limits {
        Limits {
            max_line_length: 16 * 1024,
            max_headers: 4096,
            max_message_size: 1024 * 1024,
        }
    }
}

/// What the codec reads: the banner once, then messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The greeting line, always first.
    Banner(Banner),
    /// A response or an event.
    Message(Message),
}

/// Why the byte stream cannot be read as AMI; the connection must be dropped.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing the socket failed.
    #[error("AMI connection I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The first line is not an AMI banner.
    #[error(transparent)]
    NotAmi(#[from] BannerError),
    /// A line is longer than [`Limits::max_line_length`].
    #[error("the AMI peer sent a line longer than {limit} bytes")]
    LineTooLong {
        /// The limit crossed.
        limit: usize,
    },
    /// A message has more than [`Limits::max_headers`] lines.
    #[error("the AMI peer sent a message with more than {limit} header lines")]
    TooManyHeaders {
        /// The limit crossed.
        limit: usize,
    },
    /// A message is larger than [`Limits::max_message_size`].
    #[error("the AMI peer sent a message larger than {limit} bytes")]
    MessageTooLarge {
        /// The limit crossed.
        limit: usize,
    },
    /// The stream ended inside a message.
    #[error("the AMI connection was closed in the middle of a message ({bytes} bytes unfinished)")]
    Truncated {
        /// How many bytes of the unfinished message had arrived.
        bytes: usize,
    },
}

/// What the line that stopped a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// Nothing yet: the input ends inside a line.
    Incomplete,
    /// The banner line, ending at `end` (its line ending excluded).
    Banner {
        /// Where the banner's text ends.
        end: usize,
    },
    /// A blank line before any header: skipped.
    Stray,
    /// The blank line that ends a message.
    Message,
}

/// Where the codec is inside a `Response: Follows` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follows {
    /// Not in one.
    No,
    /// After `Response: Follows`, reading its `Privilege`/`ActionID` headers.
    Headers,
    /// Reading raw output lines until `--END COMMAND--`.
    Output,
}

/// Decodes AMI frames from bytes and encodes actions; one per connection.
///
/// It keeps its place in a partly received message, so every byte is looked at once
/// however the stream is split. After an error it forgets the partial message; the
/// connection should be dropped.
#[derive(Debug)]
pub struct AmiCodec {
    limits: Limits,
    banner_seen: bool,
    scanned: usize,
    spans: Vec<Span>,
    follows: Follows,
}

impl AmiCodec {
    /// A codec for a new connection, expecting the banner first.
    pub fn new(limits: Limits) -> AmiCodec {
        AmiCodec {
            limits: Limits {
                max_message_size: limits.max_message_size.min(u32::MAX as usize - 1),
                ..limits
            },
            banner_seen: false,
            scanned: 0,
            spans: Vec::new(),
            follows: Follows::No,
        }
    }

    /// A codec for a stream that starts after the banner (e.g. a capture of messages).
    pub fn without_banner(limits: Limits) -> AmiCodec {
        AmiCodec {
            banner_seen: true,
            ..AmiCodec::new(limits)
        }
    }

    /// Forgets the partly parsed message, after an error.
    fn reset(&mut self) {
        self.scanned = 0;
        self.spans.clear();
        self.follows = Follows::No;
    }

    /// Decodes the next frame; [`Decoder::decode`] adds the reset after errors.
    fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        loop {
            match self.scan(buf)? {
                Boundary::Incomplete => {
                    if buf.len() - self.scanned > self.limits.max_line_length.saturating_add(1) {
                        return Err(CodecError::LineTooLong {
                            limit: self.limits.max_line_length,
                        });
                    }
                    if buf.len() > self.limits.max_message_size {
                        return Err(CodecError::MessageTooLarge {
                            limit: self.limits.max_message_size,
                        });
                    }
                    return Ok(None);
                }
                Boundary::Banner { end } => {
                    let banner = Banner::parse(&String::from_utf8_lossy(&buf[..end]))?;
                    buf.advance(self.scanned);
                    self.scanned = 0;
                    self.banner_seen = true;
                    return Ok(Some(Frame::Banner(banner)));
                }
                Boundary::Stray => {
                    buf.advance(self.scanned);
                    self.scanned = 0;
                }
                Boundary::Message => return self.finish(buf).map(|m| Some(Frame::Message(m))),
            }
        }
    }

    /// Reads the lines after `scanned` up to the first that ends something.
    fn scan(&mut self, buf: &[u8]) -> Result<Boundary, CodecError> {
        let base = self.scanned;
        for newline in memchr_iter(b'\n', &buf[base..]) {
            let start = self.scanned;
            let lf = base + newline;
            let end = if lf > start && buf[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            self.scanned = lf + 1;
            if end - start > self.limits.max_line_length {
                return Err(CodecError::LineTooLong {
                    limit: self.limits.max_line_length,
                });
            }
            if self.scanned > self.limits.max_message_size {
                return Err(CodecError::MessageTooLarge {
                    limit: self.limits.max_message_size,
                });
            }
            if !self.banner_seen {
                return Ok(Boundary::Banner { end });
            }
            if start == end && self.follows != Follows::Output {
                return Ok(if self.spans.is_empty() {
                    Boundary::Stray
                } else {
                    Boundary::Message
                });
            }
            self.push_line(buf, start, end)?;
        }
        Ok(Boundary::Incomplete)
    }

    /// Takes the complete message at the front of `buf` (its `scanned` bytes).
    fn finish(&mut self, buf: &mut BytesMut) -> Result<Message, CodecError> {
        let length = std::mem::take(&mut self.scanned);
        self.follows = Follows::No;
        let capacity = self.spans.len();
        let spans = std::mem::replace(&mut self.spans, Vec::with_capacity(capacity));
        let message = match std::str::from_utf8(&buf[..length]) {
            Ok(text) => Message::from_parts(text.into(), spans),
            Err(_) => {
                // Replacement characters move offsets: parse the repaired text again.
                let repaired = String::from_utf8_lossy(&buf[..length]).into_owned();
                let mut again = AmiCodec::without_banner(Limits {
                    max_line_length: usize::MAX,
                    max_headers: usize::MAX,
                    max_message_size: usize::MAX,
                });
                match again.decode(&mut BytesMut::from(repaired.as_bytes()))? {
                    Some(Frame::Message(message)) => message,
                    _ => unreachable!("a complete message stays complete after UTF-8 repair"),
                }
            }
        };
        buf.advance(length);
        Ok(message)
    }

    /// Records one line of a message.
    fn push_line(&mut self, buf: &[u8], start: usize, end: usize) -> Result<(), CodecError> {
        let line = &buf[start..end];
        match self.follows {
            Follows::Output => self.push_output(line, start, end),
            Follows::Headers => {
                let span = Span::of_line(buf, start, end);
                let name = &buf[span.name_start as usize..span.name_end as usize];
                if span.name_end > span.name_start
                    && (name.eq_ignore_ascii_case(b"Privilege")
                        || name.eq_ignore_ascii_case(b"ActionID"))
                {
                    self.spans.push(span);
                } else {
                    self.follows = Follows::Output;
                    self.push_output(line, start, end);
                }
            }
            Follows::No => {
                let span = Span::of_line(buf, start, end);
                if self.spans.is_empty()
                    && buf[start..span.name_end as usize].eq_ignore_ascii_case(b"Response")
                    && buf[span.value_start as usize..end].eq_ignore_ascii_case(b"Follows")
                {
                    self.follows = Follows::Headers;
                }
                self.spans.push(span);
            }
        }
        if self.spans.len() > self.limits.max_headers {
            return Err(CodecError::TooManyHeaders {
                limit: self.limits.max_headers,
            });
        }
        Ok(())
    }

    /// Records a raw output line; the end marker (alone or glued to the last line) ends
    /// the output.
    fn push_output(&mut self, line: &[u8], start: usize, end: usize) {
        if line.ends_with(END_COMMAND) {
            let text_end = end - END_COMMAND.len();
            if text_end > start {
                self.spans.push(Span::raw_output(start, text_end));
            }
            self.follows = Follows::No;
        } else {
            self.spans.push(Span::raw_output(start, end));
        }
    }
}

impl Default for AmiCodec {
    fn default() -> AmiCodec {
        AmiCodec::new(Limits::default())
    }
}

impl Decoder for AmiCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        let frame = self.decode_frame(buf);
        if frame.is_err() {
            self.reset();
        }
        frame
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            buf.clear();
            self.scanned = 0;
            Ok(None)
        } else {
            self.reset();
            Err(CodecError::Truncated { bytes: buf.len() })
        }
    }
}

impl Encoder<(&str, &Action)> for AmiCodec {
    type Error = CodecError;

    /// Writes `action` with the given `ActionID`.
    fn encode(
        &mut self,
        (action_id, action): (&str, &Action),
        dst: &mut BytesMut,
    ) -> Result<(), CodecError> {
        action.encode(action_id, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut AmiCodec, bytes: &[u8]) -> Result<Vec<Frame>, CodecError> {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = codec.decode(&mut buf)? {
            frames.push(frame);
        }
        if let Some(frame) = codec.decode_eof(&mut buf)? {
            frames.push(frame);
        }
        Ok(frames)
    }

    fn messages(bytes: &[u8]) -> Vec<Message> {
        decode_all(&mut AmiCodec::without_banner(Limits::default()), bytes)
            .unwrap()
            .into_iter()
            .map(|f| match f {
                Frame::Message(m) => m,
                Frame::Banner(b) => panic!("unexpected banner {b}"),
            })
            .collect()
    }

    #[test]
    fn banner_then_messages_with_either_line_ending() {
        let frames = decode_all(
            &mut AmiCodec::default(),
            b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n\r\n\
              Event: FullyBooted\nStatus: Fully Booted\n\nEvent: Mixed\r\nA: 1\n\r\n",
        )
        .unwrap();
        assert_eq!(frames.len(), 4);
        assert!(matches!(&frames[0], Frame::Banner(b) if b.version() == "11.0.0"));
        let Frame::Message(m) = &frames[2] else {
            panic!()
        };
        assert_eq!(m.event(), Some("FullyBooted"));
        assert_eq!(m.get("status"), Some("Fully Booted"));
        let Frame::Message(m) = &frames[3] else {
            panic!()
        };
        assert_eq!(m.get("A"), Some("1"));
    }

    #[test]
    fn a_peer_that_is_not_ami_is_refused_at_the_first_line() {
        let err = decode_all(&mut AmiCodec::default(), b"SSH-2.0-OpenSSH_9.2\r\n").unwrap_err();
        assert!(
            matches!(err, CodecError::NotAmi(BannerError::NotAmi(_))),
            "{err}"
        );
    }

    #[test]
    fn old_style_command_output_keeps_colons_and_blank_lines() {
        let m = messages(
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n\
              Name: not a header\n\nlast line--END COMMAND--\r\n\r\n",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].response(), Some("Follows"));
        assert_eq!(m[0].action_id(), Some("7"));
        assert_eq!(
            m[0].get_all("Output").collect::<Vec<_>>(),
            ["Name: not a header", "", "last line"]
        );
        let m = messages(b"Response: Follows\r\nActionID: 8\r\nline\n--END COMMAND--\r\n\r\n");
        assert_eq!(m[0].get_all("Output").collect::<Vec<_>>(), ["line"]);
    }

    #[test]
    fn stray_blank_lines_and_lines_without_colons_are_tolerated() {
        let m = messages(b"\r\n\nEvent: X\r\nno colon here\r\n\r\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].iter().nth(1), Some(("", "no colon here")));
    }

    #[test]
    fn invalid_utf8_is_repaired_not_refused() {
        let m = messages(b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\nExten: 10\r\n\r\n");
        assert_eq!(m[0].get("CallerIDName"), Some("Jos\u{fffd}"));
        assert_eq!(m[0].get("Exten"), Some("10"));
    }

    #[test]
    fn limits_are_enforced_before_the_data_is_complete() {
        let limits = Limits {
            max_line_length: 16,
            max_headers: 2,
            max_message_size: 40,
        };
        let mut codec = AmiCodec::without_banner(limits);
        let err = decode_all(&mut codec, &[b'x'; 100]).unwrap_err();
        assert!(
            matches!(err, CodecError::LineTooLong { limit: 16 }),
            "{err}"
        );
        let err = decode_all(
            &mut AmiCodec::without_banner(limits),
            b"A: 1\r\nB: 2\r\nC: 3\r\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, CodecError::TooManyHeaders { limit: 2 }),
            "{err}"
        );
        let err = decode_all(
            &mut AmiCodec::without_banner(Limits {
                max_headers: 100,
                ..limits
            }),
            b"A: 1234567890\r\nB: 1234567890\r\nC: 1234567890\r\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, CodecError::MessageTooLarge { limit: 40 }),
            "{err}"
        );
    }

    #[test]
    fn a_message_cut_by_the_end_of_stream_is_truncated() {
        let mut codec = AmiCodec::without_banner(Limits::default());
        let err = decode_all(&mut codec, b"Response: Success\r\nActionID: 1\r\n").unwrap_err();
        assert!(matches!(err, CodecError::Truncated { bytes: 32 }), "{err}");
        assert!(decode_all(&mut codec, b"\r\n").unwrap().is_empty());
    }

    #[test]
    fn encodes_actions_with_their_action_id() {
        let mut out = BytesMut::new();
        AmiCodec::default()
            .encode(("a-1", &Action::named("Ping")), &mut out)
            .unwrap();
        assert_eq!(&out[..], b"Action: Ping\r\nActionID: a-1\r\n\r\n");
    }
}
