//! `Config::dialing()` driven through `clickdial_ami::Client`: the destination is reached
//! with `Dial()`, so the call tracker sees the destination ring, connect and end, and the
//! `Hangup` action ends a call mid-ringing.

use std::time::Duration;

use clickdial_ami::{
    Action, CallEnd, CallProgress, Client, Config as ClientConfig, EndReason, Leg, Originate, Value,
};
use clickdial_sandbox::{Config, Sandbox};

/// Fast enough that a 20 s hold takes 0.2 s.
const SPEED: f64 = 100.0;

fn v(text: &str) -> Value {
    Value::new(text).unwrap()
}

async fn client(sandbox: &Sandbox, user: &str) -> Client {
    let config = ClientConfig::new(
        sandbox.local_addr().to_string(),
        user,
        &format!("{user}-secret"),
    )
    .unwrap();
    Client::connect(config).await.expect("login")
}

/// Every progress step of a call from `Local/{agent}@agents` to `exten`.
async fn progress(sandbox: &Sandbox, agent: &str, exten: &str) -> Vec<CallProgress> {
    let client = client(sandbox, "clickdial").await;
    let originate = Originate::extension(
        v(&format!("Local/{agent}@agents")),
        v("extensiones-locales"),
        v(exten),
        1,
    );
    let mut call = client.originate(originate).await.unwrap();
    let mut steps = Vec::new();
    while let Ok(Some(step)) = tokio::time::timeout(Duration::from_secs(5), call.next()).await {
        steps.push(step);
    }
    steps
}

fn ended(leg: Leg, reason: EndReason) -> CallProgress {
    CallProgress::Ended(CallEnd { leg, reason })
}

#[tokio::test]
async fn a_dialed_destination_rings_connects_and_ends() {
    let sandbox = Sandbox::start(Config::dialing().speed(SPEED))
        .await
        .unwrap();
    let (answered, plus, busy, congested, unanswered) = tokio::join!(
        progress(&sandbox, "10", "93200900"),
        progress(&sandbox, "11", "+34932009000"),
        progress(&sandbox, "12", "90001"),
        progress(&sandbox, "13", "90011"),
        progress(&sandbox, "14", "90021"),
    );
    let dialed = |end| {
        vec![
            CallProgress::Queued,
            CallProgress::AgentAnswered,
            CallProgress::DestinationRinging,
            end,
        ]
    };
    let connected = vec![
        CallProgress::Queued,
        CallProgress::AgentAnswered,
        CallProgress::DestinationRinging,
        CallProgress::Connected,
        ended(Leg::Destination, EndReason::Answered),
    ];
    assert_eq!(answered, connected);
    assert_eq!(plus, connected);
    assert_eq!(busy, dialed(ended(Leg::Destination, EndReason::Busy)));
    assert_eq!(
        congested,
        dialed(ended(Leg::Destination, EndReason::Congestion))
    );
    assert_eq!(
        unanswered,
        dialed(ended(Leg::Destination, EndReason::NoAnswer))
    );
}

#[tokio::test]
async fn agents_that_ring_or_are_busy_end_on_the_agent_leg() {
    let sandbox = Sandbox::start(Config::dialing().speed(SPEED))
        .await
        .unwrap();
    let busy = progress(&sandbox, "20", "93200900").await;
    assert_eq!(
        busy,
        [CallProgress::Queued, ended(Leg::Agent, EndReason::Busy)]
    );
}

#[tokio::test]
async fn a_hangup_while_the_agent_rings_ends_the_call() {
    let sandbox = Sandbox::start(Config::dialing()).await.unwrap();
    let operator = client(&sandbox, "operator").await;
    let originate = Originate::extension(
        v("Local/19@agents"),
        v("extensiones-locales"),
        v("93200900"),
        1,
    );
    let mut call = operator.originate(originate).await.unwrap();
    assert_eq!(call.next().await, Some(CallProgress::Queued));
    assert_eq!(call.next().await, Some(CallProgress::AgentRinging));
    let hangup = Action::named("Hangup").with("Channel", v(call.channel_id()));
    let response = operator.send(hangup).await.unwrap();
    assert_eq!(response.get("Message"), Some("Channel Hungup"));
    let end = tokio::time::timeout(Duration::from_secs(2), call.next())
        .await
        .expect("the call ends at once");
    assert!(
        matches!(
            end,
            Some(CallProgress::Ended(CallEnd {
                leg: Leg::Agent,
                reason: EndReason::Failed { .. }
            }))
        ),
        "{end:?}"
    );
    let again = operator
        .send(Action::named("Hangup").with("Channel", v(call.channel_id())))
        .await;
    assert!(again.is_err(), "the channel is gone: {again:?}");
}

#[tokio::test]
async fn a_hangup_while_dialing_cancels_the_dial() {
    let sandbox = Sandbox::start(Config::dialing()).await.unwrap();
    let operator = client(&sandbox, "operator").await;
    let originate = Originate::extension(
        v("Local/10@agents"),
        v("extensiones-locales"),
        v("90021"),
        1,
    );
    let mut call = operator.originate(originate).await.unwrap();
    for expected in [
        CallProgress::Queued,
        CallProgress::AgentAnswered,
        CallProgress::DestinationRinging,
    ] {
        assert_eq!(call.next().await, Some(expected));
    }
    let regex = Action::named("Hangup").with("Channel", v("/^Local/10@agents-.*;1$/"));
    let list = operator.send_list(regex).await.unwrap();
    assert_eq!(list.events.len(), 1);
    let end = tokio::time::timeout(Duration::from_secs(2), call.next())
        .await
        .expect("the call ends at once");
    assert!(matches!(end, Some(CallProgress::Ended(_))), "{end:?}");
}
