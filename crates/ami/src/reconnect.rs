//! The connection manager: keeps a session logged in, reconnecting with capped exponential
//! backoff and jitter after a loss, and publishes its state. Requests in flight when a
//! connection is lost fail; nothing is ever sent again on the next connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::banner::Banner;
use crate::config::{Backoff, Config};
use crate::connection::{End, Reply, Request, Session};
use crate::error::Error;
use crate::events::EventSink;
use crate::ids::{ActionIds, random_u64};

/// Where the client's connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Logged in and serving requests.
    Connected {
        /// The server's banner.
        banner: Banner,
    },
    /// The connection was lost or an attempt failed; the next attempt comes after
    /// `retry_in`. Requests fail at once meanwhile.
    Disconnected {
        /// Why.
        reason: String,
        /// How many attempts failed since the loss.
        attempt: u32,
        /// The (jittered) delay before the next attempt.
        retry_in: Duration,
    },
    /// Attempting to connect and log in again.
    Connecting {
        /// The attempt's number since the loss, from 1.
        attempt: u32,
    },
    /// Logged off, or every client handle dropped; there will be no more connections.
    Closed,
}

/// The delay before reconnect attempt `attempt` (from 0): `initial · 2^attempt` capped at
/// `max`, then a random point between half of it and all of it.
pub(crate) fn delay(backoff: &Backoff, attempt: u32, random: u64) -> Duration {
    let full = backoff
        .initial
        .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .min(backoff.max);
    let half = full / 2;
    let jitter_nanos = (half.as_nanos() as u64)
        .checked_add(1)
        .map_or(0, |span| random % span);
    half + Duration::from_nanos(jitter_nanos)
}

/// What the manager task needs.
pub(crate) struct Manager {
    /// The connection settings.
    pub(crate) config: Arc<Config>,
    /// ActionIDs shared with the client handles.
    pub(crate) ids: Arc<ActionIds>,
    /// Requests from the client handles.
    pub(crate) requests: mpsc::Receiver<Request>,
    /// Where events are published.
    pub(crate) events: EventSink,
    /// Where the state is published.
    pub(crate) state: watch::Sender<State>,
}

impl Manager {
    /// Serves `session`, then reconnects after every loss until closed.
    pub(crate) async fn run(mut self, mut session: Session) {
        loop {
            self.publish(State::Connected {
                banner: session.banner().clone(),
            });
            let end = session
                .run(&mut self.requests, &self.events, &self.config, &self.ids)
                .await;
            drop(session);
            let End::Lost(reason) = end else {
                self.publish(State::Closed);
                return;
            };
            tracing::warn!(addr = %self.config.addr, %reason, "AMI connection lost");
            match self.reconnect(reason).await {
                Some(next) => session = next,
                None => {
                    self.publish(State::Closed);
                    return;
                }
            }
        }
    }

    /// Publishes `state`, waking watchers only when it differs from the current one.
    fn publish(&self, state: State) {
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    /// Tries again and again with backoff; `None` when every handle was dropped or a
    /// Logoff was asked for meanwhile.
    async fn reconnect(&mut self, mut reason: String) -> Option<Session> {
        let mut attempt = 0;
        loop {
            let retry_in = delay(&self.config.backoff, attempt, random_u64());
            self.publish(State::Disconnected {
                reason: reason.clone(),
                attempt,
                retry_in,
            });
            let sleep = tokio::time::sleep(retry_in);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    request = self.requests.recv() => {
                        let request = request?;
                        if matches!(request.reply, Reply::Logoff(_)) {
                            // Logging off while disconnected: just stop reconnecting.
                            request.reply.fail(Error::Closed);
                            return None;
                        }
                        request.reply.fail(Error::NotConnected { reason: reason.clone() });
                    }
                }
            }
            attempt += 1;
            self.publish(State::Connecting { attempt });
            match Session::establish(&self.config, &self.ids).await {
                Ok(session) => {
                    tracing::info!(addr = %self.config.addr, attempt, "AMI reconnected");
                    return Some(session);
                }
                Err(e) => reason = e.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_in_the_upper_half() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for (attempt, full_ms) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1000),
            (60, 1000),
        ] {
            let full = Duration::from_millis(full_ms);
            assert_eq!(delay(&backoff, attempt, 0), full / 2, "attempt {attempt}");
            for random in [1, 12_345, u64::MAX / 3] {
                let d = delay(&backoff, attempt, random);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
    }
}
