//! An async client for the Asterisk Manager Interface (AMI).
//!
//! AMI is Asterisk's line-based TCP protocol (port 5038, 5039 with TLS): the server greets
//! with a [`Banner`], then client actions and server responses and events are blocks of
//! `Name: value` lines ended by a blank line.

mod banner;

pub use banner::{Banner, BannerError};
