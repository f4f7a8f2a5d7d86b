//! The state one sandbox shares among its connections: configuration, dialplan, the event
//! bus, channel numbering, the faults for new connections and the shutdown signal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use clickdial_ami::Message;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::dialplan::Dialplan;
use crate::faults::Faults;

/// How many events a connection may fall behind before it misses some.
const EVENT_BUFFER: usize = 16 * 1024;

/// One simulated PBX.
#[derive(Debug)]
pub(crate) struct Pbx {
    config: Config,
    dialplan: Dialplan,
    events: broadcast::Sender<Message>,
    next_pair: AtomicU32,
    next_uniqueid: AtomicU64,
    started: u64,
    faults: Mutex<Faults>,
    shutdown: CancellationToken,
}

impl Pbx {
    /// A PBX serving `config`.
    pub(crate) fn new(config: Config) -> Pbx {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Pbx {
            dialplan: Dialplan::new(config.extensions.clone()),
            faults: Mutex::new(config.faults.clone()),
            config,
            events,
            next_pair: AtomicU32::new(0),
            next_uniqueid: AtomicU64::new(0),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            shutdown: CancellationToken::new(),
        }
    }

    /// The configuration served.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The dialplan.
    pub(crate) fn dialplan(&self) -> &Dialplan {
        &self.dialplan
    }

    /// Sends a call-class event to every connection that wants it.
    pub(crate) fn publish(&self, event: Message) {
        // Nobody listening is fine: Asterisk drops events no session wants too.
        let _ = self.events.send(event);
    }

    /// A subscription to the events published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.events.subscribe()
    }

    /// The number of the next Local channel pair (`-00000000`, `-00000001`, ...).
    pub(crate) fn next_pair(&self) -> u32 {
        self.next_pair.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh `Uniqueid` in Asterisk's form, `<start time>.<counter>`.
    pub(crate) fn next_uniqueid(&self) -> String {
        let n = self.next_uniqueid.fetch_add(1, Ordering::Relaxed);
        format!("{}.{n}", self.started)
    }

    /// The faults a new connection gets.
    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replaces the faults for connections accepted from now on.
    pub(crate) fn set_faults(&self, faults: Faults) {
        *self
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = faults;
    }

    /// Cancelled when the sandbox stops: every connection and call ends.
    pub(crate) fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}
