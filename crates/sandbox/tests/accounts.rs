//! Accounts and their classes: events only reach accounts that may read `call`, and the
//! actions the sandbox does not simulate answer as the crate docs say.

use std::time::Duration;

use clickdial_ami::{Action, Client, Config as ClientConfig, Error, Name, Originate, Value};
use clickdial_sandbox::{Account, Config, Sandbox};

fn v(text: &str) -> Value {
    Value::new(text).unwrap()
}

async fn connect(sandbox: &Sandbox, user: &str) -> Client {
    let config = ClientConfig::new(
        sandbox.local_addr().to_string(),
        user,
        &format!("{user}-secret"),
    )
    .unwrap();
    Client::connect(config).await.unwrap()
}

#[tokio::test]
async fn only_accounts_reading_call_receive_call_events() {
    let mut config = Config::default().speed(50.0);
    config.accounts.push(Account::new(
        "blind",
        "blind-secret",
        &["system"],
        &["originate"],
    ));
    config
        .accounts
        .push(Account::new("admin", "admin-secret", &["all"], &["all"]));
    let sandbox = Sandbox::start(config).await.unwrap();
    let blind = connect(&sandbox, "blind").await;
    let admin = connect(&sandbox, "admin").await;
    let mut blind_events = blind.events();
    let mut admin_events = admin.events();
    let busy = Originate::extension(
        v("Local/20@agents"),
        v("extensiones-locales"),
        v("93200900"),
        1,
    );
    blind.send(Action::from(busy)).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(2), admin_events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.name(), "Newchannel");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(blind_events.try_recv(), Ok(None));
}

#[tokio::test]
async fn unsimulated_actions_are_unknown_to_accounts_allowed_to_run_them() {
    let mut config = Config::default();
    config
        .accounts
        .push(Account::new("admin", "admin-secret", &["all"], &["all"]));
    let sandbox = Sandbox::start(config).await.unwrap();
    let admin = connect(&sandbox, "admin").await;
    let err = admin
        .send(Action::new(Name::new("Status").unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Refused { message, .. } if message.starts_with("Invalid/unknown command: Status")),
        "{err}"
    );
    let commands = admin.send(Action::named("ListCommands")).await.unwrap();
    assert_eq!(
        commands.get("Originate"),
        Some("Originate a call.  (Priv: originate,all)")
    );
    let readonly = connect(&sandbox, "readonly").await;
    let commands = readonly.send(Action::named("ListCommands")).await.unwrap();
    assert_eq!(commands.get("Originate"), None);
    assert_eq!(
        commands.get("Ping"),
        Some("Keepalive command.  (Priv: <none>)")
    );
}
