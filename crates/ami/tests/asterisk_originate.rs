//! Originate and call tracking against a real Asterisk 22, through the test-support
//! dialplan that dials destinations with `Dial()` as a production one does.

use std::time::Duration;

use clickdial_ami::{
    CallEnd, CallProgress, Client, Config, EndReason, Error, Leg, Originate, Value,
};
use clickdial_testsupport::{DIALPLAN, Pbx, manager_conf};

fn pbx() -> Pbx {
    Pbx::builder()
        .conf("extensions.conf", DIALPLAN)
        .conf(
            "manager.conf",
            &manager_conf(
                "",
                &[
                    ("clickdial", "call", "originate"),
                    ("readonly", "call", ""),
                    ("blind", "", "originate"),
                    ("admin", "all", "all"),
                ],
            ),
        )
        .start()
        .expect("Asterisk starts")
}

async fn client(pbx: &Pbx, user: &str) -> Client {
    let config = Config::new(pbx.ami_addr().to_string(), user, &format!("{user}-secret")).unwrap();
    Client::connect(config).await.expect("login")
}

fn v(text: &str) -> Value {
    Value::new(text).unwrap()
}

fn click_to_dial(agent: &str, destination: &str) -> Originate {
    Originate::extension(
        v(&format!("Local/{agent}@agents")),
        v("extensiones-locales"),
        v(destination),
        1,
    )
}

/// Every step of the call, up to and including its end (at most 30 s).
async fn steps(client: &Client, originate: Originate) -> Vec<CallProgress> {
    let mut call = client.originate(originate).await.expect("Originate queued");
    let mut steps = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(step) = call.next().await {
            steps.push(step);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the call ends; so far {steps:?}"));
    steps
}

fn ended(leg: Leg, reason: EndReason) -> CallProgress {
    CallProgress::Ended(CallEnd { leg, reason })
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn an_answering_agent_and_destination_connect() {
    let pbx = pbx();
    let client = client(&pbx, "clickdial").await;
    let (national, international) = tokio::join!(
        steps(&client, click_to_dial("10", "93200900")),
        steps(&client, click_to_dial("11", "+34932009000")),
    );
    for steps in [national, international] {
        assert_eq!(
            steps,
            [
                CallProgress::Queued,
                CallProgress::AgentAnswered,
                CallProgress::DestinationRinging,
                CallProgress::Connected,
                ended(Leg::Destination, EndReason::Answered),
            ]
        );
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn agents_that_are_busy_or_never_answer() {
    let pbx = pbx();
    let client = client(&pbx, "clickdial").await;
    assert_eq!(
        steps(&client, click_to_dial("20", "93200900")).await,
        [CallProgress::Queued, ended(Leg::Agent, EndReason::Busy)]
    );
    assert_eq!(
        steps(
            &client,
            click_to_dial("19", "93200900").timeout(Duration::from_millis(1500))
        )
        .await,
        [
            CallProgress::Queued,
            CallProgress::AgentRinging,
            ended(Leg::Agent, EndReason::NoAnswer)
        ]
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn destinations_that_are_busy_or_congested() {
    let pbx = pbx();
    let client = client(&pbx, "clickdial").await;
    let (busy, congested) = tokio::join!(
        steps(&client, click_to_dial("11", "90001")),
        steps(&client, click_to_dial("12", "90011")),
    );
    let dialed = [
        CallProgress::Queued,
        CallProgress::AgentAnswered,
        CallProgress::DestinationRinging,
    ];
    assert_eq!(busy[..3], dialed);
    assert_eq!(busy[3..], [ended(Leg::Destination, EndReason::Busy)]);
    assert_eq!(congested[..3], dialed);
    assert_eq!(
        congested[3..],
        [ended(Leg::Destination, EndReason::Congestion)]
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn unknown_extensions_and_contexts_are_refused_or_fail() {
    let pbx = pbx();
    let client = client(&pbx, "clickdial").await;
    for originate in [
        click_to_dial("10", "1"),
        Originate::extension(v("Local/10@agents"), v("no-such-context"), v("100"), 1),
    ] {
        let err = client.originate(originate).await.unwrap_err();
        assert!(
            matches!(&err, Error::Refused { action, message }
                if action == "Originate" && message == "Extension does not exist."),
            "{err}"
        );
    }
    let steps = steps(&client, click_to_dial("99", "93200900")).await;
    match &steps[..] {
        [
            CallProgress::Queued,
            CallProgress::Ended(CallEnd {
                leg: Leg::Agent,
                reason: EndReason::Failed { text, .. },
            }),
        ] => assert!(text.starts_with("Asterisk could not call"), "{text}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn an_account_without_originate_gets_permission_denied() {
    let pbx = pbx();
    let client = client(&pbx, "readonly").await;
    let err = client
        .originate(click_to_dial("10", "93200900"))
        .await
        .unwrap_err();
    match &err {
        Error::PermissionDenied { user, action, .. } => {
            assert_eq!((user.as_str(), action.as_str()), ("readonly", "Originate"));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("add `write = originate`"), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn every_originate_field_reaches_the_channels() {
    let pbx = pbx();
    let client = client(&pbx, "admin").await;
    let mut events = client
        .events()
        .filter(|e| e.get("Uniqueid").is_some_and(|u| u.starts_with("fields-")));
    let originate = Originate::application(v("Local/10@agents"), v("Wait"), v("1"))
        .timeout(Duration::from_secs(5))
        .caller_id(v("\"Click, dial\" <932009000>"))
        .variable("CD_NOTE", "a,b=c")
        .unwrap()
        .variable("CD_AGENT", "10")
        .unwrap()
        .account(v("sales"))
        .codecs(&[v("ulaw"), v("alaw")])
        .early_media(false)
        .channel_id(v("fields-1"))
        .other_channel_id(v("fields-2"));
    let call = client.originate(originate).await.unwrap();
    assert_eq!(call.channel_id(), "fields-1");
    let mut channels = Vec::new();
    let mut variables = Vec::new();
    let mut caller_ids = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while channels.len() < 2 || variables.len() < 4 || caller_ids.is_empty() {
            let e = events.recv().await.unwrap();
            if e.name() == "NewAccountCode" {
                channels.push((
                    e.get("Uniqueid").unwrap().to_owned(),
                    e.get("AccountCode").unwrap().to_owned(),
                ));
            } else if e.name() == "NewCallerid" && e.get("Uniqueid") == Some("fields-1") {
                caller_ids.push((
                    e.get("CallerIDName").unwrap().to_owned(),
                    e.get("CallerIDNum").unwrap().to_owned(),
                ));
            } else if e.name() == "VarSet"
                && e.get("Variable").is_some_and(|n| n.starts_with("CD_"))
            {
                variables.push((
                    e.get("Uniqueid").unwrap().to_owned(),
                    e.get("Variable").unwrap().to_owned(),
                    e.get("Value").unwrap().to_owned(),
                ));
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("accounts {channels:?}, variables {variables:?}, caller ids {caller_ids:?}")
    });
    assert_eq!(
        caller_ids[0],
        ("Click, dial".to_owned(), "932009000".to_owned())
    );
    channels.sort();
    assert_eq!(
        channels,
        [
            ("fields-1".to_owned(), "sales".to_owned()),
            ("fields-2".to_owned(), "sales".to_owned())
        ]
    );
    variables.sort();
    let expected = |id: &str| {
        [
            (id.to_owned(), "CD_AGENT".to_owned(), "10".to_owned()),
            (id.to_owned(), "CD_NOTE".to_owned(), "a,b=c".to_owned()),
        ]
    };
    assert_eq!(
        variables,
        [expected("fields-1"), expected("fields-2")].concat()
    );
    let end = call.outcome().await;
    assert_eq!(end.reason, EndReason::Answered, "{end:?}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn an_account_that_cannot_read_call_events_is_told_so() {
    let pbx = pbx();
    let config = Config::new(pbx.ami_addr().to_string(), "blind", "blind-secret")
        .unwrap()
        .action_timeout(Duration::from_secs(1));
    let client = Client::connect(config).await.unwrap();
    let steps = steps(
        &client,
        click_to_dial("10", "93200900").timeout(Duration::from_secs(1)),
    )
    .await;
    match &steps[..] {
        [
            CallProgress::Queued,
            CallProgress::Ended(CallEnd {
                reason: EndReason::Lost(why),
                ..
            }),
        ] => assert!(why.contains("`read = call`"), "{why}"),
        other => panic!("{other:?}"),
    }
}
