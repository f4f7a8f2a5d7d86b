//! clickdial-gateway: the central HTTP click-to-dial endpoint.
//!
//! CRMs and desktop apps ask it to "call this number from this agent"; it authenticates the
//! agent by bearer token, rings only that agent's extension, and records every request in an
//! audit log before acknowledging it.

pub mod app;
pub mod audit;
pub mod auth;
pub mod calls;
pub mod config;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod pbx;
pub mod ratelimit;
pub mod server;
pub mod token;
