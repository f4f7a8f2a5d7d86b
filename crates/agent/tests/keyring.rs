//! [`KeyringStore`] against a real GNOME Keyring in a private D-Bus session, checked with an
//! independent reader (`secret-tool`), and its error when there is no session bus at all.
//!
//! Each test re-runs itself (its own test binary, `--exact`) in a child process with the
//! environment it needs, so nothing here touches the developer's own keyring or bus: the
//! child gets a fresh HOME, XDG data and runtime folders, and its own bus and keyring daemon.
//! Needs the Debian packages dbus-x11 (or dbus-daemon), gnome-keyring and libsecret-tools.

use std::path::Path;
use std::process::{Command, Output};

use clickdial_agent::{KeyringStore, SecretError, SecretName, SecretStore};

/// Set in the child process: the test is running in the environment it prepared.
const CHILD: &str = "CLICKDIAL_KEYRING_SESSION";

/// Starts a keyring daemon unlocked with a throwaway password in the new session, then runs
/// the command it is given.
const START_KEYRING: &str = "echo -n pw | gnome-keyring-daemon --unlock --components=secrets \
                             >/dev/null; exec \"$@\"";

/// Runs the test `name` of this binary again in a child process whose command line starts
/// with `wrapper`, in a fresh home without a display (so no unlock prompt can pop up on the
/// developer's screen), with `env` set; panics unless it passed.
fn rerun(name: &str, wrapper: &[&str], env: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let home = tempfile::tempdir().expect("a temporary home");
    let runtime = home.path().join("runtime");
    std::fs::create_dir(&runtime).expect("a runtime folder");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .expect("a private runtime folder");
    }
    let program = wrapper.first().copied().unwrap_or("env");
    let mut command = Command::new("env");
    command
        .args(["-u", "DISPLAY", "-u", "WAYLAND_DISPLAY"])
        .args(wrapper)
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .envs(env.iter().copied());
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run {program}: {error}; install the Debian packages dbus-x11, gnome-keyring \
             and libsecret-tools (./dev test does)"
        )
    });
    check_passed(name, &output);
}

/// Panics with the child's output unless its one test passed.
fn check_passed(name: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the child run of {name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

/// Whether this process is the child a test started.
fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// What `secret-tool` (libsecret, not the keyring crate) finds for the secret.
fn secret_tool_lookup(service: &str, name: SecretName) -> Option<String> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", name.key()])
        .output()
        .expect("secret-tool from Debian's libsecret-tools");
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).expect("a UTF-8 secret"))
}

#[test]
fn real_keyring_round_trip() {
    if !in_child() {
        for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
            assert!(
                ["/usr/bin", "/bin", "/usr/local/bin"]
                    .iter()
                    .any(|dir| Path::new(dir).join(tool).exists()),
                "{tool} is missing: install the Debian packages dbus-x11, gnome-keyring and \
                 libsecret-tools (./dev test does)"
            );
        }
        rerun(
            "real_keyring_round_trip",
            &["dbus-run-session", "--", "sh", "-c", START_KEYRING, "sh"],
            &[],
        );
        return;
    }
    let service = format!("clickdial-test-{}", std::process::id());
    let secret = "s3cret ñ 🔑 \"quoted\" $HOME";
    KeyringStore::new(&service)
        .set(SecretName::AmiSecret, secret)
        .expect("storing in the real keyring");

    let fresh = KeyringStore::new(&service);
    assert_eq!(fresh.service(), service);
    assert_eq!(
        fresh.get(SecretName::AmiSecret).unwrap().as_deref(),
        Some(secret)
    );
    assert_eq!(fresh.get(SecretName::GatewayToken).unwrap(), None);
    assert_eq!(
        secret_tool_lookup(&service, SecretName::AmiSecret).as_deref(),
        Some(secret),
        "secret-tool must find what KeyringStore stored: it really is in GNOME Keyring"
    );

    fresh.set(SecretName::AmiSecret, "replaced").unwrap();
    assert_eq!(
        secret_tool_lookup(&service, SecretName::AmiSecret).as_deref(),
        Some("replaced")
    );

    fresh.delete(SecretName::AmiSecret).unwrap();
    assert_eq!(fresh.get(SecretName::AmiSecret).unwrap(), None);
    assert_eq!(secret_tool_lookup(&service, SecretName::AmiSecret), None);
    fresh
        .delete(SecretName::AmiSecret)
        .expect("deleting a missing secret is fine");
}

#[test]
fn locked_keyring_is_locked() {
    if !in_child() {
        // The bus starts a keyring daemon on demand, but nothing unlocks it.
        rerun("locked_keyring_is_locked", &["dbus-run-session", "--"], &[]);
        return;
    }
    let store = KeyringStore::new("clickdial-test");
    match store.set(SecretName::AmiSecret, "secret") {
        Err(error @ SecretError::Locked { .. }) => {
            assert!(error.to_string().contains("unlock it"), "{error}");
        }
        other => panic!("expected the keyring to be locked, got {other:?}"),
    }
}

#[test]
fn no_session_bus_is_unreachable() {
    if !in_child() {
        rerun(
            "no_session_bus_is_unreachable",
            &[],
            &[(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/clickdial/bus",
            )],
        );
        return;
    }
    let store = KeyringStore::new("clickdial-test");
    for result in [
        store.get(SecretName::GatewayToken).map(drop),
        store.set(SecretName::GatewayToken, "token"),
        store.delete(SecretName::GatewayToken),
    ] {
        match result {
            Err(error @ SecretError::Unreachable { .. }) => {
                assert!(error.to_string().contains("start gnome-keyring"), "{error}");
            }
            other => panic!("expected the keyring to be unreachable, got {other:?}"),
        }
    }
}
