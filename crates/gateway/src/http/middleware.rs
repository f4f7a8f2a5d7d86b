//! What runs around every request: the address allowlist, the time limit and the metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::metrics::{RequestLabels, RouteLabels};

/// How much longer than `[limits] request_timeout_secs` the HTTP answer may take: the call
/// path gives up at the limit itself and says so; this margin lets it be the one to answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// Refuses clients outside `[http] allow` with 403 before anything else runs.
pub async fn allowlist(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let allow = &app.config.http.allow;
    let ip = super::canonical(peer.ip());
    if allow.is_empty() || allow.iter().any(|net| net.contains(&ip)) {
        next.run(request).await
    } else {
        ApiError::forbidden(format!("{ip} is not in the gateway's [http] allow list"))
            .into_response()
    }
}

/// Answers 503 `timeout` when a handler overruns `[limits] request_timeout_secs`.
pub async fn time_limit(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let limit = app.config.limits.request_timeout() + ANSWER_MARGIN;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::other(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

/// Counts every request by route template and status, and times it.
pub async fn record_metrics(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    app.metrics
        .durations
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}
