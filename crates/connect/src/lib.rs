//! How clickdial's desktop app reaches Asterisk: directly over AMI, or through the
//! clickdial gateway over HTTP(S).
//!
//! A [`Target`] says where and as whom; [`probe`] answers "does this work?" in terms an
//! agent can act on ([`ProbeError`]); a [`Link`] stays connected, reports its [`LinkState`]
//! for the tray icon, and [`Link::dial`] starts a call whose progress arrives as the typed
//! [`CallProgress`] of `clickdial-ami`, with a way to hang up while it is being set up.
//!
//! ```no_run
//! use clickdial_connect::{AmiTarget, Link, Target};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let target = Target::Ami(AmiTarget {
//!     host: "127.0.0.1".into(),
//!     port: 5038,
//!     username: "clickdial".into(),
//!     secret: "clickdial-secret".into(),
//!     tls: false,
//!     channel: "Local/10@agents".into(),
//!     context: "extensiones-locales".into(),
//! });
//! clickdial_connect::probe(&target).await?;
//! let link = Link::open(target);
//! let mut call = link.dial("932009000").await?;
//! while let Some(step) = call.next().await {
//!     println!("{step:?}");
//! }
//! # Ok(())
//! # }
//! ```

mod ami;
mod call;
mod error;
mod gateway;
mod link;
mod probe;
mod target;

pub use call::{ActiveCall, Hangup};
pub use clickdial_ami::{CallEnd, CallProgress, EndReason, Leg};
pub use error::{DialError, HangupError, ProbeError};
pub use link::{Link, LinkState};
pub use probe::{Reachable, probe};
pub use target::{AmiTarget, GatewayTarget, Target};
