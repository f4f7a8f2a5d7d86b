//! The call history on disk: persistence, calls the app never saw end, damaged and foreign
//! files, newer schemas, permissions and several handles at once.

use std::fs;
use std::path::Path;

use clickdial_agent::{History, HistoryError, Outcome, Trigger};

#[test]
fn calls_persist_and_unfinished_ones_stay_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("history.sqlite3");
    let (done, open) = {
        let history = History::open(&path).unwrap();
        assert!(history.recovered().is_none());
        let done = history
            .record_start("+34 600 12 34 56", "0600123456", Trigger::Link)
            .unwrap();
        history.record_end(done, Outcome::Busy, None).unwrap();
        let open = history.record_start("612", "612", Trigger::Hotkey).unwrap();
        (done, open)
        // The app stops here, before the second call ends.
    };
    let history = History::open(&path).unwrap();
    assert!(history.recovered().is_none());
    let entries = history.search("", 10).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].id, open);
    assert_eq!(entries[0].outcome, None, "not turned into a lost call");
    assert_eq!(entries[1].id, done);
    assert_eq!(entries[1].outcome, Some(Outcome::Busy));
    // A late end (the app learned the outcome after a restart) is still recorded.
    history
        .record_end(
            open,
            Outcome::Lost {
                text: "app restarted".to_owned(),
            },
            None,
        )
        .unwrap();
    assert_eq!(history.search("restarted", 10).unwrap()[0].id, open);
}

#[test]
fn entries_serialize_for_the_ui() {
    let history = History::in_memory();
    let id = history
        .record_start("600 12 34 56", "600123456", Trigger::Clipboard)
        .unwrap();
    history
        .record_end(
            id,
            Outcome::Failed {
                text: "no route".to_owned(),
            },
            None,
        )
        .unwrap();
    let json = serde_json::to_value(history.get(id).unwrap().unwrap()).unwrap();
    assert_eq!(json["id"], id.0);
    assert_eq!(json["trigger"], "clipboard");
    assert_eq!(
        json["outcome"],
        serde_json::json!({"kind": "failed", "text": "no route"})
    );
    assert_eq!(json["talk_secs"], serde_json::Value::Null);
    assert!(json["started_at"].as_i64().unwrap() > 1_700_000_000);
}

/// The files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_that_is_no_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let garbage = b"this is not SQLite, it is a note the agent kept here\n".repeat(200);
    fs::write(&path, &garbage).unwrap();
    let history = History::open(&path).unwrap();
    let recovered = history.recovered().expect("a note about the damaged file");
    assert_eq!(
        fs::read(&recovered.moved_to).unwrap(),
        garbage,
        "nothing lost"
    );
    let moved_name = recovered
        .moved_to
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        moved_name.starts_with("history.sqlite3.corrupt-"),
        "{moved_name}"
    );
    assert!(
        moved_name["history.sqlite3.corrupt-".len()..]
            .parse::<u64>()
            .is_ok()
    );
    let shown = recovered.to_string();
    assert!(
        shown.contains(&*recovered.moved_to.to_string_lossy()),
        "{shown}"
    );
    assert!(shown.contains("new, empty history"), "{shown}");
    assert_eq!(history.search("", 10).unwrap(), []);
    history.record_start("1", "1", Trigger::Typed).unwrap();
    drop(history);
    assert!(
        History::open(&path).unwrap().recovered().is_none(),
        "the new file is fine"
    );
    assert!(names(dir.path()).iter().any(|n| n == &*moved_name));
}

#[test]
fn a_database_with_a_damaged_header_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let history = History::open(&path).unwrap();
        for i in 0..50 {
            history
                .record_start(&i.to_string(), "1", Trigger::Tray)
                .unwrap();
        }
    }
    let mut bytes = fs::read(&path).unwrap();
    bytes[..16].copy_from_slice(b"NOT A DATABASE!!");
    fs::write(&path, &bytes).unwrap();
    let history = History::open(&path).unwrap();
    assert!(history.recovered().is_some());
    assert_eq!(
        fs::read(&history.recovered().unwrap().moved_to).unwrap(),
        bytes
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    drop(History::open(&path).unwrap());
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = names(dir.path());
    match History::open(&path) {
        Err(error @ HistoryError::TooNew { found: 99, .. }) => {
            assert!(error.to_string().contains("update clickdial"), "{error}");
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert_eq!(names(dir.path()), before, "nothing moved aside");
}

#[test]
fn an_empty_file_becomes_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    fs::write(&path, b"").unwrap();
    let history = History::open(&path).unwrap();
    assert!(history.recovered().is_none());
    history.record_start("1", "1", Trigger::Typed).unwrap();
}

#[test]
fn a_folder_in_the_way_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = History::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, HistoryError::Sqlite(_) | HistoryError::Open { .. }),
        "{error:?}"
    );
    let blocker = dir.path().join("file");
    fs::write(&blocker, b"x").unwrap();
    let error = History::open(&blocker.join("history.sqlite3")).unwrap_err();
    assert!(matches!(error, HistoryError::Open { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("check that the folder is writable")
    );
}

#[cfg(unix)]
#[test]
fn the_history_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let history = History::open(&path).unwrap();
    history.record_start("1", "1", Trigger::Typed).unwrap();
    for name in names(dir.path()) {
        let mode = fs::metadata(dir.path().join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is readable by others: {mode:o}");
    }
}

#[test]
fn several_handles_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let path = path.clone();
            std::thread::spawn(move || {
                let history = History::open(&path).unwrap();
                for call in 0..50 {
                    let id = history
                        .record_start(&format!("+34 600 {thread} {call}"), "1", Trigger::Typed)
                        .unwrap();
                    history.record_end(id, Outcome::NoAnswer, None).unwrap();
                    history.search("600", 5).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let history = History::open(&path).unwrap();
    let entries = history.search("", usize::MAX).unwrap();
    assert_eq!(entries.len(), 200);
    assert!(entries.iter().all(|e| e.outcome == Some(Outcome::NoAnswer)));
    assert_eq!(history.search("+34 600 3 49", 10).unwrap().len(), 1);
}

#[test]
fn one_handle_sees_what_another_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let writer = History::open(&path).unwrap();
    let reader = History::open(&path).unwrap();
    let id = writer.record_start("5", "5", Trigger::Redial).unwrap();
    assert_eq!(reader.get(id).unwrap().unwrap().number, "5");
    assert!(reader.delete(id).unwrap());
    assert!(matches!(
        writer.record_end(id, Outcome::Answered, Some(1)),
        Err(HistoryError::NotFound(_))
    ));
}
