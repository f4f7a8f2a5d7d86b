//! The HTTP API: the router, with one module per group of routes and one for the
//! middleware around them.

mod calls;
mod events;
mod legacy;
mod middleware;
mod service;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::app::App;
use crate::error::ApiError;

pub use calls::CallRequest;

/// Every route with its middleware. Streams (SSE) and the legacy URL, which waits for the
/// agent to answer, are outside the request time limit; each has a deadline of its own.
pub fn router(app: Arc<App>) -> Router {
    let timed = Router::new()
        .route("/v1/calls", post(calls::create_call))
        .route(
            "/v1/calls/{id}",
            get(calls::get_call).delete(calls::hang_up),
        )
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
        .route("/openapi.json", get(service::openapi))
        .layer(from_fn_with_state(app.clone(), middleware::time_limit));
    let mut router = Router::new()
        .route("/v1/calls/{id}/events", get(events::call_events))
        .merge(timed);
    if app.config.legacy.enabled {
        router = router.route("/remote/call.php", get(legacy::legacy_call));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.config.limits.max_body_bytes))
        .layer(from_fn_with_state(app.clone(), middleware::record_metrics))
        .layer(from_fn_with_state(app.clone(), middleware::allowlist))
        .with_state(app)
}

/// IPv4 clients of a dual-stack listener appear as `::ffff:a.b.c.d`; treat them as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::other(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /openapi.json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
