//! The direct AMI path and the gateway path against the real Asterisk 22.

use std::time::Duration;

use clickdial_connect::{
    AmiTarget, CallEnd, CallProgress, EndReason, GatewayTarget, HangupError, Leg, Link, LinkState,
    ProbeError, Reachable, Target, probe,
};
use clickdial_gateway::app::App;
use clickdial_gateway::audit::AuditLog;
use clickdial_gateway::config::Config;
use clickdial_gateway::http::router;
use clickdial_gateway::pbx::{Pbx, client_config};
use clickdial_gateway::server;
use clickdial_gateway::token::TokenHash;
use clickdial_testsupport::{DIALPLAN, Pbx as Asterisk, manager_conf};

const NEEDS_ASTERISK: &str = "needs a real Asterisk";

/// Asterisk with the production-like dialplan and three accounts: `clickdial` (originate),
/// `hanger` (originate and hang up), `readonly` (no write rights).
fn asterisk() -> Asterisk {
    Asterisk::builder()
        .conf("extensions.conf", DIALPLAN)
        .conf(
            "manager.conf",
            &manager_conf(
                "",
                &[
                    ("clickdial", "call", "originate"),
                    ("hanger", "call", "originate,call"),
                    ("readonly", "call", ""),
                ],
            ),
        )
        .start()
        .expect(NEEDS_ASTERISK)
}

fn ami(pbx: &Asterisk, user: &str, extension: &str) -> AmiTarget {
    AmiTarget {
        host: "127.0.0.1".into(),
        port: pbx.ami_port(),
        username: user.into(),
        secret: format!("{user}-secret"),
        tls: false,
        channel: format!("Local/{extension}@agents"),
        context: "extensiones-locales".into(),
    }
}

async fn wait_up(link: &Link) {
    let mut state = link.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| *s == LinkState::Up),
    )
    .await
    .expect("the link comes up within 10 s")
    .unwrap();
}

/// Reads the call's progress until the agent's phone rings.
async fn until_agent_rings(call: &mut clickdial_connect::ActiveCall) {
    loop {
        match call.next().await {
            Some(CallProgress::AgentRinging) => return,
            Some(CallProgress::Ended(end)) => panic!("ended before ringing: {end:?}"),
            Some(_) => {}
            None => panic!("no progress"),
        }
    }
}

/// Asserts that the last of `rest` ends the call on the agent's side (a hang-up).
fn assert_agent_leg_ended(rest: &[CallProgress]) {
    assert!(
        matches!(
            rest.last(),
            Some(CallProgress::Ended(CallEnd {
                leg: Leg::Agent,
                ..
            }))
        ),
        "{rest:?}"
    );
}

/// Every step of a call, up to its end.
async fn steps(call: &mut clickdial_connect::ActiveCall) -> Vec<CallProgress> {
    let mut steps = Vec::new();
    while let Some(step) = tokio::time::timeout(Duration::from_secs(40), call.next())
        .await
        .expect("the call reports within 40 s")
    {
        steps.push(step);
    }
    steps
}

fn ended(leg: Leg, reason: EndReason) -> CallProgress {
    CallProgress::Ended(CallEnd { leg, reason })
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn test_connection_names_each_problem() {
    let pbx = asterisk();
    let ok = probe(&Target::Ami(ami(&pbx, "clickdial", "10"))).await;
    assert!(matches!(ok, Ok(Reachable::Asterisk { .. })), "{ok:?}");

    let mut wrong = ami(&pbx, "clickdial", "10");
    wrong.secret = "not-the-secret".into();
    let err = probe(&Target::Ami(wrong)).await.unwrap_err();
    assert_eq!(err.kind(), "bad_credentials", "{err}");

    let err = probe(&Target::Ami(ami(&pbx, "readonly", "10")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_allowed", "{err}");
    assert!(err.to_string().contains("write = originate"), "{err}");

    let mut http = ami(&pbx, "clickdial", "10");
    http.port = pbx.http_port();
    let err = probe(&Target::Ami(http)).await.unwrap_err();
    assert_eq!(err.kind(), "wrong_service", "{err}");

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut closed = ami(&pbx, "clickdial", "10");
    closed.port = free.local_addr().unwrap().port();
    drop(free);
    let err = probe(&Target::Ami(closed)).await.unwrap_err();
    assert!(matches!(err, ProbeError::Refused { .. }), "{err}");

    let mut nowhere = ami(&pbx, "clickdial", "10");
    nowhere.host = "pbx.invalid".into();
    let err = probe(&Target::Ami(nowhere)).await.unwrap_err();
    assert_eq!(err.kind(), "unreachable", "{err}");

    let mut tls = ami(&pbx, "clickdial", "10");
    tls.tls = true;
    let err = probe(&Target::Ami(tls)).await.unwrap_err();
    assert!(matches!(err.kind(), "tls" | "wrong_service"), "{err}");

    let mut injected = ami(&pbx, "clickdial", "10");
    injected.secret = "x\r\nAction: Originate".into();
    let err = probe(&Target::Ami(injected)).await.unwrap_err();
    assert_eq!(err.kind(), "invalid", "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn direct_calls_report_each_outcome() {
    let pbx = asterisk();
    let link = Link::open(Target::Ami(ami(&pbx, "clickdial", "10")));
    wait_up(&link).await;

    let mut call = link.dial("932009000").await.unwrap();
    assert_eq!(call.dialed(), "932009000");
    let answered = steps(&mut call).await;
    assert_eq!(
        answered,
        [
            // Local/10@agents answers at once: a real phone would ring first.
            CallProgress::Queued,
            CallProgress::AgentAnswered,
            CallProgress::DestinationRinging,
            CallProgress::Connected,
            ended(Leg::Destination, EndReason::Answered),
        ][..],
        "{answered:?}"
    );

    let mut busy = link.dial("90001").await.unwrap();
    let last = steps(&mut busy).await.pop();
    assert_eq!(last, Some(ended(Leg::Destination, EndReason::Busy)));

    let busy_agent = Link::open(Target::Ami(ami(&pbx, "clickdial", "20")));
    wait_up(&busy_agent).await;
    let mut call = busy_agent.dial("932009000").await.unwrap();
    let last = steps(&mut call).await.pop();
    assert_eq!(last, Some(ended(Leg::Agent, EndReason::Busy)));
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn hang_up_while_the_agents_phone_rings() {
    let pbx = asterisk();
    let link = Link::open(Target::Ami(ami(&pbx, "hanger", "19")));
    wait_up(&link).await;
    let mut call = link.dial("932009000").await.unwrap();
    let hangup = call.hangup_handle();
    until_agent_rings(&mut call).await;
    hangup.hangup().await.unwrap();
    let rest = steps(&mut call).await;
    assert_agent_leg_ended(&rest);
    assert_eq!(hangup.hangup().await, Err(HangupError::Gone));

    // The least-privilege account may originate but not hang up: said, not crashed.
    let plain = Link::open(Target::Ami(ami(&pbx, "clickdial", "19")));
    wait_up(&plain).await;
    let call = plain.dial("932009000").await.unwrap();
    let err = call.hangup_handle().hangup().await.unwrap_err();
    assert!(matches!(err, HangupError::NotAllowed { .. }), "{err}");
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn the_link_follows_asterisk_down_and_up() {
    let mut pbx = asterisk();
    let link = Link::open(Target::Ami(ami(&pbx, "clickdial", "10")));
    wait_up(&link).await;
    pbx.kill();
    let mut state = link.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| matches!(s, LinkState::Down { .. })),
    )
    .await
    .expect("the link notices within 10 s")
    .unwrap();
    let err = link.dial("932009000").await.unwrap_err();
    assert!(err.to_string().contains("nothing was dialed"), "{err}");
    pbx.restart().unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        state.wait_for(|s| *s == LinkState::Up),
    )
    .await
    .expect("the link comes back within 30 s")
    .unwrap();
    let mut call = link.dial("932009000").await.unwrap();
    let last = steps(&mut call).await.pop();
    assert_eq!(last, Some(ended(Leg::Destination, EndReason::Answered)));
}

/// A gateway in this process in front of `pbx`, with agent `ana` (extension 10).
/// A gateway for `pbx` logged in as AMI account `user`, with agents ana (10, answers) and
/// carl (19, rings until hung up).
async fn gateway(pbx: &Asterisk, dir: &tempfile::TempDir, user: &str) -> String {
    let config = format!(
        r#"
[http]
listen = "127.0.0.1:0"
[ami]
host = "127.0.0.1"
port = {}
username = "{user}"
secret = "{user}-secret"
channel = "Local/{{extension}}@agents"
context = "extensiones-locales"
[dial]
country = "ES"
internal_max_len = 5
[audit]
path = "{}"
[[agents]]
name = "ana"
extension = "10"
token_hash = "{}"
[[agents]]
name = "carl"
extension = "19"
token_hash = "{}"
"#,
        pbx.ami_port(),
        dir.path().join("audit.db").display(),
        TokenHash::of(ANA),
        TokenHash::of(CARL)
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config).unwrap();
    let config = Config::load(&path).unwrap();
    let audit = AuditLog::open(&config.audit.path).unwrap();
    let pbx = Pbx::start(config.ami.clone(), client_config(&config.ami).unwrap());
    let app = App::new(config, audit, pbx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(
        listener,
        None,
        router(app.clone()),
        std::future::pending(),
    ));
    for _ in 0..100 {
        if app.ready().is_ok() {
            return base;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway did not log in: {:?}", app.ready());
}

const ANA: &str = "tok-ana-connect-000000000000000000";
const CARL: &str = "tok-carl-connect-00000000000000000";

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn through_the_gateway() {
    let pbx = asterisk();
    let dir = tempfile::tempdir().unwrap();
    let url = gateway(&pbx, &dir, "clickdial").await;
    let target = |token: &str| {
        Target::Gateway(GatewayTarget {
            url: url.clone(),
            token: token.into(),
        })
    };
    assert_eq!(probe(&target(ANA)).await, Ok(Reachable::Gateway));
    let err = probe(&target("tok-wrong-00000000000000000000000"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "bad_credentials", "{err}");
    let not_gateway = Target::Gateway(GatewayTarget {
        url: format!("http://127.0.0.1:{}", pbx.http_port()),
        token: ANA.into(),
    });
    let err = probe(&not_gateway).await.unwrap_err();
    assert_eq!(err.kind(), "wrong_service", "{err}");
    let err = probe(&Target::Gateway(GatewayTarget {
        url: "ftp://x".into(),
        token: ANA.into(),
    }))
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid", "{err}");

    let link = Link::open(target(ANA));
    wait_up(&link).await;
    let mut call = link.dial("Tel. 93 200 90 00").await.unwrap();
    assert_eq!(call.dialed(), "932009000");
    let answered = steps(&mut call).await;
    assert_eq!(answered.first(), Some(&CallProgress::Queued));
    assert!(answered.contains(&CallProgress::Connected), "{answered:?}");
    assert_eq!(
        answered.last(),
        Some(&ended(Leg::Destination, EndReason::Answered))
    );

    let mut busy = link.dial("90001").await.unwrap();
    let last = steps(&mut busy).await.pop();
    assert_eq!(last, Some(ended(Leg::Destination, EndReason::Busy)));

    let err = link.dial("hello").await.unwrap_err();
    assert!(
        matches!(err, clickdial_connect::DialError::Refused { .. }),
        "{err}"
    );

    let stranger = Link::open(target("tok-wrong-00000000000000000000000"));
    let err = stranger.dial("932009000").await.unwrap_err();
    assert!(
        matches!(err, clickdial_connect::DialError::NotAllowed { .. }),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "needs a real Asterisk: set CLICKDIAL_PBX (see README)"]
async fn hang_up_through_the_gateway() {
    let pbx = asterisk();
    let dir = tempfile::tempdir().unwrap();
    let carl = |url: &str| {
        Link::open(Target::Gateway(GatewayTarget {
            url: url.to_owned(),
            token: CARL.into(),
        }))
    };
    // A gateway whose AMI account may hang up: Carl's ringing phone stops at once.
    let link = carl(&gateway(&pbx, &dir, "hanger").await);
    wait_up(&link).await;
    let mut call = link.dial("932009000").await.unwrap();
    let hangup = call.hangup_handle();
    until_agent_rings(&mut call).await;
    let asked = std::time::Instant::now();
    hangup.hangup().await.unwrap();
    let rest = steps(&mut call).await;
    assert_agent_leg_ended(&rest);
    // The gateway's ring timeout is 30 s: this end is the hang-up.
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(hangup.hangup().await, Err(HangupError::Gone));

    // A gateway on the least-privilege account says what its manager.conf lacks.
    let other = tempfile::tempdir().unwrap();
    let plain = carl(&gateway(&pbx, &other, "clickdial").await);
    wait_up(&plain).await;
    let call = plain.dial("932009000").await.unwrap();
    let err = call.hangup_handle().hangup().await.unwrap_err();
    match err {
        HangupError::NotAllowed { hint } => {
            assert!(hint.contains("write = originate,call"), "{hint}")
        }
        other => panic!("{other:?}"),
    }
}
