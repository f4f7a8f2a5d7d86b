//! Secrets (the AMI password, the gateway token) in the operating system's keyring, never in
//! the settings file.
//!
//! [`KeyringStore`] uses the real keyring: the Secret Service on Linux (GNOME Keyring,
//! KeePassXC), the Keychain on macOS, the Credential Manager on Windows. keyring 3 silently
//! falls back to an in-process mock that never persists when no backend is compiled in, so
//! [`KeyringStore::new`] refuses to work with the mock. [`MemoryStore`] keeps secrets in
//! memory only, for demo mode and tests, which must never touch the real keyring.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Which secret of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretName {
    /// The AMI user's secret from manager.conf, for AMI mode.
    AmiSecret,
    /// The agent's bearer token for the clickdial gateway, for gateway mode.
    GatewayToken,
}

impl SecretName {
    /// Every secret name, e.g. to delete them all when the agent signs out.
    pub const ALL: [SecretName; 2] = [SecretName::AmiSecret, SecretName::GatewayToken];

    /// The account name the secret is stored under in the keyring.
    pub fn key(self) -> &'static str {
        match self {
            SecretName::AmiSecret => "ami-secret",
            SecretName::GatewayToken => "gateway-token",
        }
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a secret could not be read, stored or deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No keyring service could be reached (on Linux: no D-Bus session bus, or nothing
    /// provides the Secret Service on it).
    #[error(
        "the system keyring is not reachable ({detail}); on Linux start gnome-keyring or \
         enable KeePassXC's Secret Service integration in a desktop session, then try again"
    )]
    Unreachable {
        /// The keyring's own words.
        detail: String,
    },
    /// The keyring is there but locked, or the agent (or a policy) refused access.
    #[error(
        "the system keyring is locked or refused access ({detail}); unlock it (log in to the \
         desktop again, or unlock it in Seahorse or KeePassXC) and allow clickdial, then try \
         again"
    )]
    Locked {
        /// The keyring's own words.
        detail: String,
    },
    /// This build has no keyring backend for the system it runs on.
    #[error(
        "this build of clickdial has no keyring support for this system, so secrets cannot be \
         kept; use a build for your system or demo mode"
    )]
    Unsupported,
    /// Anything else the keyring reported, e.g. a stored value that is not text.
    #[error("the system keyring failed: {detail}")]
    Other {
        /// The keyring's own words.
        detail: String,
    },
}

/// Where the app keeps its secrets; shared between threads.
pub trait SecretStore: Send + Sync {
    /// The secret `name`, or `None` when none is stored.
    fn get(&self, name: SecretName) -> Result<Option<String>, SecretError>;

    /// Stores `secret` as `name`, replacing any earlier one.
    fn set(&self, name: SecretName, secret: &str) -> Result<(), SecretError>;

    /// Deletes the secret `name`; deleting one that is not stored is not an error.
    fn delete(&self, name: SecretName) -> Result<(), SecretError>;
}

/// Secrets in the operating system's keyring, under one service name.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    /// The keyring service the secrets are stored under, e.g. `clickdial`.
    service: String,
}

impl KeyringStore {
    /// A store for the secrets of `service` (e.g. `clickdial`); touches the keyring only when
    /// used.
    pub fn new(service: &str) -> KeyringStore {
        KeyringStore {
            service: service.to_owned(),
        }
    }

    /// The keyring service name the secrets are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The keyring entry for `name`, refusing keyring's silent mock backend.
    fn entry(&self, name: SecretName) -> Result<keyring::Entry, SecretError> {
        let entry = keyring::Entry::new(&self.service, name.key()).map_err(from_keyring)?;
        if entry
            .get_credential()
            .downcast_ref::<keyring::mock::MockCredential>()
            .is_some()
        {
            return Err(SecretError::Unsupported);
        }
        Ok(entry)
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, name: SecretName) -> Result<Option<String>, SecretError> {
        match self.entry(name)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(from_keyring(error)),
        }
    }

    fn set(&self, name: SecretName, secret: &str) -> Result<(), SecretError> {
        self.entry(name)?.set_password(secret).map_err(from_keyring)
    }

    fn delete(&self, name: SecretName) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(from_keyring(error)),
        }
    }
}

/// Sorts keyring's errors by what the agent can do about them.
///
/// keyring reports a missing bus or Secret Service provider as a platform failure and a
/// locked collection or dismissed prompt as no storage access.
fn from_keyring(error: keyring::Error) -> SecretError {
    match error {
        keyring::Error::PlatformFailure(source) => SecretError::Unreachable {
            detail: source.to_string(),
        },
        keyring::Error::NoStorageAccess(source) => SecretError::Locked {
            detail: source.to_string(),
        },
        other => SecretError::Other {
            detail: other.to_string(),
        },
    }
}

/// Secrets kept in memory only, lost when the app stops: for demo mode and tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// The stored secrets.
    secrets: Mutex<HashMap<SecretName, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: SecretName) -> Result<Option<String>, SecretError> {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(secrets.get(&name).cloned())
    }

    fn set(&self, name: SecretName, secret: &str) -> Result<(), SecretError> {
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.insert(name, secret.to_owned());
        Ok(())
    }

    fn delete(&self, name: SecretName) -> Result<(), SecretError> {
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        secrets.remove(&name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new();
        assert_eq!(store.get(SecretName::AmiSecret), Ok(None));
        store.set(SecretName::AmiSecret, "s3cret ñ \0 🔑").unwrap();
        store.set(SecretName::GatewayToken, "token").unwrap();
        assert_eq!(
            store.get(SecretName::AmiSecret).unwrap().as_deref(),
            Some("s3cret ñ \0 🔑")
        );
        store.set(SecretName::AmiSecret, "other").unwrap();
        assert_eq!(
            store.get(SecretName::AmiSecret).unwrap().as_deref(),
            Some("other")
        );
        store.delete(SecretName::AmiSecret).unwrap();
        store.delete(SecretName::AmiSecret).unwrap();
        assert_eq!(store.get(SecretName::AmiSecret), Ok(None));
        assert_eq!(
            store.get(SecretName::GatewayToken).unwrap().as_deref(),
            Some("token")
        );
    }

    #[test]
    fn memory_stores_are_separate() {
        let a = MemoryStore::new();
        let b = MemoryStore::new();
        a.set(SecretName::GatewayToken, "a").unwrap();
        assert_eq!(b.get(SecretName::GatewayToken), Ok(None));
    }

    #[test]
    fn stores_are_usable_as_trait_objects_across_threads() {
        let store: std::sync::Arc<dyn SecretStore> = std::sync::Arc::new(MemoryStore::new());
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store.set(SecretName::GatewayToken, &i.to_string()).unwrap()
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(store.get(SecretName::GatewayToken).unwrap().is_some());
    }

    #[test]
    fn keyring_errors_are_sorted_by_remedy() {
        let boxed = |text: &str| -> Box<dyn std::error::Error + Send + Sync> { text.into() };
        assert!(matches!(
            from_keyring(keyring::Error::PlatformFailure(boxed("no bus"))),
            SecretError::Unreachable { .. }
        ));
        assert!(matches!(
            from_keyring(keyring::Error::NoStorageAccess(boxed("locked"))),
            SecretError::Locked { .. }
        ));
        assert!(matches!(
            from_keyring(keyring::Error::BadEncoding(vec![0xff])),
            SecretError::Other { .. }
        ));
        let message = SecretError::Unreachable {
            detail: "x".to_owned(),
        }
        .to_string();
        assert!(message.contains("start gnome-keyring"), "{message}");
    }

    #[test]
    fn secret_names() {
        assert_eq!(SecretName::AmiSecret.key(), "ami-secret");
        assert_eq!(SecretName::GatewayToken.to_string(), "gateway-token");
        assert_eq!(
            serde_json::to_string(&SecretName::ALL).unwrap(),
            r#"["ami_secret","gateway_token"]"#
        );
    }
}
