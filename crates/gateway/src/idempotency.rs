//! `Idempotency-Key`: the same key from the same agent within the window names the same call,
//! so a CRM's double click or retry never rings twice.
//!
//! The first request with a key reserves it and later [settles](Settle::settle) it with its
//! result; a repeat that arrives meanwhile waits for that result instead of racing it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::ApiError;

/// How the first request with a key ended: `Ok` once its call exists, or its error.
pub type Settled = Result<(), ApiError>;

/// The first request's promise to publish its result to repeats of its key.
pub struct Settle(watch::Sender<Option<Settled>>);

impl Settle {
    /// Publishes the first request's result to every repeat waiting for it.
    pub fn settle(self, result: Settled) {
        self.0.send_replace(Some(result));
    }
}

/// A repeat's view of the first request: wait for it with [`Pending::result`].
pub struct Pending(watch::Receiver<Option<Settled>>);

impl Pending {
    /// The first request's result, once it has one.
    pub async fn result(mut self) -> Settled {
        match self.0.wait_for(Option::is_some).await {
            Ok(result) => result.clone().expect("waited for Some"),
            Err(_) => Err(ApiError::internal(
                "the first request with this Idempotency-Key stopped without a result",
            )),
        }
    }
}

/// The longest key accepted; longer ones are refused as malformed.
pub const MAX_KEY_LEN: usize = 128;

/// What a reservation found.
pub enum Reservation {
    /// The key is new: the caller goes on, starts the call and settles the key.
    New(Settle),
    /// The key was used for the same number: the call it names and its first request's
    /// result.
    Existing(String, Pending),
    /// The key was used for a different number: a client bug worth reporting.
    Conflict {
        /// The call the key already names.
        call_id: String,
        /// What that call was asked to dial.
        requested: String,
    },
}

struct Entry {
    call_id: String,
    requested: String,
    at: Instant,
    settled: watch::Receiver<Option<Settled>>,
}

/// How often expired keys are swept out (lookups check expiry themselves).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

struct Table {
    entries: HashMap<(String, String), Entry>,
    swept: Instant,
}

/// Remembers (agent, key) → call for a window of time.
pub struct IdempotencyKeys {
    window: Duration,
    table: Mutex<Table>,
}

impl IdempotencyKeys {
    /// An empty store whose keys are honoured for `window`.
    pub fn new(window: Duration) -> IdempotencyKeys {
        IdempotencyKeys {
            window,
            table: Mutex::new(Table {
                entries: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Atomically looks the key up and, when it is new or expired, reserves it for `call_id`.
    /// Two concurrent requests with one key get one `New` and one `Existing`.
    pub fn reserve(&self, agent: &str, key: &str, requested: &str, call_id: &str) -> Reservation {
        let now = Instant::now();
        let mut table = self.table.lock().expect("idempotency lock poisoned");
        if now.duration_since(table.swept) >= SWEEP_EVERY {
            table
                .entries
                .retain(|_, e| now.duration_since(e.at) < self.window);
            table.swept = now;
        }
        let slot = (agent.to_owned(), key.to_owned());
        let live = table
            .entries
            .get(&slot)
            .filter(|e| now.duration_since(e.at) < self.window);
        if let Some(e) = live {
            return if e.requested == requested {
                Reservation::Existing(e.call_id.clone(), Pending(e.settled.clone()))
            } else {
                Reservation::Conflict {
                    call_id: e.call_id.clone(),
                    requested: e.requested.clone(),
                }
            };
        }
        let (settle, settled) = watch::channel(None);
        table.entries.insert(
            slot,
            Entry {
                call_id: call_id.to_owned(),
                requested: requested.to_owned(),
                at: now,
                settled,
            },
        );
        Reservation::New(Settle(settle))
    }

    /// Re-creates the reservation of a call started before a restart, already settled.
    pub fn restore(&self, agent: &str, key: &str, requested: &str, call_id: &str) {
        let (settle, settled) = watch::channel(Some(Ok(())));
        drop(settle);
        let mut table = self.table.lock().expect("idempotency lock poisoned");
        table.entries.insert(
            (agent.to_owned(), key.to_owned()),
            Entry {
                call_id: call_id.to_owned(),
                requested: requested.to_owned(),
                at: Instant::now(),
                settled,
            },
        );
    }

    /// Forgets a reservation whose call certainly never reached Asterisk, so a retry with the
    /// same key may dial.
    pub fn release(&self, agent: &str, key: &str, call_id: &str) {
        let mut table = self.table.lock().expect("idempotency lock poisoned");
        let slot = (agent.to_owned(), key.to_owned());
        if table
            .entries
            .get(&slot)
            .is_some_and(|e| e.call_id == call_id)
        {
            table.entries.remove(&slot);
        }
    }
}

/// Checks a client's key: 1–128 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(r: Reservation) -> Settle {
        match r {
            Reservation::New(settle) => settle,
            _ => panic!("expected a new reservation"),
        }
    }

    fn existing(r: Reservation) -> (String, Pending) {
        match r {
            Reservation::Existing(id, pending) => (id, pending),
            _ => panic!("expected an existing reservation"),
        }
    }

    #[tokio::test]
    async fn same_key_same_agent_same_number_is_the_same_call() {
        let keys = IdempotencyKeys::new(Duration::from_secs(60));
        let settle = new(keys.reserve("ana", "k1", "+3493", "c1"));
        let (id, pending) = existing(keys.reserve("ana", "k1", "+3493", "c2"));
        assert_eq!(id, "c1");
        let waiting = tokio::spawn(pending.result());
        settle.settle(Ok(()));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        new(keys.reserve("bob", "k1", "+3493", "c3"));
        match keys.reserve("ana", "k1", "+4420", "c4") {
            Reservation::Conflict { call_id, requested } => {
                assert_eq!((call_id.as_str(), requested.as_str()), ("c1", "+3493"));
            }
            _ => panic!("a key reused for another number is a conflict"),
        }
    }

    #[tokio::test]
    async fn repeats_get_the_first_requests_error() {
        let keys = IdempotencyKeys::new(Duration::from_secs(60));
        let settle = new(keys.reserve("ana", "k", "1", "c1"));
        let (_, pending) = existing(keys.reserve("ana", "k", "1", "c2"));
        settle.settle(Err(ApiError::rate_limited("slow down", 3)));
        assert_eq!(pending.result().await.unwrap_err().code, "rate_limited");

        let settle = new(keys.reserve("ana", "k2", "1", "c3"));
        let (_, pending) = existing(keys.reserve("ana", "k2", "1", "c4"));
        drop(settle);
        assert_eq!(pending.result().await.unwrap_err().code, "internal");
    }

    #[tokio::test]
    async fn restored_keys_replay_their_call() {
        let keys = IdempotencyKeys::new(Duration::from_secs(60));
        keys.restore("ana", "k", "1", "c0");
        let (id, pending) = existing(keys.reserve("ana", "k", "1", "c1"));
        assert_eq!(id, "c0");
        assert_eq!(pending.result().await, Ok(()));
    }

    #[test]
    fn keys_expire_and_released_keys_can_dial_again() {
        let keys = IdempotencyKeys::new(Duration::from_millis(30));
        new(keys.reserve("ana", "k", "1", "c1"));
        std::thread::sleep(Duration::from_millis(40));
        new(keys.reserve("ana", "k", "1", "c2"));

        keys.release("ana", "k", "other-call");
        assert_eq!(existing(keys.reserve("ana", "k", "1", "c3")).0, "c2");
        keys.release("ana", "k", "c2");
        new(keys.reserve("ana", "k", "1", "c4"));
    }

    #[test]
    fn concurrent_reservations_make_exactly_one_call() {
        let keys = std::sync::Arc::new(IdempotencyKeys::new(Duration::from_secs(60)));
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let keys = keys.clone();
                std::thread::spawn(move || {
                    matches!(
                        keys.reserve("ana", "double-click", "1", &format!("c{i}")),
                        Reservation::New(_)
                    )
                })
            })
            .collect();
        let new_ones = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|n| *n)
            .count();
        assert_eq!(new_ones, 1);
    }

    #[test]
    fn key_validation() {
        assert!(valid_key("crm-1234"));
        assert!(!valid_key(""));
        assert!(!valid_key("with space"));
        assert!(!valid_key(&"k".repeat(129)));
        assert!(!valid_key("ñ"));
    }
}
