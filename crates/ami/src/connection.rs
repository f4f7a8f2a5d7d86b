//! One AMI connection: connect (TCP, optionally TLS), read the banner, log in, then carry
//! actions out and responses and events in until the connection ends.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout};
use tokio_util::codec::{Decoder, Encoder};

use crate::action::Action;
use crate::banner::Banner;
use crate::codec::{AmiCodec, CodecError, Frame};
use crate::config::{Auth, Config};
use crate::error::{ConnectError, Error};
use crate::events::{Event, EventSink};
use crate::ids::ActionIds;
use crate::message::Message;
use crate::value::Value;

/// The only challenge type Asterisk offers.
const MD5: Value = Value::from_static("MD5");

/// How many bytes of queued actions one write carries at most.
const MAX_WRITE: usize = 64 * 1024;

/// A byte stream AMI can run over: plain TCP or TLS.
trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// A response and, for list actions, the events of the list.
#[derive(Debug, Clone)]
pub struct EventList {
    /// The response that opened the list (`EventList: start`) or refused the action.
    pub response: Message,
    /// The list's events, without the closing `...Complete` event.
    pub events: Vec<Message>,
    /// The closing event (`EventList: Complete`), with counts such as `ListItems`.
    pub complete: Option<Message>,
}

/// How a request wants its answer.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The response alone.
    One(oneshot::Sender<Result<Message, Error>>),
    /// The response and the event list that follows it.
    List(oneshot::Sender<Result<EventList, Error>>),
    /// A Logoff: the connection ends after its answer.
    Logoff(oneshot::Sender<Result<Message, Error>>),
}

impl Reply {
    /// Whether the requester gave up waiting.
    fn is_closed(&self) -> bool {
        match self {
            Reply::One(tx) | Reply::Logoff(tx) => tx.is_closed(),
            Reply::List(tx) => tx.is_closed(),
        }
    }

    /// Answers with an error.
    pub(crate) fn fail(self, error: Error) {
        match self {
            Reply::One(tx) | Reply::Logoff(tx) => {
                let _ = tx.send(Err(error));
            }
            Reply::List(tx) => {
                let _ = tx.send(Err(error));
            }
        }
    }
}

/// An action for the connection to send, with its ActionID and where to answer.
#[derive(Debug)]
pub(crate) struct Request {
    /// The ActionID to send it with.
    pub(crate) id: String,
    /// The action.
    pub(crate) action: Action,
    /// Where the answer goes.
    pub(crate) reply: Reply,
}

/// A sent action awaiting its answer.
struct Pending {
    action: String,
    reply: Reply,
    list: Option<EventList>,
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Logged off or every client handle dropped: do not reconnect.
    Closed,
    /// Lost, with the reason: reconnect.
    Lost(String),
}

/// The byte stream with its codec and buffers.
struct Wire {
    stream: Box<dyn Transport>,
    codec: AmiCodec,
    input: BytesMut,
    output: BytesMut,
}

impl Wire {
    /// Reads the next frame; `Ok(None)` when the peer closed cleanly between messages.
    /// Cancel-safe: a partly read frame stays in the buffer.
    async fn read_frame(&mut self) -> Result<Option<Frame>, CodecError> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.input)? {
                return Ok(Some(frame));
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                return self.codec.decode_eof(&mut self.input);
            }
        }
    }

    /// Writes one action.
    async fn write(&mut self, id: &str, action: &Action) -> Result<(), CodecError> {
        self.queue(id, action)?;
        self.send_queued().await
    }

    /// Adds an action to the output buffer, to be sent by [`Wire::send_queued`].
    fn queue(&mut self, id: &str, action: &Action) -> Result<(), CodecError> {
        self.codec.encode((id, action), &mut self.output)
    }

    /// Sends the queued actions in one write.
    async fn send_queued(&mut self) -> Result<(), CodecError> {
        self.stream.write_all(&self.output).await?;
        self.output.clear();
        Ok(self.stream.flush().await?)
    }
}

/// A logged-in AMI connection.
pub(crate) struct Session {
    wire: Wire,
    banner: Banner,
}

impl Session {
    /// The server's banner.
    pub(crate) fn banner(&self) -> &Banner {
        &self.banner
    }

    /// Connects, reads the banner and logs in, each step bounded by the connect timeout.
    pub(crate) async fn establish(
        config: &Config,
        ids: &ActionIds,
    ) -> Result<Session, ConnectError> {
        let addr = config.addr.clone();
        let limit = config.connect_timeout;
        let step = |stage: &'static str| ConnectError::Timeout {
            addr: addr.clone(),
            stage,
            after: limit,
        };
        let tcp = bounded(limit, TcpStream::connect(&config.addr))
            .await
            .ok_or_else(|| step("accepting the connection"))?
            .map_err(|source| ConnectError::Unreachable {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Transport> = match &config.tls {
            None => Box::new(tcp),
            Some(tls) => Box::new(
                bounded(limit, tls.handshake(tcp))
                    .await
                    .ok_or_else(|| step("the TLS handshake"))?
                    .map_err(|source| ConnectError::Tls {
                        addr: addr.clone(),
                        source,
                    })?,
            ),
        };
        let mut wire = Wire {
            stream,
            codec: AmiCodec::new(config.limits),
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::with_capacity(1024),
        };
        let protocol = |source: CodecError| match source {
            CodecError::NotAmi(_) => ConnectError::NotAmi {
                addr: addr.clone(),
                source,
            },
            source => ConnectError::Protocol {
                addr: addr.clone(),
                source,
            },
        };
        let banner = match bounded(limit, wire.read_frame())
            .await
            .ok_or_else(|| step("sending its banner"))?
            .map_err(protocol)?
        {
            Some(Frame::Banner(banner)) => banner,
            _ => {
                return Err(ConnectError::Closed {
                    addr: addr.clone(),
                    stage: "waiting for its banner",
                });
            }
        };
        let mut session = Session { wire, banner };
        bounded(limit, session.login(config, ids))
            .await
            .ok_or_else(|| step("the login"))?
            .map_err(|e| match e {
                LoginFailure::Refused(message) => ConnectError::LoginRefused {
                    user: config.username.as_str().to_owned(),
                    message,
                },
                LoginFailure::Closed => ConnectError::Closed {
                    addr: addr.clone(),
                    stage: "logging in",
                },
                LoginFailure::Codec(e) => protocol(e),
            })?;
        Ok(session)
    }

    /// Logs in with the configured method.
    async fn login(&mut self, config: &Config, ids: &ActionIds) -> Result<(), LoginFailure> {
        let user = config.username.clone();
        let login = match config.auth {
            Auth::Plaintext => Action::named("Login")
                .with("Username", user)
                .with("Secret", config.secret.clone()),
            Auth::Md5 => {
                let challenge = self
                    .call(ids, Action::named("Challenge").with("AuthType", MD5))
                    .await?;
                let Some(challenge) = challenge.get("Challenge") else {
                    return Err(LoginFailure::Refused(
                        challenge
                            .get("Message")
                            .unwrap_or("no MD5 challenge")
                            .to_owned(),
                    ));
                };
                let mut md5 = Md5::new();
                md5.update(challenge.as_bytes());
                md5.update(config.secret.as_str().as_bytes());
                let key: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
                Action::named("Login")
                    .with("AuthType", MD5)
                    .with("Username", user)
                    .with(
                        "Key",
                        Value::new(key).expect("hex digits are a valid value"),
                    )
            }
        };
        let answer = self
            .call(ids, login.with("Events", Value::from_static("on")))
            .await?;
        if answer
            .response()
            .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
        {
            Ok(())
        } else {
            Err(LoginFailure::Refused(
                answer
                    .get("Message")
                    .unwrap_or("no reason given")
                    .to_owned(),
            ))
        }
    }

    /// Sends `action` and waits for its response, skipping anything else (login time only).
    async fn call(&mut self, ids: &ActionIds, action: Action) -> Result<Message, LoginFailure> {
        let id = ids.next();
        self.wire
            .write(&id, &action)
            .await
            .map_err(LoginFailure::Codec)?;
        loop {
            match self.wire.read_frame().await.map_err(LoginFailure::Codec)? {
                Some(Frame::Message(m)) if m.response().is_some() && m.action_id() == Some(&id) => {
                    return Ok(m);
                }
                Some(_) => {}
                None => return Err(LoginFailure::Closed),
            }
        }
    }

    /// Carries requests out and answers and events in until the connection ends; every
    /// request still unanswered then fails, and none is kept to be sent again.
    pub(crate) async fn run(
        &mut self,
        requests: &mut mpsc::Receiver<Request>,
        events: &EventSink,
        config: &Config,
        ids: &ActionIds,
    ) -> End {
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let end = self
            .serve(&mut pending, requests, events, config, ids)
            .await;
        let reason = match &end {
            End::Closed => "the client logged off".to_owned(),
            End::Lost(reason) => reason.clone(),
        };
        for (_, p) in pending.drain() {
            p.reply.fail(Error::Disconnected {
                action: p.action,
                reason: reason.clone(),
            });
        }
        end
    }

    /// The loop of [`Session::run`].
    async fn serve(
        &mut self,
        pending: &mut HashMap<String, Pending>,
        requests: &mut mpsc::Receiver<Request>,
        events: &EventSink,
        config: &Config,
        ids: &ActionIds,
    ) -> End {
        let mut keepalive = interval_at(Instant::now() + config.keepalive, config.keepalive);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ping: Option<String> = None;
        let mut heard = false;
        let mut logging_off = false;
        loop {
            tokio::select! {
                frame = self.wire.read_frame() => match frame {
                    Ok(Some(Frame::Message(message))) => {
                        heard = true;
                        if ping.as_deref().is_some_and(|id| message.action_id() == Some(id)) {
                            ping = None;
                        } else if self.dispatch(message, pending, events, config) {
                            return End::Closed;
                        }
                    }
                    Ok(Some(Frame::Banner(_))) => {}
                    Ok(None) if logging_off => return End::Closed,
                    Ok(None) => return End::Lost("Asterisk closed the connection".into()),
                    Err(e) => return End::Lost(e.to_string()),
                },
                request = requests.recv(), if !logging_off => {
                    let Some(request) = request else {
                        let _ = self.wire.write(&ids.next(), &Action::named("Logoff")).await;
                        return End::Closed;
                    };
                    // The requests that queued up meanwhile go out in the same write: under
                    // load one system call (and one wake-up of Asterisk) carries several.
                    let mut next = Some(request);
                    let mut queued = Ok(());
                    while let Some(request) = next.take() {
                        if !request.reply.is_closed() {
                            logging_off = matches!(request.reply, Reply::Logoff(_));
                            queued = self.wire.queue(&request.id, &request.action);
                            pending.insert(request.id, Pending {
                                action: request.action.name().to_owned(),
                                reply: request.reply,
                                list: None,
                            });
                        }
                        if queued.is_ok() && !logging_off && self.wire.output.len() < MAX_WRITE {
                            next = requests.try_recv().ok();
                        }
                    }
                    if let Err(e) = queued {
                        return End::Lost(format!("encoding an action failed: {e}"));
                    }
                    if self.wire.output.is_empty() {
                        continue;
                    }
                    if let Err(e) = self.wire.send_queued().await {
                        return End::Lost(format!("writing to AMI failed: {e}"));
                    }
                },
                _ = keepalive.tick() => {
                    pending.retain(|_, p| !p.reply.is_closed());
                    if ping.is_some() {
                        // Asterisk answers one session's actions in turn, so a Ping may wait
                        // behind a slow action; only a whole silent interval means dead.
                        if !std::mem::take(&mut heard) {
                            return End::Lost(format!(
                                "no answer to the keepalive Ping and nothing else received \
                                 within {:?}",
                                config.keepalive
                            ));
                        }
                        continue;
                    }
                    heard = false;
                    let id = ids.next();
                    if let Err(e) = self.wire.write(&id, &Action::named("Ping")).await {
                        return End::Lost(format!("writing to AMI failed: {e}"));
                    }
                    ping = Some(id);
                },
            }
        }
    }

    /// Routes one message to its request or to the event subscribers; true when the
    /// answer to a Logoff arrived.
    fn dispatch(
        &mut self,
        message: Message,
        pending: &mut HashMap<String, Pending>,
        events: &EventSink,
        config: &Config,
    ) -> bool {
        let id = message
            .action_id()
            .filter(|id| pending.contains_key(*id))
            .map(str::to_owned);
        let Some(id) = id else {
            if message.event().is_some() {
                events.publish(Event::new(message));
            }
            return false;
        };
        let p = pending.get_mut(&id).expect("the entry was just found");
        if message.response().is_some() {
            let starts_list = message
                .get("EventList")
                .is_some_and(|v| v.eq_ignore_ascii_case("start"));
            if matches!(p.reply, Reply::List(_)) && starts_list {
                p.list = Some(EventList {
                    response: message,
                    events: Vec::new(),
                    complete: None,
                });
                return false;
            }
            let p = pending.remove(&id).expect("the entry was just found");
            return match p.reply {
                Reply::One(tx) => {
                    let _ = tx.send(Ok(message));
                    false
                }
                Reply::Logoff(tx) => {
                    let _ = tx.send(Ok(message));
                    true
                }
                Reply::List(tx) => {
                    let _ = tx.send(Ok(EventList {
                        response: message,
                        events: Vec::new(),
                        complete: None,
                    }));
                    false
                }
            };
        }
        let Some(list) = &mut p.list else {
            // An event carrying the ActionID of a request still waiting for its response
            // (e.g. an OriginateResponse racing a slow Success): everyone may see it.
            if message.event().is_some() {
                events.publish(Event::new(message));
            }
            return false;
        };
        if message
            .get("EventList")
            .is_some_and(|v| v.eq_ignore_ascii_case("Complete"))
        {
            let p = pending.remove(&id).expect("the entry was just found");
            let mut list = p.list.expect("the list was just found");
            list.complete = Some(message);
            if let Reply::List(tx) = p.reply {
                let _ = tx.send(Ok(list));
            }
        } else if list.events.len() >= config.max_list_events {
            let p = pending.remove(&id).expect("the entry was just found");
            p.reply.fail(Error::ListTooLong {
                action: p.action,
                limit: config.max_list_events,
            });
        } else {
            list.events.push(message);
        }
        false
    }
}

/// Why a login failed, before the address and user are added.
enum LoginFailure {
    /// Asterisk answered with an error.
    Refused(String),
    /// The connection closed.
    Closed,
    /// The stream broke.
    Codec(CodecError),
}

/// Runs `fut` for at most `limit`; `None` when it took longer.
async fn bounded<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    timeout(limit, fut).await.ok()
}
