//! The client against a real Asterisk 22: logins that work and logins that are refused,
//! actions, event lists, commands, events, keepalive and logoff.

use std::time::Duration;

use clickdial_ami::{Action, Auth, Client, Config, ConnectError, Error, State, Value};
use clickdial_testsupport::Pbx;

/// The default accounts plus `admin`, which may run everything (Command, lists), and
/// `elsewhere`, which may only log in from another address.
fn manager_conf() -> String {
    let accounts = [("clickdial", "call", "originate"), ("admin", "all", "all")];
    clickdial_testsupport::manager_conf("", &accounts)
        + "\n[elsewhere]\nsecret = elsewhere-secret\ndeny = 0.0.0.0/0.0.0.0\n\
           permit = 192.0.2.1/255.255.255.255\nread = call\nwrite = originate\n"
}

fn pbx() -> Pbx {
    Pbx::builder()
        .conf("manager.conf", &manager_conf())
        .start()
        .expect("Asterisk starts")
}

fn config(pbx: &Pbx, user: &str, secret: &str) -> Config {
    Config::new(pbx.ami_addr().to_string(), user, secret).unwrap()
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn logs_in_with_md5_and_with_plaintext() {
    let pbx = pbx();
    for auth in [Auth::Md5, Auth::Plaintext] {
        let client = Client::connect(config(&pbx, "clickdial", "clickdial-secret").auth(auth))
            .await
            .unwrap_or_else(|e| panic!("{auth:?} login: {e}"));
        assert_eq!(client.banner().version(), "11.0.0");
        assert!(matches!(*client.state().borrow(), State::Connected { .. }));
        client.ping().await.expect("Ping is answered");
        client.logoff().await.expect("Logoff is answered");
        let mut state = client.state();
        tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| *s == State::Closed),
        )
        .await
        .expect("the client closes after Logoff")
        .unwrap();
        assert!(matches!(client.ping().await, Err(Error::Closed)));
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn a_wrong_secret_is_refused_with_the_user_named() {
    let pbx = pbx();
    for auth in [Auth::Md5, Auth::Plaintext] {
        let err = Client::connect(config(&pbx, "clickdial", "wrong").auth(auth))
            .await
            .expect_err("a wrong secret is refused");
        match &err {
            ConnectError::LoginRefused { user, message } => {
                assert_eq!(user, "clickdial");
                assert_eq!(message, "Authentication failed");
            }
            other => panic!("{auth:?}: {other}"),
        }
        assert!(
            err.to_string()
                .starts_with("AMI login refused for user 'clickdial': Authentication failed"),
            "{err}"
        );
    }
    let err = Client::connect(config(&pbx, "nobody", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::LoginRefused { .. }), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn an_address_outside_the_acl_is_refused() {
    let pbx = pbx();
    let err = Client::connect(config(&pbx, "elsewhere", "elsewhere-secret"))
        .await
        .expect_err("127.0.0.1 is not permitted for 'elsewhere'");
    assert!(
        matches!(&err, ConnectError::LoginRefused { user, .. } if user == "elsewhere"),
        "{err}"
    );
    assert!(err.to_string().contains("permit/deny"), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn nothing_listening_is_unreachable() {
    let mut pbx = pbx();
    let addr = pbx.ami_addr();
    pbx.kill();
    let err = Client::connect(Config::new(addr.to_string(), "clickdial", "x").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn commands_return_their_output_lines() {
    let pbx = pbx();
    let client = Client::connect(config(&pbx, "admin", "admin-secret"))
        .await
        .unwrap();
    let version = client.command("core show version").await.unwrap();
    assert!(version[0].starts_with("Asterisk 22."), "{version:?}");
    let dialplan = client.command("dialplan show agents").await.unwrap();
    assert!(
        dialplan.iter().any(|l| l.contains("Busy(5)")),
        "{dialplan:?}"
    );
    let err = client.command("no such command").await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { message, .. } if message.starts_with("No such command 'no such command'")),
        "{err}"
    );
    let err = client
        .command("core show version\r\nAction: Logoff")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");

    let limited = Client::connect(config(&pbx, "clickdial", "clickdial-secret"))
        .await
        .unwrap();
    let err = limited.command("core show version").await.unwrap_err();
    assert!(
        matches!(&err, Error::PermissionDenied { user, .. } if user == "clickdial"),
        "{err}"
    );
    assert!(err.to_string().contains("write = command"), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn event_lists_are_collected_until_complete() {
    let pbx = pbx();
    let client = Client::connect(config(&pbx, "admin", "admin-secret"))
        .await
        .unwrap();
    let empty = client
        .send_list(Action::named("CoreShowChannels"))
        .await
        .unwrap();
    assert_eq!(empty.response.get("EventList"), Some("start"));
    assert!(empty.events.is_empty());
    let complete = empty.complete.expect("a closing event");
    assert_eq!(complete.event(), Some("CoreShowChannelsComplete"));
    assert_eq!(complete.get("ListItems"), Some("0"));

    let mut events = client.events().named(["Newstate"]);
    client
        .send(
            Action::named("Originate")
                .with("Channel", Value::new("Local/10@agents").unwrap())
                .with("Application", Value::from_static("Wait"))
                .with("Data", Value::from_static("10"))
                .with("Async", true),
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("the call comes up")
        .unwrap();
    let list = client
        .send_list(Action::named("CoreShowChannels"))
        .await
        .unwrap();
    assert_eq!(
        list.events.len(),
        2,
        "both halves of the Local channel: {:?}",
        list.events
    );
    assert!(
        list.events
            .iter()
            .all(|e| e.event() == Some("CoreShowChannel"))
    );
    assert_eq!(list.complete.unwrap().get("ListItems"), Some("2"));
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn events_reach_every_subscriber_filtered() {
    let pbx = pbx();
    let admin = Client::connect(config(&pbx, "admin", "admin-secret"))
        .await
        .unwrap();
    let mut all = admin.events();
    let mut auth = admin
        .events()
        .named(["successfulauth"])
        .filter(|e| e.get("AccountID") == Some("clickdial"));
    let other = Client::connect(config(&pbx, "clickdial", "clickdial-secret"))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), auth.recv())
        .await
        .expect("the second login is reported")
        .unwrap();
    assert_eq!(event.get("AccountID"), Some("clickdial"));
    let mut seen = Vec::new();
    while seen.last() != Some(&event) {
        seen.push(all.recv().await.unwrap());
    }
    assert!(seen.len() > 1, "the unfiltered stream has more: {seen:?}");
    other.logoff().await.unwrap();
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn keepalive_pings_keep_an_idle_connection_up() {
    let pbx = pbx();
    let client = Client::connect(
        config(&pbx, "clickdial", "clickdial-secret").keepalive(Duration::from_millis(250)),
    )
    .await
    .unwrap();
    let state = client.state();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !state.has_changed().unwrap(),
        "answered Pings keep the state at {:?}",
        *state.borrow()
    );
    client.ping().await.unwrap();
}
