//! Faults a real Asterisk cannot produce on demand, injected per connection: latency, a
//! connection dropped after some bytes or at a named point, garbage or bare-LF output, a
//! stalled peer, refused logins and a slow flood of events.
//!
//! [`Output`] is the write side of a connection with the byte-level faults applied; the
//! session consults [`Faults::interruption_at`] at each named [`Point`].

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A named moment in a connection's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// Accepted, before the banner.
    Connect,
    /// A `Login` arrived, before it is answered.
    Login,
    /// An action of this name (case-insensitive) arrived, before it is answered.
    Action(String),
    /// The answer to an action of this name (case-insensitive) was written; for an async
    /// `Originate` that is before its `OriginateResponse`.
    AfterResponse(String),
}

/// What happens at a [`Point`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// Close the connection.
    Drop,
    /// Stop reading and writing but keep the connection open, as a hung peer does.
    Stall,
}

/// Events sent to a logged-in connection at a steady pace, for back-pressure tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFlood {
    /// How many events (0: without end).
    pub count: u64,
    /// The pause between two events (not scaled by the speed).
    pub interval: Duration,
}

/// The faults of a connection; the default has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Waits this long before writing each response (not scaled by the speed).
    pub latency: Duration,
    /// Closes the connection once this many bytes were written (the banner included),
    /// possibly in the middle of a line.
    pub drop_after_bytes: Option<u64>,
    /// Interrupts the connection at named points.
    pub interruptions: Vec<(Point, Interruption)>,
    /// Bytes written right after a successful login's response.
    pub garbage_after_login: Option<Vec<u8>>,
    /// Ends every line with a bare LF instead of CRLF, banner included.
    pub bare_lf: bool,
    /// Refuses every login with `Authentication failed`, as a wrong secret would.
    pub refuse_logins: bool,
    /// Floods logged-in connections with events.
    pub event_flood: Option<EventFlood>,
}

impl Faults {
    /// Adds an interruption at `point`.
    pub fn interrupt(mut self, point: Point, interruption: Interruption) -> Faults {
        self.interruptions.push((point, interruption));
        self
    }

    /// The interruption configured at `point`, if any.
    pub(crate) fn interruption_at(&self, point: &Point) -> Option<Interruption> {
        self.interruptions
            .iter()
            .find(|(p, _)| same_point(p, point))
            .map(|(_, i)| *i)
    }
}

/// Whether two points are the same, action names compared case-insensitively.
fn same_point(a: &Point, b: &Point) -> bool {
    match (a, b) {
        (Point::Action(x), Point::Action(y))
        | (Point::AfterResponse(x), Point::AfterResponse(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// The write side of a connection with the byte-level faults applied.
#[derive(Debug)]
pub(crate) struct Output<W> {
    writer: W,
    bare_lf: bool,
    budget: Option<u64>,
}

impl<W: AsyncWrite + Unpin> Output<W> {
    /// Wraps `writer` with the faults of `faults`.
    pub(crate) fn new(writer: W, faults: &Faults) -> Output<W> {
        Output {
            writer,
            bare_lf: faults.bare_lf,
            budget: faults.drop_after_bytes,
        }
    }

    /// Writes AMI text (lines ended by CRLF), as bare-LF lines if so configured. Fails
    /// once the byte budget is spent, after writing what it allowed.
    pub(crate) async fn write_text(&mut self, text: &str) -> io::Result<()> {
        if self.bare_lf {
            self.write_bytes(text.replace("\r\n", "\n").as_bytes())
                .await
        } else {
            self.write_bytes(text.as_bytes()).await
        }
    }

    /// Writes raw bytes within the byte budget.
    pub(crate) async fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let allowed = match self.budget {
            None => bytes.len(),
            Some(left) => bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
        };
        self.writer.write_all(&bytes[..allowed]).await?;
        self.writer.flush().await?;
        if let Some(left) = &mut self.budget {
            *left -= allowed as u64;
            if allowed < bytes.len() || *left == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "fault injected: the byte budget is spent",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bare_lf_and_the_byte_budget_shape_the_output() {
        let faults = Faults {
            bare_lf: true,
            drop_after_bytes: Some(12),
            ..Faults::default()
        };
        let mut out = Output::new(Vec::new(), &faults);
        out.write_text("A: 1\r\n\r\n").await.unwrap();
        assert!(out.write_text("Event: X\r\n\r\n").await.is_err());
        assert_eq!(out.writer, b"A: 1\n\nEvent:");
    }

    #[test]
    fn points_match_action_names_case_insensitively() {
        let faults = Faults::default()
            .interrupt(Point::Action("Originate".into()), Interruption::Stall)
            .interrupt(Point::Login, Interruption::Drop);
        assert_eq!(
            faults.interruption_at(&Point::Action("originate".into())),
            Some(Interruption::Stall)
        );
        assert_eq!(
            faults.interruption_at(&Point::Login),
            Some(Interruption::Drop)
        );
        assert_eq!(
            faults.interruption_at(&Point::AfterResponse("Originate".into())),
            None
        );
    }
}
