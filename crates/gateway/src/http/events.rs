//! `GET /v1/calls/{id}/events`: a call's progress as Server-Sent Events.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

use crate::app::App;
use crate::calls::{Progress, Step};
use crate::error::{ApiError, ErrorBody};

/// The call's progress as Server-Sent Events (`event: progress`, JSON data), from its first
/// step to its end; the stream closes after the `ended` step.
#[utoipa::path(
    get,
    path = "/v1/calls/{id}/events",
    params(("id" = String, Path, description = "The call id from POST /v1/calls")),
    responses(
        (status = 200, description = "text/event-stream of Progress objects", content_type = "text/event-stream", body = Progress),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 404, description = "No such call of this agent", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn call_events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let agent = app.agents().bearer(&headers)?;
    let Path(id) = id.map_err(|e| ApiError::malformed(e.body_text()))?;
    let source = match app.calls.get(&id) {
        Some(entry) if entry.agent == agent.name => Steps::Live(entry.subscribe()),
        // Not in memory (or not this agent's): the audit log has the last word, or 404.
        _ => Steps::Done(Some(Step::new(app.view_for(&agent, &id).await?.progress))),
    };
    app.metrics.sse_subscribers.inc();
    let guard = SubscriberGuard(app.clone());
    let stream = futures_util::stream::unfold(
        (source, 0usize, false, guard),
        |(mut source, sent, done, guard)| async move {
            if done {
                return None;
            }
            let step = source.next(sent).await?;
            let last = step.progress.is_end();
            let event = Event::default()
                .event("progress")
                .id(sent.to_string())
                .data(&*step.json);
            Some((Ok(event), (source, sent + 1, last, guard)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Where an SSE stream's steps come from.
enum Steps {
    /// A call in memory: every step, as it happens.
    Live(watch::Receiver<Vec<Step>>),
    /// A call known only to the audit log: its final step, once.
    Done(Option<Step>),
}

impl Steps {
    /// The step with index `index`, waiting for it; `None` when there will be none.
    async fn next(&mut self, index: usize) -> Option<Step> {
        match self {
            Steps::Done(last) => last.take(),
            Steps::Live(rx) => loop {
                if let Some(step) = rx.borrow_and_update().get(index) {
                    return Some(step.clone());
                }
                rx.changed().await.ok()?;
            },
        }
    }
}

/// Counts an open SSE stream in the metrics until it is dropped.
struct SubscriberGuard(Arc<App>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.metrics.sse_subscribers.dec();
    }
}
