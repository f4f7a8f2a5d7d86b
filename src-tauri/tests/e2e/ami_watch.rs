//! Asterisk's side of an end-to-end test: every event a second AMI login receives, to check
//! what the app under test really made Asterisk do.

use std::sync::{Arc, Mutex};

use clickdial_ami::{Client as Ami, Config as AmiConfig, Event};

/// Every event Asterisk sends to a second AMI login, from its start.
pub struct AmiWatch {
    events: Arc<Mutex<Vec<Event>>>,
    _client: Ami,
    task: tokio::task::JoinHandle<()>,
}

impl AmiWatch {
    /// Logs in as `clickdial` on `port` and starts recording.
    pub async fn start(port: u16) -> AmiWatch {
        let config = AmiConfig::new(format!("127.0.0.1:{port}"), "clickdial", "clickdial-secret")
            .expect("an AMI config");
        let client = Ami::connect(config)
            .await
            .expect("the watcher logs in to Asterisk");
        let mut stream = client.events();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let task = tokio::spawn(async move {
            loop {
                match stream.recv().await {
                    Ok(event) => sink.lock().expect("events lock").push(event),
                    Err(clickdial_ami::EventError::Lagged(n)) => {
                        eprintln!("the AMI watcher missed {n} events");
                    }
                    Err(_) => return,
                }
            }
        });
        AmiWatch {
            events,
            _client: client,
            task,
        }
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("events lock").clone()
    }

    /// How many calls Asterisk has started towards the agent's phone: Originate of
    /// `Local/10@agents` makes one `Newchannel` for its `;1` half per call.
    pub fn agent_calls(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| {
                e.name() == "Newchannel"
                    && e.get("Channel")
                        .is_some_and(|c| c.starts_with("Local/10@agents-") && c.ends_with(";1"))
            })
            .count()
    }

    /// How many times Asterisk dialed the destination with exactly these digits.
    pub fn destination_dials(&self, digits: &str) -> usize {
        self.events()
            .iter()
            .filter(|e| {
                e.name() == "DialBegin"
                    && (e.get("DestExten") == Some(digits)
                        || e.get("DialString")
                            .is_some_and(|d| d.split(['/', '@']).any(|p| p == digits)))
            })
            .count()
    }

    /// The digits of every destination Asterisk dialed (for failure messages).
    pub fn summary(&self) -> String {
        self.events()
            .iter()
            .filter(|e| matches!(e.name(), "Newchannel" | "DialBegin" | "DialEnd" | "Hangup"))
            .map(|e| {
                format!(
                    "{} channel={:?} exten={:?} dest_exten={:?} dialstring={:?}",
                    e.name(),
                    e.get("Channel"),
                    e.get("Exten"),
                    e.get("DestExten"),
                    e.get("DialString")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for AmiWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
