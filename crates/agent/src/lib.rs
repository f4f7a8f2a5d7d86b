//! What the clickdial desktop app keeps, without any UI: its settings file, its secrets in the
//! operating system's keyring, and the agent's local call history.
//!
//! - [`Settings`]: a TOML file the caller places in the platform config folder; loads files
//!   of older versions, refuses broken ones with the line and column, saves atomically, and
//!   lists [`Problem`]s for the settings window.
//! - [`SecretStore`]: the AMI secret and the gateway token, in the real keyring
//!   ([`KeyringStore`]) or in memory for demo mode and tests ([`MemoryStore`]).
//! - [`History`]: the calls the agent placed, in SQLite, searchable by digits.
//!
//! ```
//! use clickdial_agent::{History, Outcome, Settings, Trigger};
//!
//! let settings = Settings { extension: "10".to_owned(), ..Settings::default() };
//! assert_eq!(settings.channel_for().as_deref(), Some("PJSIP/10"));
//!
//! let history = History::in_memory();
//! let id = history.record_start("+34 600 12 34 56", "0600123456", Trigger::Hotkey).unwrap();
//! history.record_end(id, Outcome::Answered, Some(65)).unwrap();
//! assert_eq!(history.search("600123", 10).unwrap()[0].talk_secs, Some(65));
//! ```

mod history;
mod hotkey;
mod secrets;
mod settings;

pub use history::{
    Entry, EntryId, History, HistoryError, MAX_FIELD_LEN, Outcome, Recovered, Trigger,
};
pub use hotkey::is_valid_hotkey;
pub use secrets::{KeyringStore, MemoryStore, SecretError, SecretName, SecretStore};
pub use settings::{
    Connection, EXTENSION_PLACEHOLDER, Language, MAX_PREVIEW_SECS, MAX_SETTINGS_LEN, Problem,
    ProblemKind, SelectionMethod, Settings, SettingsError, default_country,
};
