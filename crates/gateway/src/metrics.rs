//! Prometheus metrics for `/metrics`: requests, calls, outcomes and the AMI link.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request: the route template (never the raw path) and the status code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route, e.g. `/v1/calls/{id}`.
    pub route: String,
    /// The response status code.
    pub status: u16,
}

/// Labels of a call decision or ending.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `accepted`, a refusal code, or an end reason.
    pub outcome: String,
}

/// Labels of a request duration: the route template.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The matched route.
    pub route: String,
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request durations by route.
    pub durations: Family<RouteLabels, Histogram>,
    /// Call requests by decision: `accepted` or the refusal code.
    pub call_requests: Family<OutcomeLabels, Counter>,
    /// Ended calls by reason.
    pub call_endings: Family<OutcomeLabels, Counter>,
    /// Calls currently being set up or connected.
    pub active_calls: Gauge,
    /// 1 while the AMI connection is logged in, 0 otherwise.
    pub ami_up: Gauge,
    /// Open SSE progress streams.
    pub sse_subscribers: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("clickdial_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let call_requests = Family::<OutcomeLabels, Counter>::default();
        let call_endings = Family::<OutcomeLabels, Counter>::default();
        let active_calls = Gauge::default();
        let ami_up = Gauge::default();
        let sse_subscribers = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            durations.clone(),
        );
        registry.register(
            "call_requests",
            "Call requests by decision (accepted or the refusal code)",
            call_requests.clone(),
        );
        registry.register(
            "call_endings",
            "Ended calls by reason",
            call_endings.clone(),
        );
        registry.register(
            "active_calls",
            "Calls being set up or connected",
            active_calls.clone(),
        );
        registry.register(
            "ami_up",
            "1 while the AMI connection is logged in",
            ami_up.clone(),
        );
        registry.register(
            "sse_subscribers",
            "Open call progress streams",
            sse_subscribers.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            call_requests,
            call_endings,
            active_calls,
            ami_up,
            sse_subscribers,
        }
    }
}

impl Metrics {
    /// Counts a call request decision.
    pub fn call_request(&self, outcome: &str) {
        self.call_requests
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts an ended call.
    pub fn call_ended(&self, reason: &str) {
        self.call_endings
            .get_or_create(&OutcomeLabels {
                outcome: reason.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_labels() {
        let metrics = Metrics::default();
        metrics.call_request("accepted");
        metrics.call_request("accepted");
        metrics.call_ended("busy");
        metrics.ami_up.set(1);
        metrics
            .requests
            .get_or_create(&RequestLabels {
                route: "/v1/calls".into(),
                status: 202,
            })
            .inc();
        let text = metrics.render();
        for line in [
            "clickdial_gateway_call_requests_total{outcome=\"accepted\"} 2",
            "clickdial_gateway_call_endings_total{outcome=\"busy\"} 1",
            "clickdial_gateway_ami_up 1",
            "clickdial_gateway_http_requests_total{route=\"/v1/calls\",status=\"202\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
