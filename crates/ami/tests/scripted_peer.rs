//! Faults a real Asterisk cannot produce on demand, from scripted peers: a tokio listener
//! in the test writes exact bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clickdial_ami::{
    Action, Auth, Backoff, Client, CodecError, Config, ConnectError, Error, State,
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// One action as the peer read it: its headers in order.
type Headers = Vec<(String, String)>;

/// Reads one action; `None` at end of stream.
async fn read_action(reader: &mut (impl AsyncBufRead + Unpin)) -> Option<Headers> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Some(headers);
        }
        let (name, value) = line.split_once(": ").expect("a header line");
        headers.push((name.to_owned(), value.to_owned()));
    }
}

fn get<'a>(headers: &'a Headers, name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

/// Greets and accepts a plaintext login; returns the connection.
async fn accept_login(listener: &TcpListener) -> BufReader<TcpStream> {
    let (mut stream, _) = listener.accept().await.unwrap();
    stream.write_all(BANNER).await.unwrap();
    let mut reader = BufReader::new(stream);
    let login = read_action(&mut reader).await.unwrap();
    assert_eq!(get(&login, "Action"), "Login");
    let answer = format!(
        "Response: Success\r\nActionID: {}\r\nMessage: Authentication accepted\r\n\r\n",
        get(&login, "ActionID")
    );
    reader.get_mut().write_all(answer.as_bytes()).await.unwrap();
    reader
}

async fn listener() -> (TcpListener, Config) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config::new(listener.local_addr().unwrap().to_string(), "u", "s")
        .unwrap()
        .auth(Auth::Plaintext)
        .connect_timeout(Duration::from_millis(500))
        .action_timeout(Duration::from_millis(500));
    (listener, config)
}

#[tokio::test]
async fn a_peer_that_is_not_ami_is_named_so() {
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream
            .write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let err = Client::connect(config).await.unwrap_err();
    assert!(matches!(err, ConnectError::NotAmi { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not an Asterisk Manager Interface"),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_peer_times_out_and_a_closing_one_is_reported() {
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let (_silent, _) = listener.accept().await.unwrap();
        let (closing, _) = listener.accept().await.unwrap();
        drop(closing);
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let err = Client::connect(config.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Timeout {
                stage: "sending its banner",
                ..
            }
        ),
        "{err}"
    );
    let err = Client::connect(config).await.unwrap_err();
    assert!(matches!(err, ConnectError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn old_style_command_output_is_read() {
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let command = read_action(&mut peer).await.unwrap();
        let answer = format!(
            "Response: Follows\r\nPrivilege: Command\r\nActionID: {}\r\n\
             Name/username: peers\n\nAsterisk 1.8.32\n--END COMMAND--\r\n\r\n",
            get(&command, "ActionID")
        );
        peer.get_mut().write_all(answer.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let client = Client::connect(config).await.unwrap();
    let output = client.command("core show version").await.unwrap();
    assert_eq!(output, ["Name/username: peers", "", "Asterisk 1.8.32"]);
}

#[tokio::test]
async fn a_peer_that_stalls_mid_message_times_out_and_is_dropped_by_keepalive() {
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let ping = read_action(&mut peer).await.unwrap();
        let half = format!(
            "Response: Success\r\nActionID: {}\r\nPi",
            get(&ping, "ActionID")
        );
        peer.get_mut().write_all(half.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let client = Client::connect(config.keepalive(Duration::from_millis(300)))
        .await
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let mut state = client.state();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, State::Disconnected { .. })),
    )
    .await
    .expect("the unanswered keepalive drops the connection")
    .unwrap()
    .clone();
    let State::Disconnected { reason, .. } = state else {
        unreachable!()
    };
    assert!(reason.contains("keepalive Ping"), "{reason}");
}

#[tokio::test]
async fn a_socket_cut_mid_response_fails_the_request_which_is_never_resent() {
    let (listener, config) = listener().await;
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let originate = read_action(&mut peer).await.unwrap();
        assert_eq!(get(&originate, "Action"), "Originate");
        counter.fetch_add(1, Ordering::SeqCst);
        let cut = format!(
            "Response: Success\r\nActionID: {}\r\nMessage: Orig",
            get(&originate, "ActionID")
        );
        peer.get_mut().write_all(cut.as_bytes()).await.unwrap();
        drop(peer);
        let mut again = accept_login(&listener).await;
        while let Some(action) = read_action(&mut again).await {
            if get(&action, "Action") == "Originate" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            let answer = format!(
                "Response: Success\r\nActionID: {}\r\nPing: Pong\r\n\r\n",
                get(&action, "ActionID")
            );
            again.get_mut().write_all(answer.as_bytes()).await.unwrap();
        }
    });
    let client = Client::connect(config.backoff(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
    }))
    .await
    .unwrap();
    let err = client
        .send(Action::named("Originate").with("Async", true))
        .await
        .unwrap_err();
    match &err {
        Error::Disconnected { action, reason } => {
            assert_eq!(action, "Originate");
            assert!(
                reason.starts_with("the AMI connection was closed in the middle of a message"),
                "{err}"
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("not re-sent"), "{err}");
    let mut state = client.state();
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, State::Connected { .. })),
    )
    .await
    .expect("the client reconnects")
    .unwrap();
    client.ping().await.expect("the new connection serves");
    assert_eq!(
        received.load(Ordering::SeqCst),
        1,
        "the Originate was sent once"
    );
}

#[tokio::test]
async fn oversized_input_drops_the_connection_with_a_typed_reason() {
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let mut event = b"Event: Huge\r\nValue: ".to_vec();
        event.extend(std::iter::repeat_n(b'x', 100_000));
        peer.get_mut().write_all(&event).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let client = Client::connect(config.limits(clickdial_ami::Limits {
        max_line_length: 1024,
        ..Default::default()
    }))
    .await
    .unwrap();
    let mut state = client.state();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, State::Disconnected { .. })),
    )
    .await
    .expect("the connection is dropped")
    .unwrap()
    .clone();
    assert!(
        matches!(&state, State::Disconnected { reason, .. }
            if *reason == CodecError::LineTooLong { limit: 1024 }.to_string()),
        "{state:?}"
    );
}

#[tokio::test]
async fn dropping_the_last_handle_logs_off_and_logging_off_while_disconnected_stops() {
    let (listener, config) = listener().await;
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let action = read_action(&mut peer).await.unwrap();
        let _ = seen_tx.send(get(&action, "Action").to_owned());
        drop(peer);
        // The second client's connection is cut at once.
        let second = accept_login(&listener).await;
        drop(second);
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let first = Client::connect(config.clone()).await.unwrap();
    let clone = first.clone();
    drop(first);
    drop(clone);
    let seen = tokio::time::timeout(Duration::from_secs(5), seen_rx)
        .await
        .expect("the peer hears from the dropped client")
        .unwrap();
    assert_eq!(seen, "Logoff");

    let second = Client::connect(config.backoff(Backoff {
        initial: Duration::from_secs(60),
        max: Duration::from_secs(60),
    }))
    .await
    .unwrap();
    let mut state = second.state();
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, State::Disconnected { .. })),
    )
    .await
    .expect("the cut is noticed")
    .unwrap();
    second
        .logoff()
        .await
        .expect("logging off while disconnected");
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| *s == State::Closed),
    )
    .await
    .expect("no more reconnecting")
    .unwrap();
}

#[tokio::test]
async fn actions_sent_together_are_each_answered_in_any_order() {
    const ACTIONS: usize = 200;
    let (listener, config) = listener().await;
    tokio::spawn(async move {
        let mut peer = accept_login(&listener).await;
        let mut actions = Vec::new();
        while actions.len() < ACTIONS {
            actions.push(read_action(&mut peer).await.unwrap());
        }
        // Answered last first, each naming what its action carried.
        let answers: String = actions
            .iter()
            .rev()
            .map(|a| {
                format!(
                    "Response: Success\r\nActionID: {}\r\nMessage: {}\r\n\r\n",
                    get(a, "ActionID"),
                    get(a, "Exten")
                )
            })
            .collect();
        peer.get_mut().write_all(answers.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let client = Client::connect(config).await.unwrap();
    let sends = (0..ACTIONS).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let exten = clickdial_ami::Value::new(format!("{i}")).unwrap();
            let answer = client
                .send(Action::named("ExtensionState").with("Exten", exten))
                .await
                .unwrap();
            (i, answer.get("Message").unwrap().to_owned())
        })
    });
    for send in sends.collect::<Vec<_>>() {
        let (i, message) = send.await.unwrap();
        assert_eq!(message, i.to_string());
    }
}

/// A peer that accepts every Originate, tells the test each one's `ChannelId` as it arrives,
/// and writes whatever the test sends it (events) in order with its answers.
async fn originate_peer(
    listener: TcpListener,
) -> (
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::sync::mpsc::UnboundedSender<String>,
) {
    let (originated_tx, originated) = tokio::sync::mpsc::unbounded_channel();
    let (writes, mut to_write) = tokio::sync::mpsc::unbounded_channel::<String>();
    let answers = writes.clone();
    tokio::spawn(async move {
        let peer = accept_login(&listener).await;
        let (read, mut write) = peer.into_inner().into_split();
        tokio::spawn(async move {
            while let Some(text) = to_write.recv().await {
                if write.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let mut read = BufReader::new(read);
        while let Some(action) = read_action(&mut read).await {
            if get(&action, "Action") == "Originate" {
                originated_tx
                    .send(get(&action, "ChannelId").to_owned())
                    .unwrap();
            }
            let answer = format!(
                "Response: Success\r\nActionID: {}\r\n\r\n",
                get(&action, "ActionID")
            );
            if answers.send(answer).is_err() {
                return;
            }
        }
    });
    (originated, writes)
}

fn originate_to(exten: &str) -> clickdial_ami::Originate {
    let v = |s: &str| clickdial_ami::Value::new(s).unwrap();
    clickdial_ami::Originate::extension(v("Local/10@agents"), v("default"), v(exten), 1)
}

#[tokio::test]
async fn originates_beyond_the_window_wait_for_a_channel_in_order_or_are_not_sent() {
    let (listener, config) = listener().await;
    let (mut originated, events) = originate_peer(listener).await;
    let client = Client::connect(config.originate_window(2)).await.unwrap();
    let sent = |originated: &mut tokio::sync::mpsc::UnboundedReceiver<String>| {
        std::iter::from_fn(|| originated.try_recv().ok()).collect::<Vec<_>>()
    };

    let first = client.originate(originate_to("1")).await.unwrap();
    let second = client.originate(originate_to("2")).await.unwrap();
    let third = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .originate_within(originate_to("3"), Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sent(&mut originated),
        [first.channel_id(), second.channel_id()],
        "only the window's two calls were sent"
    );
    let refused = client
        .originate_within(originate_to("4"), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Backlogged { window: 2, .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("was not sent"), "{refused}");

    // The first call's channel appears: the waiting third call goes out, not the refused one.
    let first_id = first.channel_id().to_owned();
    tokio::spawn(first.outcome());
    events
        .send(format!(
            "Event: Newchannel\r\nChannel: Local/10@agents-1;1\r\nUniqueid: {first_id}\r\n\r\n"
        ))
        .unwrap();
    let third = tokio::time::timeout(Duration::from_secs(1), third)
        .await
        .expect("the third call got its turn")
        .unwrap()
        .unwrap();
    assert_eq!(sent(&mut originated), [third.channel_id()]);

    // A dropped call gives its place up at once.
    drop(second);
    let fifth = client.originate(originate_to("5")).await.unwrap();
    assert_eq!(sent(&mut originated), [fifth.channel_id()]);

    // A call followed without any event of its own (manager.conf filters them, say) gives
    // its place up after a while, so calls behind it are not stuck.
    tokio::spawn(third.outcome());
    let waited = std::time::Instant::now();
    let sixth = client
        .originate_within(originate_to("6"), Duration::from_secs(10))
        .await
        .unwrap();
    let waited = waited.elapsed();
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(5)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(sent(&mut originated), [sixth.channel_id()]);
    drop(fifth);
}
