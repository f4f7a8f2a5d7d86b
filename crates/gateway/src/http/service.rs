//! Routes about the service itself: health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::app::App;
use crate::calls::{CallState, CallView, Party, Progress, Reason};
use crate::error::{ApiError, ErrorBody};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The gateway runs")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: logged in to AMI, so calls can be started.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Logged in to AMI"),
        (status = 503, description = "Asterisk is unreachable or refuses the gateway", body = ErrorBody),
    )
)]
pub async fn readyz(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    let ready = app.ready();
    app.metrics.ami_up.set(i64::from(ready.is_ok()));
    ready
        .map(|()| Json(serde_json::json!({"status": "ready"})))
        .map_err(|why| ApiError::pbx_unavailable(format!("Asterisk is not available: {why}")))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text")))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics.ami_up.set(i64::from(app.ready().is_ok()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "clickdial gateway", description = "Click-to-dial for Asterisk: ring the agent's phone, then connect it to a number."),
    paths(
        super::calls::create_call,
        super::calls::get_call,
        super::calls::hang_up,
        super::events::call_events,
        healthz,
        readyz,
        metrics,
        openapi
    ),
    components(schemas(super::CallRequest, CallView, Progress, CallState, Reason, Party, ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Adds the bearer-token security scheme to the document.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
