//! A sandbox PBX: an AMI server that behaves like the Asterisk 22 of `../shared/pbx`, for
//! the desktop app's demo mode and for fault injection in tests.
//!
//! [`Sandbox::start`] serves a [`Config`] on a loopback port; [`Config::default`] mirrors
//! `../shared/pbx/conf` (accounts `clickdial` and `readonly`, agents `10`–`18` answer, `19`
//! rings, `20` is busy; destinations `9000X` busy, `9001X` congested, others answer), so a
//! test or the app can switch between the two. Calls unfold on Asterisk's timings, divided
//! by [`Config::speed`]. [`Faults`] inject what a real Asterisk cannot produce on demand.
//!
//! [`Config::dialing`] is shaped like production click-to-dial (and
//! `clickdial_testsupport::DIALPLAN`): the destination is reached with
//! `Dial(Local/${EXTEN}@destinations,10)` ([`Behaviour::Dial`], [`Extension::dialing`]), so
//! a call shows `DialBegin`/`DialState`/`DialEnd`, a bridge once the destination answers,
//! and the destination's busy, congestion or no answer in `DialEnd`. The `Hangup` action
//! (write class `call` or `system`) hangs up an originated channel by name, `Uniqueid` or
//! `/regex/`, with Asterisk's events while the agent rings or the destination is dialed.
//!
//! ```
//! use clickdial_sandbox::{Config, Sandbox};
//!
//! tokio::runtime::Runtime::new().unwrap().block_on(async {
//!     let sandbox = Sandbox::start(Config::default().speed(10.0)).await.unwrap();
//!     let addr = sandbox.local_addr(); // connect clickdial_ami::Client here
//!     assert!(addr.ip().is_loopback());
//!     sandbox.stop().await;
//! });
//! ```
//!
//! The binary serves the same from a shell: `clickdial-sandbox --listen 127.0.0.1:5038
//! [--speed N] [--config FILE]`, where FILE is TOML with any of [`Config`]'s `banner`,
//! `speed`, `[[accounts]]` and `[[extensions]]` (e.g. `context = "agents"`,
//! `pattern = "_1[0-8]"`, `behaviour = "answer"`, `seconds = 20`; or `behaviour = "dial"`,
//! `seconds = 10`, `dial = "destinations"` for `Dial(Local/${EXTEN}@destinations,10)`).
//!
//! Every event sequence, header and message was copied from transcripts of the real
//! Asterisk 22.10.1 (in `tests/data/`, checked by `tests/recordings.rs`), and
//! `tests/conformance.rs` runs one scenario suite through `clickdial_ami::Client` against
//! both.
//!
//! # Known and deliberate differences from Asterisk
//!
//! - Only call-class events are produced (a `read = call` account sees nothing else from
//!   Asterisk either); `FullyBooted`, security and dialplan events never come.
//! - Asterisk's event order within one call varies between runs, because different
//!   threads write them: `OriginateResponse` before or after the `;1` half's `Newstate` or
//!   `Hangup` (a failed call's `CallProgress` then reads cause 0 "Unknown" or no cause), a
//!   half's `HangupRequest` before or after its own `Newstate`, `DialBegin` before or after
//!   the ringing `;1` half's `Newstate`. The sandbox always writes one recorded order; the
//!   conformance suite compares those events apart.
//! - [`Config::speed`] scales everything the PBX times, including an Originate's `Timeout`
//!   and the one-second delay after a failed login, but not the fault knobs' durations.
//! - Only `Local/<exten>@<context>` channels exist; any other technology fails the call
//!   (`Reason: 0`) without events. `CallerID`, `Variable`, `Account` and `Codecs` are
//!   accepted and ignored: the channels always show `<unknown>` caller ids.
//! - An Originate without `Context` and `Exten` (and no `Application`), or with a
//!   `Priority` other than 1, is refused with `Extension does not exist.`; Asterisk queues
//!   the first and follows its dialplan for the second. `Application` targets run as an
//!   answered channel that hangs up after `Wait`'s seconds (any other application: at
//!   once), its events showing an empty `Context` and `Exten` (not recorded).
//! - Timelines not in the recordings are extrapolated from the nearest recorded one: a
//!   `ring` destination ends like an answered one; an agent whose hold ends while its
//!   destination rings ends like a `Hangup` of the originated channel, and while connected
//!   like the destination hanging up; a destination whose ring ends before the `Dial()`
//!   timeout ends like the timeout; a `Dial()` to an extension its context lacks ends
//!   without dial events (Asterisk: `CHANUNAVAIL`); an agent extension that dials fails
//!   like a congested agent; a `Dial()` whose context dials again is refused by
//!   [`Config::from_toml`].
//! - `Hangup` reaches only originated channels (`;1` of the agent's pair), not the other
//!   halves or the destination's channels. A `Hangup` while a call is answered ends it at
//!   once with its recorded end (cause 16, not the requested `Cause`). An invalid `/regex/`
//!   is answered `Regex compile failed on: ...` (not recorded), and Rust's regex syntax
//!   stands in for POSIX extended regular expressions.
//! - A dialplan extension is one behaviour (answer and hold, ring, busy, congestion) with a
//!   duration, not a list of applications. Exact extensions win over patterns; patterns
//!   are tried in configuration order, not by Asterisk's specificity.
//! - `ListCommands` lists the actions the sandbox runs. `Status`, `CoreShowChannels`,
//!   `Command` and a few more answer `Permission denied` to accounts without their class,
//!   as Asterisk does, and `Invalid/unknown command` to accounts with it.
//! - A connection more than 16384 events behind skips the events it missed; Asterisk
//!   queues without bound.

mod channels;
mod config;
mod dialplan;
mod faults;
mod originate;
mod pbx;
mod server;
mod session;

pub use config::{ASTERISK_22_BANNER, Account, Config, ConfigError};
pub use dialplan::{Behaviour, Extension, matches};
pub use faults::{EventFlood, Faults, Interruption, Point};
pub use server::{Sandbox, StartError};
