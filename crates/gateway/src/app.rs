//! The path of a call request, whatever URL it came by: idempotency, rate limit, number and
//! policy, audit, Originate, and following the call to its end.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use clickdial_dial::{DialError, prepare};
use tokio::sync::oneshot;

use crate::audit::{AuditLog, RequestRecord, now_ms};
use crate::auth::{Agent, Agents};
use crate::calls::{CallEntry, CallView, Calls, Progress, Reason};
use crate::config::{AgentConfig, Config};
use crate::error::ApiError;
use crate::idempotency::{IdempotencyKeys, Reservation};
use crate::metrics::Metrics;
use crate::pbx::{HangupError, NotReady, OriginateError, Pbx};
use crate::ratelimit::CallRateLimit;

/// How long the legacy URL treats a repeated number from the same agent as the same click
/// (CRM links cannot send an `Idempotency-Key`).
const LEGACY_REPEAT_WINDOW: Duration = Duration::from_secs(10);

/// How a request is protected against being dialed twice.
#[derive(Debug, Clone, Copy)]
pub enum Dedup<'a> {
    /// No protection: every request is a new call.
    None,
    /// The client's `Idempotency-Key` (or the legacy URL's `key=`).
    Key(&'a str),
    /// The legacy URL without a key: the same number from the same agent within a few
    /// seconds is the same click.
    LegacyRepeat,
}

/// Everything the handlers share.
pub struct App {
    pub(crate) config: Config,
    agents: RwLock<Arc<Agents>>,
    audit: AuditLog,
    pbx: Arc<Pbx>,
    pub(crate) calls: Calls,
    keys: IdempotencyKeys,
    legacy_repeats: IdempotencyKeys,
    rate: CallRateLimit,
    pub(crate) metrics: Metrics,
}

impl App {
    /// Puts the parts together; `config` must have passed validation. Idempotency keys of
    /// calls the audit log holds from the last window are honoured again, so a restart
    /// cannot make a retry ring twice.
    pub fn new(config: Config, audit: AuditLog, pbx: Arc<Pbx>) -> Arc<App> {
        let window = Duration::from_secs(config.limits.idempotency_window_secs);
        let keys = IdempotencyKeys::new(window);
        let since = now_ms() - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        match audit.keyed_since(since) {
            Ok(records) => {
                for record in records {
                    let r = &record.request;
                    let key = r.idempotency_key.as_deref().unwrap_or_default();
                    keys.restore(&r.agent, key, &r.requested, &r.id);
                }
            }
            Err(e) => tracing::error!("cannot restore idempotency keys: {e}"),
        }
        let per_minute = NonZeroU32::new(config.limits.calls_per_minute).unwrap_or(NonZeroU32::MIN);
        Arc::new(App {
            agents: RwLock::new(Arc::new(Agents::new(&config.agents))),
            keys,
            legacy_repeats: IdempotencyKeys::new(LEGACY_REPEAT_WINDOW),
            rate: CallRateLimit::new(per_minute),
            calls: Calls::default(),
            metrics: Metrics::default(),
            config,
            audit,
            pbx,
        })
    }

    /// `Ok` while logged in to Asterisk, otherwise why not.
    pub fn ready(&self) -> Result<(), NotReady> {
        self.pbx.ready()
    }

    /// The metrics, for tests and the proof suite.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The audit log this gateway writes (one gateway per log: a second open is refused).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The agents as configured now.
    pub fn agents(&self) -> Arc<Agents> {
        self.agents.read().expect("agents lock poisoned").clone()
    }

    /// Replaces the agents (on SIGHUP): removed tokens stop working at once; calls already
    /// started go on.
    pub fn replace_agents(&self, agents: &[AgentConfig]) {
        *self.agents.write().expect("agents lock poisoned") = Arc::new(Agents::new(agents));
    }

    /// The whole path of a call request. Returns the call and whether it is an earlier call
    /// replayed for its idempotency key.
    ///
    /// The work runs in its own task, which then follows the call to its end: a client that
    /// hangs up or times out mid-request cannot cancel a call halfway (audited but never
    /// followed, or sent but not tracked). A request that could not reach Asterisk before
    /// `deadline` is not dialed at all, so the client's timeout answer is the truth.
    pub async fn start_call(
        self: &Arc<App>,
        agent: &Arc<Agent>,
        peer: IpAddr,
        requested: &str,
        dedup: Dedup<'_>,
        deadline: Instant,
    ) -> Result<(CallView, bool), ApiError> {
        let app = self.clone();
        let agent = agent.clone();
        let requested = requested.to_owned();
        let key = match dedup {
            Dedup::Key(key) => Some((key.to_owned(), false)),
            Dedup::LegacyRepeat => Some((requested.clone(), true)),
            Dedup::None => None,
        };
        let (answer, answered) = oneshot::channel();
        tokio::spawn(async move {
            let request = Request {
                agent: &agent,
                peer,
                requested: &requested,
                deadline,
            };
            let (result, following) = match &key {
                None => match app.start_new_call(&request, None, &new_call_id()).await {
                    Ok((view, following)) => (Ok((view, false)), Some(following)),
                    Err(refused) => (Err(refused.error), None),
                },
                Some((key, legacy)) => {
                    let store = if *legacy {
                        &app.legacy_repeats
                    } else {
                        &app.keys
                    };
                    let audited_key = (!legacy).then_some(key.as_str());
                    match app
                        .start_deduplicated(&request, store, key, audited_key)
                        .await
                    {
                        Ok((view, replayed, following)) => (Ok((view, replayed)), following),
                        Err(error) => (Err(error), None),
                    }
                }
            };
            // The answer goes out first, then this same task follows the call: a new task
            // here would be scheduled ahead of the waiting handler and delay the answer.
            let _ = answer.send(result);
            if let Some(Following { entry, call }) = following {
                app.follow(entry, call).await;
            }
        });
        answered.await.unwrap_or_else(|_| {
            tracing::error!("a call request task failed before answering");
            Err(ApiError::internal(
                "the call request failed inside the gateway",
            ))
        })
    }

    async fn start_deduplicated(
        self: &Arc<App>,
        request: &Request<'_>,
        store: &IdempotencyKeys,
        key: &str,
        audited_key: Option<&str>,
    ) -> Result<(CallView, bool, Option<Following>), ApiError> {
        let id = new_call_id();
        let agent = request.agent;
        let settle = match store.reserve(&agent.name, key, request.requested, &id) {
            Reservation::New(settle) => settle,
            Reservation::Existing(existing, pending) => {
                self.metrics.call_request("replayed");
                pending.result().await?;
                return self
                    .view_for(agent, &existing)
                    .await
                    .map(|view| (view, true, None));
            }
            Reservation::Conflict { call_id, requested } => {
                self.metrics.call_request("idempotency_conflict");
                return Err(ApiError::other(
                    StatusCode::CONFLICT,
                    "idempotency_conflict",
                    format!(
                        "this Idempotency-Key already started call {call_id} to {requested:?}; \
                         use a new key for a new number"
                    ),
                ));
            }
        };
        let result = self.start_new_call(request, audited_key, &id).await;
        match &result {
            Ok(_) => settle.settle(Ok(())),
            // The Originate went out and its fate is unknown: repeats get this call (ended,
            // with the reason) instead of a retry that could ring twice.
            Err(refused) if refused.sent => settle.settle(Ok(())),
            Err(refused) => {
                settle.settle(Err(refused.error.clone()));
                // Nothing reached Asterisk, so a later retry with this key may dial.
                store.release(&agent.name, key, &id);
            }
        }
        result
            .map(|(view, following)| (view, false, Some(following)))
            .map_err(|r| r.error)
    }

    async fn start_new_call(
        self: &Arc<App>,
        request: &Request<'_>,
        key: Option<&str>,
        id: &str,
    ) -> Result<(CallView, Following), Refused> {
        let agent = request.agent;
        if let Err(wait) = self.rate.check(&agent.name) {
            self.metrics.call_request("rate_limited");
            let secs = wait.as_secs().max(1);
            return Err(Refused::unsent(ApiError::rate_limited(
                format!(
                    "{} may start {} calls per minute; try again in {secs} s",
                    agent.name, self.config.limits.calls_per_minute
                ),
                secs,
            )));
        }
        let mut record = RequestRecord {
            id: id.to_owned(),
            received_ms: now_ms(),
            agent: agent.name.clone(),
            extension: agent.extension.clone(),
            client_addr: crate::http::canonical(request.peer).to_string(),
            requested: request.requested.to_owned(),
            dialed: None,
            idempotency_key: key.map(str::to_owned),
            refusal: None,
        };
        let dial = match prepare(request.requested, &self.config.dial, &self.config.policy) {
            Ok(dial) => dial,
            Err(e) => {
                let error = match &e {
                    DialError::Refused(_) => ApiError::forbidden(e.to_string()),
                    _ => ApiError::not_dialable(e.to_string()),
                };
                return Err(self.refuse(record, error).await);
            }
        };
        if let Err(why) = self.pbx.ready() {
            let error = ApiError::pbx_unavailable(format!("Asterisk is not available: {why}"));
            return Err(self.refuse(record, error).await);
        }
        record.dialed = Some(dial.destination.as_str().to_owned());
        let view = CallView {
            id: id.to_owned(),
            from: agent.extension.clone(),
            to: dial.destination.as_str().to_owned(),
            requested: record.requested.clone(),
            created_ms: record.received_ms,
            progress: Progress::queued(),
        };
        // The request is on disk before Asterisk hears of it and before the client does.
        self.audit.record_request(record).await.map_err(|e| {
            self.metrics.call_request("audit_failed");
            tracing::error!("{e}");
            Refused::unsent(ApiError::internal(
                "the call was not started: the audit log cannot be written (see the gateway's log)",
            ))
        })?;
        let entry = self.calls.insert(&agent.name, view.clone());
        if Instant::now() >= request.deadline {
            let error = ApiError::other(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the gateway could not start the call in time; it was not dialed",
            );
            self.metrics.call_request(error.code);
            self.finish(
                &entry,
                Progress::ended(Reason::Failed, None, Some(error.message.clone())),
            )
            .await;
            return Err(Refused::unsent(error));
        }
        match self
            .pbx
            .originate(
                &agent.extension,
                &dial.destination,
                id,
                request.deadline.saturating_duration_since(Instant::now()),
            )
            .await
        {
            Ok(call) => {
                self.metrics.call_request("accepted");
                self.metrics.active_calls.inc();
                Ok((view, Following { entry, call }))
            }
            Err(e) => {
                let (error, sent) = match &e {
                    OriginateError::NotSent(_) => (ApiError::pbx_unavailable(e.to_string()), false),
                    OriginateError::Ami(clickdial_ami::Error::Backlogged { window, .. }) => (
                        ApiError::other(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "timeout",
                            format!(
                                "the gateway could not start the call in time: Asterisk was still \
                                 setting up as many calls as [ami] originate_window allows \
                                 ({window}); it was not dialed"
                            ),
                        ),
                        false,
                    ),
                    OriginateError::BadConfig(_) => (ApiError::internal(e.to_string()), false),
                    OriginateError::Ami(
                        clickdial_ami::Error::Disconnected { .. }
                        | clickdial_ami::Error::Timeout { .. },
                    ) => (ApiError::pbx_unavailable(e.to_string()), true),
                    OriginateError::Ami(_) => (
                        ApiError::other(StatusCode::BAD_GATEWAY, "pbx_refused", e.to_string()),
                        true,
                    ),
                };
                self.metrics.call_request(error.code);
                self.finish(
                    &entry,
                    Progress::ended(Reason::Failed, None, Some(e.to_string())),
                )
                .await;
                Err(Refused { error, sent })
            }
        }
    }

    /// Records a refused request in the audit log and returns its error.
    async fn refuse(&self, mut record: RequestRecord, error: ApiError) -> Refused {
        self.metrics.call_request(error.code);
        record.refusal = Some(error.message.clone());
        if let Err(e) = self.audit.record_request(record).await {
            tracing::error!("{e}");
        }
        Refused::unsent(error)
    }

    /// Follows a call's progress to its end, publishing each step.
    async fn follow(self: Arc<App>, entry: Arc<CallEntry>, mut call: clickdial_ami::Call) {
        while let Some(step) = call.next().await {
            if step == clickdial_ami::CallProgress::Queued {
                // Every call entry starts queued.
                continue;
            }
            let progress = Progress::from(&step);
            if progress.is_end() {
                self.finish(&entry, progress).await;
                self.metrics.active_calls.dec();
                return;
            }
            entry.publish(progress);
        }
    }

    /// Publishes a call's last step and records its outcome.
    async fn finish(&self, entry: &CallEntry, last: Progress) {
        let reason = last.reason.unwrap_or(Reason::Failed).as_str();
        self.metrics.call_ended(reason);
        if let Err(e) = self
            .audit
            .record_outcome(&entry.view.id, reason, last.detail.as_deref())
            .await
        {
            tracing::error!("{e}");
        }
        entry.publish(last);
        self.calls.ended(&entry.view.id);
    }

    /// Hangs up the agent's live call `id` and returns it as it stands; its end follows in its
    /// progress. 404 for others' calls, 409 for a call that is already over.
    pub async fn hang_up(&self, agent: &Agent, id: &str) -> Result<CallView, ApiError> {
        let over = || {
            ApiError::other(
                StatusCode::CONFLICT,
                "call_ended",
                format!("call {id} is already over"),
            )
        };
        let entry = match self.calls.get(id) {
            Some(entry) if entry.agent == agent.name => entry,
            // Only in the audit log (so ended), or not this agent's: view_for says which.
            _ => {
                return Err(self
                    .view_for(agent, id)
                    .await
                    .map_or_else(|e| e, |_| over()));
            }
        };
        if entry.current().progress.is_end() {
            return Err(over());
        }
        tracing::info!(call = id, agent = %agent.name, "hang-up requested");
        match self.pbx.hangup(id).await {
            Ok(()) => Ok(entry.current()),
            Err(HangupError::Gone) => Err(over()),
            Err(e @ HangupError::NotSent(_)) => Err(ApiError::pbx_unavailable(e.to_string())),
            Err(e @ HangupError::NotAllowed(_)) => {
                tracing::warn!("{e}");
                Err(ApiError::other(
                    StatusCode::BAD_GATEWAY,
                    "pbx_not_allowed",
                    e.to_string(),
                ))
            }
            Err(e @ HangupError::Ami(_)) => Err(ApiError::other(
                StatusCode::BAD_GATEWAY,
                "pbx_refused",
                e.to_string(),
            )),
        }
    }

    /// The agent's call with this id, from memory or the audit log; 404 for others' calls
    /// and for ids this gateway cannot have made.
    pub async fn view_for(&self, agent: &Agent, id: &str) -> Result<CallView, ApiError> {
        let missing = || ApiError::not_found(format!("no call {id:?} of yours"));
        if !is_call_id(id) {
            return Err(missing());
        }
        if let Some(entry) = self.calls.get(id) {
            return if entry.agent == agent.name {
                Ok(entry.current())
            } else {
                Err(missing())
            };
        }
        match self.audit.find(id).await {
            Ok(Some(record)) if record.request.agent == agent.name => {
                Ok(CallView::from_record(&record))
            }
            Ok(_) => Err(missing()),
            Err(e) => {
                tracing::error!("{e}");
                Err(ApiError::internal("the audit log cannot be read"))
            }
        }
    }
}

/// One call request on its way.
struct Request<'a> {
    agent: &'a Agent,
    peer: IpAddr,
    requested: &'a str,
    deadline: Instant,
}

/// A refused request: its error and whether the Originate was sent (then its idempotency
/// key is kept, so a retry cannot ring twice).
struct Refused {
    error: ApiError,
    sent: bool,
}

/// A call Asterisk accepted, to be followed to its end.
struct Following {
    entry: Arc<CallEntry>,
    call: clickdial_ami::Call,
}

impl Refused {
    fn unsent(error: ApiError) -> Refused {
        Refused { error, sent: false }
    }
}

/// A new call id: 32 lowercase hex digits, the creation time in milliseconds (48 bits) then
/// 80 random bits. Ids made later sort later, so the audit log's index on them grows at its
/// end instead of touching a random page for every call; 80 random bits keep them unguessable.
fn new_call_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes[6..]).expect("the system random number generator works");
    let ms = u64::try_from(now_ms()).unwrap_or_default();
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    hex::encode(bytes)
}

/// Whether `id` has the form of a call id.
fn is_call_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_hex_time_then_random() {
        let (a, b) = (new_call_id(), new_call_id());
        assert!(is_call_id(&a) && is_call_id(&b));
        assert_ne!(a, b);
        // Time first: a later id sorts after an earlier one, and the time is now's.
        std::thread::sleep(Duration::from_millis(2));
        let c = new_call_id();
        assert!(a < c && b < c, "{a} {b} {c}");
        let ms = i64::from_str_radix(&c[..12], 16).unwrap();
        assert!((now_ms() - ms).abs() < 1000, "{c}");
        assert_ne!(a[12..], b[12..]);
        assert!(!is_call_id("../../etc/passwd"));
        assert!(!is_call_id(&a.to_uppercase()));
    }
}
