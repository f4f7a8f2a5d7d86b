//! The state one sandbox shares among its connections: configuration, dialplan, the event
//! bus, channel numbering, the originated channels a `Hangup` action can reach, the faults
//! for new connections and the shutdown signal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use clickdial_ami::Message;
use regex::Regex;
use tokio::sync::{broadcast, mpsc};
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
    channels: Mutex<Vec<Registered>>,
    next_channel: AtomicU64,
    shutdown: CancellationToken,
}

/// An originated channel a `Hangup` action can reach.
#[derive(Debug)]
struct Registered {
    id: u64,
    name: String,
    uniqueid: String,
    hangups: mpsc::UnboundedSender<u32>,
}

/// Which channels a `Hangup` action names.
#[derive(Debug)]
pub(crate) enum Selector {
    /// The channel with this name or `Uniqueid`.
    Exact(String),
    /// Every channel whose name matches (the action's `/regex/`).
    Pattern(Regex),
}

/// A call's originated channel while it exists; dropping it removes it from the PBX.
#[derive(Debug)]
pub(crate) struct LiveChannel<'a> {
    pbx: &'a Pbx,
    id: u64,
    hangups: mpsc::UnboundedReceiver<u32>,
}

impl LiveChannel<'_> {
    /// The cause of the next `Hangup` action on the channel. Cancel-safe.
    pub(crate) async fn hangup_requested(&mut self) -> u32 {
        match self.hangups.recv().await {
            Some(cause) => cause,
            // The PBX holds the sender while the channel is registered.
            None => std::future::pending().await,
        }
    }
}

impl Drop for LiveChannel<'_> {
    fn drop(&mut self) {
        self.pbx.channels().retain(|c| c.id != self.id);
    }
}

impl Pbx {
    /// A PBX serving `config`.
    pub(crate) fn new(config: Config) -> Pbx {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Pbx {
            dialplan: Dialplan::new(config.extensions.clone()),
            faults: Mutex::new(config.faults.clone()),
            channels: Mutex::new(Vec::new()),
            next_channel: AtomicU64::new(0),
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

    /// A bridge's unique id, a random UUID as Asterisk makes them.
    pub(crate) fn new_bridge_id(&self) -> String {
        let (a, b) = (random_u64(), random_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// The registered channels.
    fn channels(&self) -> std::sync::MutexGuard<'_, Vec<Registered>> {
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes an originated channel reachable by the `Hangup` action until the returned
    /// guard is dropped.
    pub(crate) fn register_channel(&self, name: &str, uniqueid: &str) -> LiveChannel<'_> {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_channel.fetch_add(1, Ordering::Relaxed);
        self.channels().push(Registered {
            id,
            name: name.to_owned(),
            uniqueid: uniqueid.to_owned(),
            hangups: tx,
        });
        LiveChannel {
            pbx: self,
            id,
            hangups: rx,
        }
    }

    /// Hangs up the channels `selector` names with `cause`; their names.
    pub(crate) fn hang_up(&self, selector: &Selector, cause: u32) -> Vec<String> {
        self.channels()
            .iter()
            .filter(|c| match selector {
                Selector::Exact(id) => c.name == *id || c.uniqueid == *id,
                Selector::Pattern(regex) => regex.is_match(&c.name),
            })
            .filter(|c| c.hangups.send(cause).is_ok())
            .map(|c| c.name.clone())
            .collect()
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

/// A random number from the standard library's randomly keyed hasher.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
