//! The client handle: connect and log in, send actions and await their answers, subscribe
//! to events, watch the connection's state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::action::Action;
use crate::banner::Banner;
use crate::call::{Call, Tracker};
use crate::config::Config;
use crate::connection::{EventList, Reply, Request, Session};
use crate::error::{ConnectError, Error};
use crate::events::{EventSink, EventStream};
use crate::ids::ActionIds;
use crate::message::Message;
use crate::originate::Originate;
use crate::reconnect::{Manager, State};
use crate::value::Value;

/// How long Asterisk lets an originated channel ring when the Originate sets no Timeout.
const ASTERISK_ORIGINATE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many requests may wait for the connection task before senders wait.
const REQUEST_QUEUE: usize = 256;

/// A connected AMI client; clones share one connection. When the last clone is dropped
/// the client logs off.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    ids: Arc<ActionIds>,
    requests: mpsc::Sender<Request>,
    events: EventSink,
    state: watch::Receiver<State>,
    banner: Banner,
    /// Places for Originates whose agent channel Asterisk has not created yet.
    setting_up: Arc<Semaphore>,
}

impl Client {
    /// Connects and logs in; the first attempt's failure is returned as is. Afterwards a
    /// lost connection is re-established in the background (see [`Client::state`]).
    pub async fn connect(config: Config) -> Result<Client, ConnectError> {
        let ids = Arc::new(ActionIds::new());
        let session = Session::establish(&config, &ids).await?;
        let banner = session.banner().clone();
        let config = Arc::new(config);
        let (requests, requests_rx) = mpsc::channel(REQUEST_QUEUE);
        let events = EventSink::new(config.event_capacity);
        let (state_tx, state) = watch::channel(State::Connected {
            banner: banner.clone(),
        });
        let manager = Manager {
            config: config.clone(),
            ids: ids.clone(),
            requests: requests_rx,
            events: events.clone(),
            state: state_tx,
        };
        tokio::spawn(manager.run(session));
        let setting_up = Arc::new(Semaphore::new(config.originate_window));
        Ok(Client {
            inner: Arc::new(Inner {
                setting_up,
                config,
                ids,
                requests,
                events,
                state,
                banner,
            }),
        })
    }

    /// The banner of the first connection.
    pub fn banner(&self) -> &Banner {
        &self.inner.banner
    }

    /// The settings the client was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The connection's state, observable for changes.
    pub fn state(&self) -> watch::Receiver<State> {
        self.inner.state.clone()
    }

    /// A subscription to every event from now on.
    pub fn events(&self) -> EventStream {
        self.inner.events.subscribe()
    }

    /// A fresh ActionID from this client's sequence.
    pub(crate) fn next_id(&self) -> String {
        self.inner.ids.next()
    }

    /// Sends `action` and returns its `Success` (or `Follows`) response; an `Error`
    /// response becomes [`Error::PermissionDenied`] or [`Error::Refused`].
    pub async fn send(&self, action: Action) -> Result<Message, Error> {
        let timeout = self.inner.config.action_timeout;
        self.send_as(self.next_id(), action, timeout).await
    }

    /// [`Client::send`] with its own timeout instead of the configured one (e.g. for an
    /// Originate without `Async`, whose response waits for the call's outcome).
    pub async fn send_timeout(&self, action: Action, timeout: Duration) -> Result<Message, Error> {
        self.send_as(self.next_id(), action, timeout).await
    }

    /// Originates a call with `Async: true` and tracks it (see [`Call`]). A `ChannelId` is
    /// made up when none was set. The returned error is Asterisk's refusal, e.g.
    /// [`Error::PermissionDenied`] without the `originate` write class, or
    /// [`Error::Refused`] with "Extension does not exist." for an unknown destination.
    /// A call whose connection is lost is never originated again. Following the call needs
    /// the account's `read = call`; without it the call ends as [`crate::EndReason::Lost`]
    /// once the ring timeout (and the action timeout) passed with no `OriginateResponse`.
    ///
    /// While [`Config::originate_window`] calls are being set up, the Originate waits its
    /// turn, up to the action timeout ([`Error::Backlogged`] after it, nothing sent).
    pub async fn originate(&self, originate: Originate) -> Result<Call, Error> {
        self.originate_within(originate, self.inner.config.action_timeout)
            .await
    }

    /// [`Client::originate`], waiting at most `wait` for its turn: a caller that must not
    /// dial after a deadline passes what is left of it.
    pub async fn originate_within(
        &self,
        originate: Originate,
        wait: Duration,
    ) -> Result<Call, Error> {
        let setting_up = tokio::time::timeout(wait, self.inner.setting_up.clone().acquire_owned())
            .await
            .map_err(|_| Error::Backlogged {
                window: self.inner.config.originate_window,
                after: wait,
            })?
            .expect("the originate window is never closed");
        let channel_id = match originate.get_channel_id() {
            Some(id) => id.to_owned(),
            None => self.next_id(),
        };
        let originate = originate
            .channel_id(Value::new(channel_id.clone()).expect("a channel id is a valid value"))
            .asynchronous(true);
        let action_id = self.next_id();
        let progress = self
            .inner
            .events
            .route(Tracker::new(&action_id, &channel_id), setting_up);
        let state = self.state();
        let timeout = self.inner.config.action_timeout;
        let ring_timeout = originate
            .get_timeout()
            .unwrap_or(ASTERISK_ORIGINATE_TIMEOUT);
        self.send_as(action_id.clone(), originate.into(), timeout)
            .await?;
        Ok(Call::new(progress, state, ring_timeout + timeout))
    }

    /// [`Client::send`] with a chosen ActionID and timeout.
    async fn send_as(
        &self,
        id: String,
        action: Action,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let name = action.name().to_owned();
        let (tx, rx) = oneshot::channel();
        let response = self
            .request(id, action, Reply::One(tx), rx, timeout)
            .await?;
        self.check(&name, response)
    }

    /// Sends a list action (e.g. `CoreShowChannels`) and collects the events of its list
    /// until the one marked `EventList: Complete`.
    pub async fn send_list(&self, action: Action) -> Result<EventList, Error> {
        let name = action.name().to_owned();
        let (tx, rx) = oneshot::channel();
        let timeout = self.inner.config.action_timeout;
        let list = self
            .request(self.next_id(), action, Reply::List(tx), rx, timeout)
            .await?;
        let response = self.check(&name, list.response)?;
        Ok(EventList { response, ..list })
    }

    /// Runs an Asterisk CLI command (needs the `command` write class) and returns its
    /// output lines, from either the newer `Output:` or the older `Response: Follows` form.
    pub async fn command(&self, command: &str) -> Result<Vec<String>, Error> {
        let command = Value::new(command)?;
        let response = self
            .send(Action::named("Command").with("Command", command))
            .await?;
        Ok(response.get_all("Output").map(str::to_owned).collect())
    }

    /// Sends a Ping and waits for its answer.
    pub async fn ping(&self) -> Result<(), Error> {
        self.send(Action::named("Ping")).await.map(drop)
    }

    /// Logs off and closes the connection; the client does not reconnect afterwards.
    pub async fn logoff(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let timeout = self.inner.config.action_timeout;
        let id = self.next_id();
        match self
            .request(id, Action::named("Logoff"), Reply::Logoff(tx), rx, timeout)
            .await
        {
            Ok(_) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Queues a request and awaits its answer within `timeout`.
    async fn request<T>(
        &self,
        id: String,
        action: Action,
        reply: Reply,
        rx: oneshot::Receiver<Result<T, Error>>,
        timeout: Duration,
    ) -> Result<T, Error> {
        let name = action.name().to_owned();
        let wait = async {
            self.inner
                .requests
                .send(Request { id, action, reply })
                .await
                .map_err(|_| Error::Closed)?;
            rx.await.map_err(|_| Error::Closed)?
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout {
                action: name,
                after: timeout,
            })?
    }

    /// Turns `Response: Error` into an error; its `Output` lines, if any (an unknown CLI
    /// command), are the message.
    fn check(&self, action: &str, response: Message) -> Result<Message, Error> {
        match response.response() {
            Some(r) if r.eq_ignore_ascii_case("Error") => {
                let output: Vec<&str> = response.get_all("Output").collect();
                let message = if output.is_empty() {
                    response
                        .get("Message")
                        .unwrap_or("no reason given")
                        .to_owned()
                } else {
                    output.join("\n")
                };
                Err(Error::from_refusal(
                    self.inner.config.username(),
                    action,
                    &message,
                ))
            }
            Some(_) => Ok(response),
            None => Err(Error::Unexpected {
                action: action.to_owned(),
                detail: format!("an answer without a Response header: {response:?}"),
            }),
        }
    }
}
