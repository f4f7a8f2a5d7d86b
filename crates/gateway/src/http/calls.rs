//! `POST /v1/calls` and `GET /v1/calls/{id}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::{App, Dedup};
use crate::calls::CallView;
use crate::error::{ApiError, ErrorBody};
use crate::idempotency::valid_key;

/// The header a client sends to make a retry safe.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The body of `POST /v1/calls`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// What to dial: a number in any common format, a `tel:`/`callto:`/`sip:` link, or text
    /// holding one number ("Tel. +34 93 200 90 00").
    #[schema(example = "+34 93 200 90 00")]
    pub to: String,
}

/// Starts a call: rings the token's agent, then dials `to`.
#[utoipa::path(
    post,
    path = "/v1/calls",
    request_body = CallRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key from the same agent returns the first call")),
    responses(
        (status = 202, description = "The call was handed to Asterisk", body = CallView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "Address not allowed, or the policy refuses the number", body = ErrorBody),
        (status = 409, description = "Idempotency-Key reused for another number", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "No dialable number", body = ErrorBody),
        (status = 429, description = "The agent starts calls too fast", body = ErrorBody),
        (status = 502, description = "Asterisk refused the call", body = ErrorBody),
        (status = 503, description = "Asterisk is unreachable, or the call could not be started in time", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_call(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<CallRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let deadline = Instant::now() + app.config.limits.request_timeout();
    let agent = app.agents().bearer(&headers)?;
    let Json(request) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::other(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is larger than {} bytes",
                    app.config.limits.max_body_bytes
                ),
            )
        } else {
            ApiError::malformed(format!(
                "{}; send JSON like {{\"to\": \"+34 93 200 90 00\"}}",
                rejection.body_text()
            ))
        }
    })?;
    let dedup = match headers.get(IDEMPOTENCY_KEY) {
        None => Dedup::None,
        Some(value) => Dedup::Key(value.to_str().ok().filter(|k| valid_key(k)).ok_or_else(
            || ApiError::malformed("Idempotency-Key must be 1-128 visible ASCII characters"),
        )?),
    };
    let (view, replayed) = app
        .start_call(&agent, peer.ip(), &request.to, dedup, deadline)
        .await?;
    let mut response = (StatusCode::ACCEPTED, Json(view.clone())).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/calls/{}", view.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A call's current state and, once ended, its reason.
#[utoipa::path(
    get,
    path = "/v1/calls/{id}",
    params(("id" = String, Path, description = "The call id from POST /v1/calls")),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 404, description = "No such call of this agent", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_call(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<CallView>, ApiError> {
    let agent = app.agents().bearer(&headers)?;
    let Path(id) = id.map_err(|e| ApiError::malformed(e.body_text()))?;
    app.view_for(&agent, &id).await.map(Json)
}

/// Hangs up a call of the token's agent: Asterisk hangs up the agent's phone, which ends the
/// call; the end arrives in the call's progress. Needs `call` in the gateway's AMI `write =`.
#[utoipa::path(
    delete,
    path = "/v1/calls/{id}",
    params(("id" = String, Path, description = "The call id from POST /v1/calls")),
    responses(
        (status = 202, description = "Asterisk is hanging the call up; the call as it stands", body = CallView),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 404, description = "No such call of this agent", body = ErrorBody),
        (status = 409, description = "The call is already over", body = ErrorBody),
        (status = 502, description = "Asterisk refused (e.g. the gateway's AMI account lacks `write = call`)", body = ErrorBody),
        (status = 503, description = "Asterisk is unreachable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn hang_up(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let agent = app.agents().bearer(&headers)?;
    let Path(id) = id.map_err(|e| ApiError::malformed(e.body_text()))?;
    let view = app.hang_up(&agent, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}
