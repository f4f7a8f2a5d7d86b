//! `GET /remote/call.php?src=&dst=`: the old PHP script's URL, for CRM links built for it,
//! now authenticated, validated and honest about the outcome.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::{App, Dedup};
use crate::calls::{CallState, CallView, Party, Progress, Reason};
use crate::error::ApiError;
use crate::idempotency::valid_key;

/// The query of the legacy URL.
#[derive(Debug, Deserialize)]
pub struct LegacyQuery {
    /// The extension that rings first; optional, and only the agent's own is accepted.
    src: Option<String>,
    /// What to dial.
    dst: Option<String>,
    /// The agent's token, for links that cannot carry an `Authorization` header.
    token: Option<String>,
    /// An idempotency key, for links that can carry one.
    key: Option<String>,
}

/// Starts a call and waits until the agent answered or the call ended, then answers in plain
/// text: `200 OK <id>: calling <number> from <extension>`, or an error status with
/// `ERROR <code>: <message>` or `FAILED <id>: <whose> <reason>`. Without `key=`, the same
/// number from the same agent within a few seconds is the same click.
pub async fn legacy_call(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<LegacyQuery>, QueryRejection>,
) -> Response {
    let ring = Duration::from_secs(app.config.ami.ring_timeout_secs);
    let deadline = Instant::now() + app.config.limits.request_timeout();
    let started = async {
        let Query(query) = query.map_err(|e| ApiError::malformed(e.body_text()))?;
        let agent = app.agents().legacy(&headers, query.token.as_deref())?;
        if let Some(src) = query.src.as_deref().filter(|s| !s.is_empty())
            && src != agent.extension
        {
            return Err(ApiError::forbidden(format!(
                "src={src:?} is not your extension ({}); a token only rings its own agent's phone",
                agent.extension
            )));
        }
        let dst = query
            .dst
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| ApiError::malformed("dst= (the number to call) is missing"))?;
        let dedup = match query.key.as_deref() {
            Some(key) if valid_key(key) => Dedup::Key(key),
            Some(_) => {
                return Err(ApiError::malformed(
                    "key= must be 1-128 visible ASCII characters",
                ));
            }
            None => Dedup::LegacyRepeat,
        };
        let (view, _) = app
            .start_call(&agent, peer.ip(), dst, dedup, deadline)
            .await?;
        Ok(view)
    }
    .await;
    let view = match started {
        Ok(view) => view,
        Err(e) => return (e.status, format!("ERROR {}: {}\n", e.code, e.message)).into_response(),
    };
    // The agent's phone rings for at most `ring`; Asterisk then reports the end itself.
    let outcome = tokio::time::timeout(
        ring + app.config.limits.request_timeout(),
        agent_answer(&app, &view),
    )
    .await
    .unwrap_or_else(|_| Progress::ended(Reason::Lost, None, Some("no outcome in time".to_owned())));
    if !outcome.is_end() || outcome.reason == Some(Reason::Answered) {
        return (
            StatusCode::OK,
            format!("OK {}: calling {} from {}\n", view.id, view.to, view.from),
        )
            .into_response();
    }
    let whose = match outcome.party {
        Some(Party::Agent) => format!("your phone ({})", view.from),
        _ => view.to.clone(),
    };
    let reason = outcome.reason.unwrap_or(Reason::Failed).as_str();
    let detail = outcome.detail.map(|d| format!(": {d}")).unwrap_or_default();
    (
        StatusCode::BAD_GATEWAY,
        format!("FAILED {}: {whose} {reason}{detail}\n", view.id),
    )
        .into_response()
}

/// Waits until the agent answered (or later steps) or the call ended, and returns that step.
async fn agent_answer(app: &App, view: &CallView) -> Progress {
    let Some(entry) = app.calls.get(&view.id) else {
        return view.progress.clone();
    };
    let mut rx = entry.subscribe();
    loop {
        let latest = rx
            .borrow_and_update()
            .last()
            .map_or_else(Progress::queued, |step| step.progress.clone());
        let answered = matches!(
            latest.state,
            CallState::AgentAnswered | CallState::DestinationRinging | CallState::Connected
        );
        if answered || latest.is_end() || rx.changed().await.is_err() {
            return latest;
        }
    }
}
