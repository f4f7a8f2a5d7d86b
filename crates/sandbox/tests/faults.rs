//! The fault knobs, each seen through what it was made for: `clickdial_ami::Client` or a
//! raw socket must observe exactly the injected fault.

use std::time::{Duration, Instant};

use clickdial_ami::{
    CallEnd, CallProgress, Client, Config as ClientConfig, ConnectError, EndReason, Error, Leg,
    Originate, State, Value,
};
use clickdial_sandbox::{Config, EventFlood, Faults, Interruption, Point, Sandbox};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn v(text: &str) -> Value {
    Value::new(text).unwrap()
}

fn client_config(sandbox: &Sandbox) -> ClientConfig {
    ClientConfig::new(
        sandbox.local_addr().to_string(),
        "clickdial",
        "clickdial-secret",
    )
    .unwrap()
    .connect_timeout(Duration::from_secs(3))
    .action_timeout(Duration::from_secs(2))
}

async fn sandbox(faults: Faults) -> Sandbox {
    Sandbox::start(Config::default().speed(20.0).faults(faults))
        .await
        .unwrap()
}

fn click_to_dial(agent: &str) -> Originate {
    Originate::extension(
        v(&format!("Local/{agent}@agents")),
        v("extensiones-locales"),
        v("93200900"),
        1,
    )
}

/// Everything a raw connection receives after sending `sent`, until the sandbox closes it
/// or two seconds pass.
async fn raw(sandbox: &Sandbox, sent: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(sandbox.local_addr()).await.unwrap();
    stream.write_all(sent.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut received)).await;
    received
}

const LOGIN: &str =
    "Action: Login\r\nActionID: 1\r\nUsername: clickdial\r\nSecret: clickdial-secret\r\n\r\n";

#[tokio::test]
async fn a_demo_call_runs_end_to_end_and_sped_up() {
    let sandbox = sandbox(Faults::default()).await;
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let started = Instant::now();
    let mut call = client.originate(click_to_dial("10")).await.unwrap();
    let mut steps = Vec::new();
    while let Some(step) = call.next().await {
        steps.push(step);
    }
    assert_eq!(
        steps,
        [
            CallProgress::Queued,
            CallProgress::AgentAnswered,
            CallProgress::Ended(CallEnd {
                leg: Leg::Agent,
                reason: EndReason::Answered
            })
        ]
    );
    // The 20 s hold at speed 20.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn latency_delays_every_response() {
    let sandbox = sandbox(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    })
    .await;
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let started = Instant::now();
    client.ping().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_connection_drops_after_n_bytes_even_mid_line() {
    let sandbox = sandbox(Faults {
        drop_after_bytes: Some(40),
        ..Faults::default()
    })
    .await;
    let received = raw(&sandbox, LOGIN).await;
    assert_eq!(
        received,
        b"Asterisk Call Manager/11.0.0\r\nResponse: ",
        "{:?}",
        String::from_utf8_lossy(&received)
    );
    let err = Client::connect(client_config(&sandbox)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Protocol { .. } | ConnectError::Closed { .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_connection_dropped_at_connect_has_no_banner() {
    let sandbox = sandbox(Faults::default().interrupt(Point::Connect, Interruption::Drop)).await;
    let err = Client::connect(client_config(&sandbox)).await.unwrap_err();
    assert!(
        matches!(err, ConnectError::Closed { stage, .. } if stage == "waiting for its banner"),
        "{err}"
    );
}

#[tokio::test]
async fn a_connection_dropped_after_the_originate_is_queued_loses_the_call() {
    let sandbox = sandbox(
        Faults::default().interrupt(Point::AfterResponse("Originate".into()), Interruption::Drop),
    )
    .await;
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let call = client.originate(click_to_dial("10")).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), call.outcome())
        .await
        .unwrap();
    assert!(matches!(end.reason, EndReason::Lost(_)), "{end:?}");
}

#[tokio::test]
async fn a_stalled_peer_keeps_the_connection_open_and_silent() {
    let sandbox =
        sandbox(Faults::default().interrupt(Point::Action("Ping".into()), Interruption::Stall))
            .await;
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(matches!(*client.state().borrow(), State::Connected { .. }));
}

#[tokio::test]
async fn a_login_can_be_stalled_or_dropped() {
    let stalled = sandbox(Faults::default().interrupt(Point::Login, Interruption::Stall)).await;
    let config = client_config(&stalled).connect_timeout(Duration::from_secs(1));
    let err = Client::connect(config).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Timeout {
                stage: "the login",
                ..
            }
        ),
        "{err}"
    );
    let dropped = sandbox(Faults::default().interrupt(Point::Login, Interruption::Drop)).await;
    let err = Client::connect(client_config(&dropped)).await.unwrap_err();
    assert!(matches!(err, ConnectError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn garbage_follows_the_login_response() {
    let sandbox = sandbox(Faults {
        garbage_after_login: Some(b"\x00\xffnot AMI at all".to_vec()),
        ..Faults::default()
    })
    .await;
    let received = raw(&sandbox, LOGIN).await;
    assert!(
        received.ends_with(b"Message: Authentication accepted\r\n\r\n\x00\xffnot AMI at all"),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn bare_lf_output_still_speaks_ami() {
    let sandbox = sandbox(Faults {
        bare_lf: true,
        ..Faults::default()
    })
    .await;
    let received = raw(&sandbox, &format!("{LOGIN}Action: Logoff\r\n\r\n")).await;
    assert_eq!(
        String::from_utf8(received).unwrap(),
        "Asterisk Call Manager/11.0.0\nResponse: Success\nActionID: 1\n\
         Message: Authentication accepted\n\nResponse: Goodbye\nMessage: Thanks for all the fish.\n\n"
    );
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    client.ping().await.unwrap();
}

#[tokio::test]
async fn refused_logins_can_be_lifted_for_the_next_connection() {
    let sandbox = sandbox(Faults {
        refuse_logins: true,
        ..Faults::default()
    })
    .await;
    let err = Client::connect(client_config(&sandbox)).await.unwrap_err();
    assert!(
        matches!(&err, ConnectError::LoginRefused { message, .. } if message == "Authentication failed"),
        "{err}"
    );
    sandbox.set_faults(Faults::default());
    Client::connect(client_config(&sandbox)).await.unwrap();
}

#[tokio::test]
async fn a_slow_event_flood_reaches_a_logged_in_client() {
    let sandbox = sandbox(Faults {
        event_flood: Some(EventFlood {
            count: 30,
            interval: Duration::from_millis(20),
        }),
        ..Faults::default()
    })
    .await;
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let mut events = client.events().named(["Newstate"]);
    let mut received = 0;
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
        received += 1;
    }
    // The subscription starts after the login, so the first few may come before it.
    assert!((20..=30).contains(&received), "{received}");
}

#[tokio::test]
async fn a_flood_to_a_peer_that_does_not_read_waits_for_it() {
    let sandbox = sandbox(Faults {
        event_flood: Some(EventFlood {
            count: 0,
            interval: Duration::from_micros(10),
        }),
        ..Faults::default()
    })
    .await;
    let mut stream = TcpStream::connect(sandbox.local_addr()).await.unwrap();
    stream.write_all(LOGIN.as_bytes()).await.unwrap();
    // Let the socket buffers fill: the sandbox must block on writing, not fail.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    while total < 4 * 1024 * 1024 {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the sandbox closed a slow reader's connection");
        total += n;
    }
}

#[tokio::test]
async fn stopping_the_sandbox_disconnects_its_clients() {
    let sandbox = sandbox(Faults::default()).await;
    let addr = sandbox.local_addr();
    let client = Client::connect(client_config(&sandbox)).await.unwrap();
    let mut state = client.state();
    sandbox.stop().await;
    tokio::time::timeout(
        Duration::from_secs(3),
        state.wait_for(|s| !matches!(s, State::Connected { .. })),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}
