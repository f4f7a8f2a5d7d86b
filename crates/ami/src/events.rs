//! Events as a subscribable stream: every subscriber gets every event (optionally
//! filtered) from a bounded buffer, and is told when it fell behind and missed some.
//! Tracked calls are fed their own events straight from a routing table instead, on the
//! connection's reader: a thousand calls in progress cost one lookup per event, not a
//! thousand filter runs, and a call's follower is woken only when its call makes progress.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc};

use crate::call::{CallProgress, EndReason, Leg, Tracker};
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
/// The headers that tie an event to a tracked call: the Originate's ActionID (on its
/// `OriginateResponse`) and the call's channel id (every channel of the call carries it as
/// `Uniqueid` or `Linkedid`; `Dial*` events as `DestUniqueid`/`DestLinkedid`).
const ROUTING_HEADERS: [&str; 5] = [
    "ActionID",
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "DestLinkedid",
];

type Routes = Arc<Mutex<HashMap<String, Arc<Route>>>>;

/// A tracked call as the connection's reader sees it.
#[derive(Debug)]
struct Route(Mutex<RouteState>);

#[derive(Debug)]
struct RouteState {
    /// Fed each event of the call as it is read.
    tracker: Tracker,
    /// Where the progress the events make goes.
    steps: mpsc::UnboundedSender<CallProgress>,
    /// The call's place in the originate window, given up at its first event.
    setting_up: Option<OwnedSemaphorePermit>,
}

impl Route {
    fn state(&self) -> std::sync::MutexGuard<'_, RouteState> {
        self.0.lock().expect("call route lock poisoned")
    }

    /// Feeds an event of the call to its tracker and passes on the progress it makes.
    fn feed(&self, event: &Event) {
        let mut state = self.state();
        // The call's channel exists (or Asterisk reported on it): the next may be set up.
        state.setting_up = None;
        for step in state.tracker.on_event(event) {
            let _ = state.steps.send(step);
        }
    }
}

/// Whether `event` carries one of `keys` in a routing header, i.e. belongs to the call
/// routed by those keys.
#[cfg(test)]
pub(crate) fn routes_to(event: &Event, keys: &[&str]) -> bool {
    ROUTING_HEADERS
        .iter()
        .any(|h| event.get(h).is_some_and(|v| keys.contains(&v)))
}

/// Where the connection publishes events: to every subscriber, and to the tracked call
/// each one belongs to.
#[derive(Debug, Clone)]
pub(crate) struct EventSink {
    subscribers: broadcast::Sender<Event>,
    routes: Routes,
}

impl EventSink {
    /// A sink whose subscribers may fall `capacity` events behind.
    pub(crate) fn new(capacity: usize) -> EventSink {
        EventSink {
            subscribers: broadcast::channel(capacity).0,
            routes: Routes::default(),
        }
    }

    /// Feeds an event to its tracked call (if any) and delivers it to every subscriber.
    pub(crate) fn publish(&self, event: Event) {
        let route = {
            let routes = self.routes.lock().expect("event routes lock poisoned");
            (!routes.is_empty())
                .then(|| {
                    event
                        .get_each(&ROUTING_HEADERS)
                        .into_iter()
                        .find_map(|v| v.and_then(|v| routes.get(v)))
                })
                .flatten()
                .cloned()
        };
        if let Some(route) = route {
            route.feed(&event);
        }
        let _ = self.subscribers.send(event);
    }

    /// A new subscription to every event.
    pub(crate) fn subscribe(&self) -> EventStream {
        EventStream {
            rx: self.subscribers.subscribe(),
            filter: None,
        }
    }

    /// Feeds the events carrying the tracker's ActionID or channel id to `tracker` until the
    /// returned call route is dropped; `setting_up` (the call's place in the originate
    /// window) is given up at the first of them.
    pub(crate) fn route(&self, tracker: Tracker, setting_up: OwnedSemaphorePermit) -> RoutedCall {
        let (tx, rx) = mpsc::unbounded_channel();
        let keys = [tracker.action_id.clone(), tracker.channel_id.clone()];
        let route = Arc::new(Route(Mutex::new(RouteState {
            tracker,
            steps: tx,
            setting_up: Some(setting_up),
        })));
        let mut routes = self.routes.lock().expect("event routes lock poisoned");
        for key in &keys {
            routes.insert(key.clone(), route.clone());
        }
        RoutedCall {
            rx,
            route,
            keys,
            routes: self.routes.clone(),
        }
    }
}

/// The progress of one tracked call, in the order its events arrived; the route is removed
/// when this is dropped.
#[derive(Debug)]
pub(crate) struct RoutedCall {
    rx: mpsc::UnboundedReceiver<CallProgress>,
    route: Arc<Route>,
    /// The call's ActionID and channel id.
    keys: [String; 2],
    routes: Routes,
}

impl RoutedCall {
    /// The ActionID the call's Originate was sent with.
    pub(crate) fn action_id(&self) -> &str {
        &self.keys[0]
    }

    /// The call's channel id.
    pub(crate) fn channel_id(&self) -> &str {
        &self.keys[1]
    }

    /// The next step of the call. (The route holds its own sender, so this never ends.)
    pub(crate) async fn recv(&mut self) -> Option<CallProgress> {
        self.rx.recv().await
    }

    /// Whether the call still holds a place in the originate window.
    pub(crate) fn setting_up(&self) -> bool {
        self.route.state().setting_up.is_some()
    }

    /// Gives the call's place in the originate window up.
    pub(crate) fn give_up_place(&self) {
        self.route.state().setting_up = None;
    }

    /// Whether Asterisk reported on the Originate (its `OriginateResponse`).
    pub(crate) fn reported(&self) -> bool {
        self.route.state().tracker.reported
    }

    /// Ends the call's tracking with `reason` on `leg`; later events make no progress.
    pub(crate) fn end(&self, leg: Leg, reason: EndReason) -> CallProgress {
        let mut state = self.route.state();
        state.setting_up = None;
        state.tracker.end(leg, reason)
    }
}

impl Drop for RoutedCall {
    fn drop(&mut self) {
        let mut routes = self.routes.lock().expect("event routes lock poisoned");
        for key in &self.keys {
            routes.remove(key);
        }
    }
}

type Filter = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// A subscription to the client's events, from the moment it was made.
pub struct EventStream {
    rx: broadcast::Receiver<Event>,
    filter: Option<Filter>,
}

impl EventStream {
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
        let sink = EventSink::new(4);
        let mut all = sink.subscribe();
        let mut hangups = sink
            .subscribe()
            .named(["hangup"])
            .filter(|e| e.get("N") != Some("3"));
        for n in 0..3 {
            sink.publish(event("Newstate", n));
            sink.publish(event("Hangup", n + 2));
        }
        assert_eq!(hangups.recv().await, Err(EventError::Lagged(2)));
        // Buffered now: Newstate 1, Hangup 3 (filtered out), Newstate 2, Hangup 4.
        assert_eq!(hangups.recv().await.unwrap().get("N"), Some("4"));
        assert_eq!(hangups.try_recv(), Ok(None));
        assert_eq!(all.try_recv(), Err(EventError::Lagged(2)));
        assert_eq!(all.try_recv().unwrap().unwrap().name(), "Newstate");
        drop(sink);
        assert_eq!(hangups.recv().await, Err(EventError::Closed));
    }

    fn channel_event(name: &str, headers: &[(&str, &str)]) -> Event {
        Event::new(Message::from_headers(
            [("Event", name)].into_iter().chain(headers.iter().copied()),
        ))
    }

    #[tokio::test]
    async fn a_routed_call_is_fed_its_own_events_and_gives_its_place_up_at_the_first() {
        let sink = EventSink::new(16);
        let mut everything = sink.subscribe();
        let window = Arc::new(tokio::sync::Semaphore::new(1));
        let place = window.clone().try_acquire_owned().unwrap();
        let mut call = sink.route(Tracker::new("a-1", "c-1"), place);
        sink.publish(channel_event(
            "Newchannel",
            &[("Uniqueid", "other"), ("Linkedid", "other")],
        ));
        assert_eq!(window.available_permits(), 0, "another call's event");
        sink.publish(channel_event(
            "Newchannel",
            &[("Uniqueid", "c-1;2"), ("Linkedid", "c-1")],
        ));
        assert_eq!(window.available_permits(), 1, "the call's first event");
        assert!(!call.setting_up());
        sink.publish(channel_event(
            "Newstate",
            &[("Uniqueid", "c-1"), ("ChannelState", "5")],
        ));
        assert!(!call.reported());
        sink.publish(channel_event(
            "OriginateResponse",
            &[("ActionID", "a-1"), ("Response", "Success")],
        ));
        assert!(call.reported());
        sink.publish(channel_event(
            "Newstate",
            &[("Uniqueid", "other"), ("ChannelState", "6")],
        ));
        sink.publish(channel_event("DialBegin", &[("Uniqueid", "c-1")]));
        for step in [
            CallProgress::AgentRinging,
            CallProgress::AgentAnswered,
            CallProgress::DestinationRinging,
        ] {
            assert_eq!(call.recv().await.unwrap(), step);
        }
        assert!(
            call.rx.try_recv().is_err(),
            "another call's event made progress here"
        );
        assert_eq!(
            everything.try_recv().unwrap().unwrap().get("Uniqueid"),
            Some("other")
        );

        drop(call);
        assert!(
            sink.routes.lock().unwrap().is_empty(),
            "the route is removed with its call"
        );
    }
}
