//! Asterisk killed and restarted under connected clients: they reconnect, the Originate in
//! flight fails, the tracked call ends as lost, and neither is ever sent again (counted by
//! Asterisk itself).

use std::time::Duration;

use clickdial_ami::{
    Action, Backoff, CallProgress, Client, Config, EndReason, Error, Originate, State, Value,
};
use clickdial_testsupport::{Pbx, manager_conf};

/// The default modules plus `func_global`, for the counter below.
const MODULES_CONF: &str = "\
[modules]
autoload = no
load = pbx_config.so
load = app_dial.so
load = func_global.so
load = bridge_simple.so
load = res_timing_timerfd.so
";

/// Agent 19 adds an `x` to the global ORIGINATIONS for every call it gets, then rings
/// forever.
const EXTENSIONS_CONF: &str = "\
[agents]
exten => 19,1,Set(GLOBAL(ORIGINATIONS)=${GLOBAL(ORIGINATIONS)}x)
 same => n,Ringing()
 same => n,Wait(120)
";

/// One `x` for every call that reached agent 19.
async fn originations(client: &Client) -> String {
    client
        .send(Action::named("Getvar").with("Variable", Value::from_static("GLOBAL(ORIGINATIONS)")))
        .await
        .expect("Getvar is answered")
        .get("Value")
        .unwrap_or_default()
        .to_owned()
}

async fn wait_for_state(client: &Client, what: &str, pred: impl FnMut(&State) -> bool) {
    let mut state = client.state();
    tokio::time::timeout(Duration::from_secs(15), state.wait_for(pred))
        .await
        .unwrap_or_else(|_| panic!("no {what}: {:?}", *client.state().borrow()))
        .expect("the client lives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn a_killed_asterisk_fails_the_call_in_flight_and_it_is_never_resent() {
    let mut pbx = Pbx::builder()
        .conf("modules.conf", MODULES_CONF)
        .conf("extensions.conf", EXTENSIONS_CONF)
        .conf(
            "manager.conf",
            &manager_conf("", &[("admin", "all", "all")]),
        )
        .start()
        .expect("Asterisk starts");
    let config = Config::new(pbx.ami_addr().to_string(), "admin", "admin-secret")
        .unwrap()
        .backoff(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
        });
    let client = Client::connect(config.clone()).await.unwrap();
    // Asterisk runs one session's actions one at a time, and an Originate without Async
    // holds its session until the call's outcome: the counter is read on a second one.
    let observer = Client::connect(config).await.unwrap();
    assert_eq!(originations(&observer).await, "");

    // Without Async the response waits for the agent, who never answers: it stays in flight.
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            let originate = Originate::extension(
                Value::from_static("Local/19@agents"),
                Value::from_static("agents"),
                Value::from_static("19"),
                1,
            )
            .timeout(Duration::from_secs(60))
            .asynchronous(false);
            client
                .send_timeout(originate.into(), Duration::from_secs(90))
                .await
        }
    });
    // And one with Async, followed as a call.
    let mut tracked = observer
        .originate(
            Originate::extension(
                Value::from_static("Local/19@agents"),
                Value::from_static("agents"),
                Value::from_static("19"),
                1,
            )
            .timeout(Duration::from_secs(60)),
        )
        .await
        .expect("the async Originate is queued");
    assert_eq!(tracked.next().await, Some(CallProgress::Queued));
    tokio::time::timeout(Duration::from_secs(10), async {
        while originations(&observer).await != "xx" {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both Originates reach agent 19");

    tokio::task::block_in_place(|| pbx.kill());
    let err = in_flight.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::Disconnected { action, .. } if action == "Originate"),
        "{err}"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), tracked.outcome())
        .await
        .expect("the tracked call ends with the connection");
    assert!(
        matches!(&end.reason, EndReason::Lost(why) if why.contains("connection was lost")),
        "{end:?}"
    );
    wait_for_state(&client, "disconnect", |s| {
        matches!(s, State::Disconnected { .. } | State::Connecting { .. })
    })
    .await;
    let refused = client.ping().await.unwrap_err();
    assert!(
        matches!(refused, Error::NotConnected { .. } | Error::Timeout { .. }),
        "{refused}"
    );

    tokio::task::block_in_place(|| pbx.restart()).expect("Asterisk restarts");
    wait_for_state(&client, "reconnect", |s| {
        matches!(s, State::Connected { .. })
    })
    .await;
    wait_for_state(&observer, "reconnect", |s| {
        matches!(s, State::Connected { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        originations(&observer).await,
        "",
        "the restarted Asterisk never got either Originate again"
    );
    let channels = client
        .send_list(Action::named("CoreShowChannels"))
        .await
        .unwrap();
    assert!(channels.events.is_empty(), "{channels:?}");
}
