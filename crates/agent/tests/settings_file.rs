//! The settings file on disk: first run, old and partial files, broken files, atomic saves
//! and permissions.

use std::fs;

use clickdial_agent::{
    Connection, Language, MAX_SETTINGS_LEN, ProblemKind, SelectionMethod, Settings, SettingsError,
};
use clickdial_dial::{Country, DialPrefix, DialRules};

/// Complete AMI settings for an ES site.
fn sample() -> Settings {
    Settings {
        language: Language::Es,
        extension: "10".to_owned(),
        connection: Connection::Ami {
            host: "pbx.example.com".to_owned(),
            port: 5039,
            username: "clickdial".to_owned(),
            tls: true,
            channel: "PJSIP/{extension}".to_owned(),
            context: "from-internal".to_owned(),
        },
        dial: DialRules {
            outside_prefix: DialPrefix::new("0").unwrap(),
            ..DialRules::new(Country::new("ES").unwrap())
        },
        hotkey: "Ctrl+Alt+D".to_owned(),
        hotkey_paused: true,
        clipboard_hotkey: "Ctrl+Alt+C".to_owned(),
        selection: SelectionMethod::Copy,
        autostart: true,
        notifications: false,
        preview_secs: 0,
    }
}

#[test]
fn missing_file_is_the_first_run() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Settings::load(&dir.path().join("settings.toml"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn save_then_load_round_trips_and_creates_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("clickdial")
        .join("deeper")
        .join("settings.toml");
    for settings in [
        sample(),
        Settings {
            connection: Connection::Gateway {
                url: "https://pbx.example.com:8443".to_owned(),
            },
            ..sample()
        },
    ] {
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), Some(settings));
    }
    let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["settings.toml"], "no temporary files are left");
}

#[test]
fn the_file_reads_as_documented() {
    let text = sample().to_toml().unwrap();
    for line in [
        "language = \"es\"",
        "extension = \"10\"",
        "[connection]",
        "mode = \"ami\"",
        "channel = \"PJSIP/{extension}\"",
        "[dial]",
        "country = \"ES\"",
        "preview_secs = 0",
        "selection = \"copy\"",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
}

#[test]
fn old_and_partial_files_load_with_defaults() {
    let settings = Settings::from_toml("extension = \"12\"\n").unwrap();
    assert_eq!(settings.extension, "12");
    assert_eq!(settings.hotkey, "Ctrl+Alt+D");
    assert_eq!(settings.clipboard_hotkey, "Ctrl+Alt+C");
    assert_eq!(settings.preview_secs, 3);
    assert!(settings.notifications);
    assert!(!settings.autostart);
    assert_eq!(settings.language, Language::Auto);
    assert_eq!(
        settings.selection,
        SelectionMethod::default(),
        "files from before the selection setting read the selection as before"
    );

    let settings = Settings::from_toml(
        "[connection]\nmode = \"ami\"\nhost = \"10.0.0.2\"\n\n[dial]\ncountry = \"GB\"\n",
    )
    .unwrap();
    assert_eq!(
        settings.connection,
        Connection::Ami {
            host: "10.0.0.2".to_owned(),
            port: 5038,
            username: String::new(),
            tls: false,
            channel: "PJSIP/{extension}".to_owned(),
            context: "from-internal".to_owned(),
        }
    );
    assert_eq!(settings.dial.country, Country::new("GB").unwrap());
    assert_eq!(settings.channel_for(), None, "no extension yet");

    let settings = Settings::from_toml("[connection]\nmode = \"gateway\"\n").unwrap();
    assert_eq!(
        settings.problems()[1..]
            .iter()
            .map(|p| p.kind)
            .collect::<Vec<_>>(),
        [ProblemKind::UrlMissing]
    );

    let settings = Settings::from_toml("unknown_future_key = 1\nextension = \"7\"\n").unwrap();
    assert_eq!(
        settings.extension, "7",
        "keys of newer versions are ignored"
    );
}

/// Loads `text` from a file and returns the parse error's line, column and message.
fn broken(text: &[u8]) -> (usize, usize, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    fs::write(&path, text).unwrap();
    match Settings::load(&path) {
        Err(error @ SettingsError::Parse { .. }) => {
            let shown = error.to_string();
            assert!(shown.contains(&*path.to_string_lossy()), "{shown}");
            assert!(shown.contains("move the file away"), "{shown}");
            let SettingsError::Parse {
                line,
                column,
                message,
                ..
            } = error
            else {
                unreachable!()
            };
            assert_eq!(
                fs::read(&path).unwrap(),
                text,
                "a broken file is left alone"
            );
            (line, column, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn broken_files_name_line_and_column() {
    let (line, column, _) = broken(b"extension = \"10\"\nhotkey = \n");
    assert_eq!((line, column), (2, 10));
    let (line, _, message) =
        broken(b"extension = \"10\"\n\n[connection]\nmode = \"carrier-pigeon\"\n");
    assert!((3..=4).contains(&line), "{line}");
    assert!(message.contains("carrier-pigeon"), "{message}");
    let (line, column, _) = broken(b"preview_secs = -1\n");
    assert_eq!((line, column), (1, 16));
    let (line, _, message) = broken(b"[dial]\ncountry = \"XX\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("XX"), "{message}");
    let (line, column, message) = broken(b"extension = \"1\"\nhotkey = \"\xff\"\n");
    assert_eq!((line, column), (2, 11));
    assert!(message.contains("UTF-8"), "{message}");
    let (line, _, _) = broken(b"extension = \"a\0b\"\n");
    assert_eq!(line, 1);
    broken(b"[connection]\nhost = \"x\"\n");
    broken(&[0xff; 64]);
}

#[test]
fn huge_files_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    let file = fs::File::create(&path).unwrap();
    file.set_len(MAX_SETTINGS_LEN + 1).unwrap();
    assert!(matches!(
        Settings::load(&path),
        Err(SettingsError::TooLarge { len, .. }) if len == MAX_SETTINGS_LEN + 1
    ));
}

#[test]
fn hostile_values_round_trip_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    let settings = Settings {
        extension: "10\r\nAction: Originate\0".to_owned(),
        hotkey: "ñ🔑\"'\\".repeat(10_000),
        ..sample()
    };
    settings.save(&path).unwrap();
    let loaded = Settings::load(&path).unwrap().unwrap();
    assert_eq!(loaded, settings);
    let kinds: Vec<_> = loaded.problems().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [ProblemKind::ExtensionInvalid, ProblemKind::HotkeyInvalid]
    );
}

#[test]
fn a_folder_in_the_way_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let result = Settings::load(dir.path());
    assert!(
        matches!(
            result,
            Err(SettingsError::Read { .. }) | Err(SettingsError::Parse { .. })
        ),
        "{result:?}"
    );
    let error = sample().save(dir.path()).unwrap_err();
    assert!(matches!(error, SettingsError::Write { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("check that the folder is writable")
    );
}

#[cfg(unix)]
#[test]
fn saved_files_are_private_and_replace_atomically() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new");
    let path = folder.join("settings.toml");
    sample().save(&path).unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&folder), 0o700);

    // A file made readable by others is replaced by a private one, not written in place.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let other_link = dir.path().join("hard-link");
    fs::hard_link(&path, &other_link).unwrap();
    let before = fs::read_to_string(&other_link).unwrap();
    Settings {
        extension: "11".to_owned(),
        ..sample()
    }
    .save(&path)
    .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::read_to_string(&other_link).unwrap(), before);
    assert_eq!(Settings::load(&path).unwrap().unwrap().extension, "11");
}

#[cfg(unix)]
#[test]
fn an_unwritable_folder_is_a_write_error_and_keeps_the_old_file() {
    use std::os::unix::fs::PermissionsExt;

    if is_root() {
        eprintln!("skipped: root ignores folder permissions");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    sample().save(&path).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
    let result = Settings::default().save(&path);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        matches!(result, Err(SettingsError::Write { .. })),
        "{result:?}"
    );
    assert_eq!(Settings::load(&path).unwrap(), Some(sample()));
}

/// Whether this process runs as root, which file permissions do not stop.
#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_a_read_error() {
    use std::os::unix::fs::PermissionsExt;

    if is_root() {
        eprintln!("skipped: root ignores file permissions");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    sample().save(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let error = Settings::load(&path).unwrap_err();
    assert!(matches!(error, SettingsError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("check that it is readable"));
}
