//! An async client for the Asterisk Manager Interface (AMI).
//!
//! AMI is Asterisk's line-based TCP protocol (port 5038, 5039 with TLS): the server greets
//! with a [`Banner`], then client actions and server responses and events are blocks of
//! `Name: value` lines ended by a blank line.
//!
//! [`Client::connect`] logs in (MD5 challenge or plaintext, optionally over [`TlsConfig`])
//! and keeps the connection up; [`Client::send`] matches answers by ActionID;
//! [`Client::events`] subscribes to events. Every outgoing field is a [`Value`], which
//! cannot hold CR, LF or NUL, so no input can inject AMI. [`Client::originate`] sends an
//! [`Originate`] and follows the call to its end as a stream of [`CallProgress`].
//!
//! ```no_run
//! use clickdial_ami::{CallProgress, Client, Config, Originate, Value};
//!
//! # async fn click_to_dial() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(Config::new("127.0.0.1:5038", "clickdial", "clickdial-secret")?).await?;
//! let mut call = client
//!     .originate(Originate::extension(
//!         Value::new("Local/10@agents")?,
//!         Value::new("extensiones-locales")?,
//!         Value::new("+34932009000")?,
//!         1,
//!     ))
//!     .await?;
//! while let Some(step) = call.next().await {
//!     if let CallProgress::Ended(end) = step {
//!         println!("{:?} leg: {:?}", end.leg, end.reason);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod action;
mod banner;
mod call;
mod client;
mod codec;
mod config;
mod connection;
mod error;
mod events;
mod ids;
mod message;
mod originate;
mod reconnect;
mod tls;
mod value;

pub use action::Action;
pub use banner::{Banner, BannerError};
pub use call::{Call, CallEnd, CallProgress, EndReason, Leg};
pub use client::Client;
pub use codec::{AmiCodec, CodecError, Frame, Limits};
pub use config::{Auth, Backoff, Config};
pub use connection::EventList;
pub use error::{ConnectError, Error};
pub use events::{Event, EventError, EventStream};
pub use message::Message;
pub use originate::Originate;
pub use reconnect::State;
pub use tls::{TlsConfig, TlsError};
pub use value::{InvalidHeader, Name, Value};
