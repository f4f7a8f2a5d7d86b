//! Events as a subscribable stream: every subscriber gets every event (optionally
//! filtered) from a bounded buffer, and is told when it fell behind and missed some.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::message::Message;

/// An AMI event (a message whose first header is `Event:`), cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Event(Arc<Message>);

impl Event {
    /// Wraps a message that the caller knows is an event.
    pub(crate) fn new(message: Message) -> Event {
        Event(Arc::new(message))
    }

    /// The event's name, e.g. `Hangup`.
    pub fn name(&self) -> &str {
        self.0.event().unwrap_or_default()
    }
}

impl Deref for Event {
    type Target = Message;

    fn deref(&self) -> &Message {
        &self.0
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why [`EventStream::recv`] returned no event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The subscriber was too slow: this many events were dropped for it. Receiving goes
    /// on with the oldest event still buffered.
    #[error("the event subscriber fell behind and missed {0} events")]
    Lagged(u64),
    /// The client is closed; no more events will come.
    #[error("the AMI client is closed")]
    Closed,
}

/// A predicate choosing events.
type Filter = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// A subscription to the client's events, from the moment it was made.
pub struct EventStream {
    rx: broadcast::Receiver<Event>,
    filter: Option<Filter>,
}

impl EventStream {
    /// Subscribes to `tx`.
    pub(crate) fn new(tx: &broadcast::Sender<Event>) -> EventStream {
        EventStream {
            rx: tx.subscribe(),
            filter: None,
        }
    }

    /// Keeps only events for which `keep` is true (and the filters before it).
    pub fn filter(mut self, keep: impl Fn(&Event) -> bool + Send + Sync + 'static) -> EventStream {
        self.filter = Some(match self.filter.take() {
            None => Arc::new(keep),
            Some(before) => Arc::new(move |e: &Event| before(e) && keep(e)),
        });
        self
    }

    /// Keeps only events with one of these names (case-insensitive).
    pub fn named<I, S>(self, names: I) -> EventStream
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        self.filter(move |e| names.iter().any(|n| n.eq_ignore_ascii_case(e.name())))
    }

    /// Waits for the next chosen event.
    pub async fn recv(&mut self) -> Result<Event, EventError> {
        loop {
            match self.rx.recv().await {
                Ok(event) if self.keeps(&event) => return Ok(event),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(EventError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(EventError::Closed),
            }
        }
    }

    /// Takes the next chosen event if one is already buffered.
    pub fn try_recv(&mut self) -> Result<Option<Event>, EventError> {
        loop {
            match self.rx.try_recv() {
                Ok(event) if self.keeps(&event) => return Ok(Some(event)),
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Err(EventError::Lagged(n));
                }
                Err(broadcast::error::TryRecvError::Closed) => return Err(EventError::Closed),
            }
        }
    }

    /// Whether the filters choose `event`.
    fn keeps(&self, event: &Event) -> bool {
        self.filter.as_ref().is_none_or(|f| f(event))
    }
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("filtered", &self.filter.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, n: u32) -> Event {
        Event::new(Message::from_headers([
            ("Event", name),
            ("N", n.to_string().as_str()),
        ]))
    }

    #[tokio::test]
    async fn filters_combine_and_a_slow_subscriber_is_told_it_lagged() {
        let (tx, _) = broadcast::channel(4);
        let mut all = EventStream::new(&tx);
        let mut hangups = EventStream::new(&tx)
            .named(["hangup"])
            .filter(|e| e.get("N") != Some("3"));
        for n in 0..3 {
            tx.send(event("Newstate", n)).unwrap();
            tx.send(event("Hangup", n + 2)).unwrap();
        }
        assert_eq!(hangups.recv().await, Err(EventError::Lagged(2)));
        // Buffered now: Newstate 1, Hangup 3 (filtered out), Newstate 2, Hangup 4.
        assert_eq!(hangups.recv().await.unwrap().get("N"), Some("4"));
        assert_eq!(hangups.try_recv(), Ok(None));
        assert_eq!(all.try_recv(), Err(EventError::Lagged(2)));
        assert_eq!(all.try_recv().unwrap().unwrap().name(), "Newstate");
        drop(tx);
        assert_eq!(hangups.recv().await, Err(EventError::Closed));
    }
}
