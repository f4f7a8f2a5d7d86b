//! The gateway path: `POST /v1/calls`, then the call's progress over server-sent events.

use std::sync::Arc;
use std::time::Duration;

use clickdial_ami::{CallEnd, CallProgress, EndReason, Leg};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::call::{ActiveCall, Hangup};
use crate::error::{DialError, ProbeError};
use crate::link::LinkState;
use crate::target::GatewayTarget;

/// How often the link checks the gateway's `/readyz` for the tray icon.
const READY_EVERY: Duration = Duration::from_secs(15);

/// How often a lost progress stream is reopened before the call is reported lost.
const STREAM_RETRIES: u32 = 5;

/// A gateway call as `POST /v1/calls` and `GET /v1/calls/{id}` describe it.
#[derive(Debug, Deserialize)]
struct CallView {
    id: String,
    to: String,
}

/// One progress step from the gateway's event stream.
#[derive(Debug, Deserialize)]
struct Step {
    state: String,
    reason: Option<String>,
    party: Option<String>,
    detail: Option<String>,
}

/// The gateway's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Step {
    /// The typed progress this step stands for.
    fn progress(self) -> CallProgress {
        match self.state.as_str() {
            "queued" => CallProgress::Queued,
            "agent-ringing" => CallProgress::AgentRinging,
            "agent-answered" => CallProgress::AgentAnswered,
            "destination-ringing" => CallProgress::DestinationRinging,
            "connected" => CallProgress::Connected,
            _ => {
                let leg = match self.party.as_deref() {
                    Some("destination") => Leg::Destination,
                    _ => Leg::Agent,
                };
                let detail = self.detail.unwrap_or_default();
                let reason = match self.reason.as_deref() {
                    Some("answered") => EndReason::Answered,
                    Some("busy") => EndReason::Busy,
                    Some("no-answer") => EndReason::NoAnswer,
                    Some("congestion") => EndReason::Congestion,
                    Some("lost") => EndReason::Lost(detail),
                    _ => EndReason::Failed {
                        text: detail,
                        cause: None,
                    },
                };
                CallProgress::Ended(CallEnd { leg, reason })
            }
        }
    }
}

/// An HTTP client for one gateway and token.
pub(crate) struct GatewayLink {
    target: GatewayTarget,
    http: reqwest::Client,
    state: watch::Sender<LinkState>,
}

/// A reqwest client with the timeouts the desktop app needs.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("the HTTP client builds with rustls")
}

/// Translates a failed request into what the agent can act on.
pub(crate) fn request_error(target: &GatewayTarget, error: &reqwest::Error) -> ProbeError {
    let addr = target.url.clone();
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail = inner.to_string();
        if let Some(io) = inner.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return ProbeError::Refused { addr };
        }
        source = inner.source();
    }
    if error.is_timeout() {
        ProbeError::Timeout {
            addr,
            stage: "waiting for the gateway".to_owned(),
        }
    } else if error.is_builder() {
        ProbeError::Invalid(format!("gateway URL '{}': {detail}", target.url))
    } else if detail.contains("certificate") || detail.contains("TLS") || detail.contains("tls") {
        ProbeError::Tls { addr, detail }
    } else {
        ProbeError::Unreachable { addr, detail }
    }
}

/// The gateway's `{ "error": { code, message } }`, or the body as text.
pub(crate) async fn error_message(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => (status, body.error.code, body.error.message),
        Err(_) => (status, String::new(), text.chars().take(200).collect()),
    }
}

/// Checks the gateway is there and ready, and that the token is accepted.
pub(crate) async fn probe(target: &GatewayTarget) -> Result<(), ProbeError> {
    let http = http_client();
    let timeout = Duration::from_secs(8);
    let ready = http
        .get(target.endpoint("/readyz"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| request_error(target, &e))?;
    let is_json = ready
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return Err(ProbeError::WrongService {
            addr: target.url.clone(),
            expected: "a clickdial gateway",
            detail: format!("/readyz answered {} without JSON", ready.status()),
        });
    }
    if !ready.status().is_success() {
        let (status, _, message) = error_message(ready).await;
        return Err(ProbeError::Gateway { status, message });
    }
    // An id that never exists: a valid token gets 404, a bad one 401, a refused address 403.
    let check = http
        .get(target.endpoint("/v1/calls/clickdial-connection-test"))
        .bearer_auth(&target.token)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| request_error(target, &e))?;
    match check.status() {
        StatusCode::NOT_FOUND => Ok(()),
        StatusCode::UNAUTHORIZED => Err(ProbeError::BadCredentials {
            user: "token".to_owned(),
            detail: error_message(check).await.2,
        }),
        StatusCode::FORBIDDEN => Err(ProbeError::NotAllowed {
            user: "token".to_owned(),
            hint: error_message(check).await.2,
        }),
        _ => {
            let (status, _, message) = error_message(check).await;
            Err(ProbeError::Gateway { status, message })
        }
    }
}

impl GatewayLink {
    /// A link that checks the gateway's readiness in the background.
    pub(crate) fn open(target: GatewayTarget) -> Arc<GatewayLink> {
        let (state, _) = watch::channel(LinkState::Connecting);
        let link = Arc::new(GatewayLink {
            target,
            http: http_client(),
            state,
        });
        let watching = Arc::downgrade(&link);
        tokio::spawn(async move {
            loop {
                let Some(link) = watching.upgrade() else {
                    return;
                };
                let state = match probe(&link.target).await {
                    Ok(()) => LinkState::Up,
                    Err(e) => LinkState::Down {
                        reason: e.to_string(),
                    },
                };
                link.state.send_if_modified(|current| {
                    let changed = *current != state;
                    *current = state;
                    changed
                });
                drop(link);
                tokio::time::sleep(READY_EVERY).await;
            }
        });
        link
    }

    /// The gateway's state for the tray icon.
    pub(crate) fn state(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }

    /// Asks the gateway to call `text`; retries a broken request with the same
    /// Idempotency-Key, so the agent's phone rings at most once.
    pub(crate) async fn dial(&self, text: &str) -> Result<ActiveCall, DialError> {
        let key = random_key();
        let body = serde_json::json!({ "to": text });
        let mut attempt = 0;
        let response = loop {
            let sent = self
                .http
                .post(self.target.endpoint("/v1/calls"))
                .bearer_auth(&self.target.token)
                .header("Idempotency-Key", &key)
                .timeout(Duration::from_secs(15))
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(response) => break response,
                Err(e) if attempt < 2 && !e.is_builder() => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "retrying the call request");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) if e.is_connect() => {
                    return Err(DialError::NotConnected {
                        reason: request_error(&self.target, &e).to_string(),
                    });
                }
                Err(e) => {
                    return Err(DialError::Uncertain {
                        reason: request_error(&self.target, &e).to_string(),
                    });
                }
            }
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let (_, code, message) = error_message(response).await;
            return Err(match (status, code.as_str()) {
                (StatusCode::TOO_MANY_REQUESTS, _) => DialError::RateLimited {
                    retry_after_secs: retry_after.unwrap_or(60),
                },
                (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => {
                    DialError::NotAllowed { hint: message }
                }
                (_, "pbx_unavailable") => DialError::NotConnected { reason: message },
                _ => DialError::Refused { message },
            });
        }
        let view: CallView = response.json().await.map_err(|e| DialError::Uncertain {
            reason: format!("the gateway's answer was unreadable: {e}"),
        })?;
        let (tx, rx) = mpsc::unbounded_channel();
        let events = self
            .target
            .endpoint(&format!("/v1/calls/{}/events", view.id));
        tokio::spawn(follow(
            self.http.clone(),
            events,
            self.target.token.clone(),
            tx,
        ));
        let hangup = Hangup::gateway(
            self.http.clone(),
            self.target.endpoint(&format!("/v1/calls/{}", view.id)),
            self.target.token.clone(),
        );
        Ok(ActiveCall::new(view.id, view.to, rx, hangup))
    }
}

/// Reads the call's event stream into `tx`, reopening it when it breaks (skipping the
/// steps already delivered) until the call ends.
async fn follow(
    http: reqwest::Client,
    url: String,
    token: String,
    tx: mpsc::UnboundedSender<CallProgress>,
) {
    let mut delivered = 0usize;
    let mut failures = 0;
    let mut last_error = String::new();
    while failures <= STREAM_RETRIES {
        let opened = http.get(&url).bearer_auth(&token).send().await;
        let response = match opened {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                last_error = format!("the gateway answered {}", response.status());
                failures += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => {
                last_error = e.to_string();
                failures += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut stream = response.bytes_stream().eventsource();
        let mut seen = 0usize;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    last_error = e.to_string();
                    break;
                }
            };
            if event.event != "progress" {
                continue;
            }
            seen += 1;
            if seen <= delivered {
                continue;
            }
            let step = match serde_json::from_str::<Step>(&event.data) {
                Ok(step) => step.progress(),
                Err(e) => {
                    last_error = format!("unreadable progress from the gateway: {e}");
                    continue;
                }
            };
            delivered += 1;
            let end = matches!(step, CallProgress::Ended(_));
            if tx.send(step).is_err() || end {
                return;
            }
        }
        failures += 1;
    }
    let _ = tx.send(CallProgress::Ended(CallEnd {
        leg: Leg::Agent,
        reason: EndReason::Lost(format!(
            "the gateway's progress stream broke ({last_error}); the call may still be going on"
        )),
    }));
}

/// A fresh Idempotency-Key.
fn random_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(json: &str) -> CallProgress {
        serde_json::from_str::<Step>(json).unwrap().progress()
    }

    #[test]
    fn gateway_steps_map_to_typed_progress() {
        assert_eq!(step(r#"{"state":"queued"}"#), CallProgress::Queued);
        assert_eq!(step(r#"{"state":"connected"}"#), CallProgress::Connected);
        assert_eq!(
            step(r#"{"state":"ended","reason":"busy","party":"destination"}"#),
            CallProgress::Ended(CallEnd {
                leg: Leg::Destination,
                reason: EndReason::Busy
            })
        );
        assert_eq!(
            step(r#"{"state":"ended","reason":"failed","party":"agent","detail":"Unallocated"}"#),
            CallProgress::Ended(CallEnd {
                leg: Leg::Agent,
                reason: EndReason::Failed {
                    text: "Unallocated".into(),
                    cause: None
                }
            })
        );
    }

    #[test]
    fn keys_are_unique() {
        assert_ne!(random_key(), random_key());
        assert_eq!(random_key().len(), 32);
    }
}
