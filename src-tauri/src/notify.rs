//! Desktop notifications for call progress: one notification per call, replaced in place as
//! the call moves on, with a Hang up (or Cancel) action while that can stop it.

use std::sync::{Arc, Mutex};

use notify_rust::{Notification, Timeout};

use crate::status::CallStatus;

/// What the notifier needs to act on a button press.
pub type OnAction = Arc<dyn Fn() + Send + Sync>;

/// Shows call progress as desktop notifications.
#[derive(Default)]
pub struct Notifier {
    /// The notification of the call being shown: call id, notification id, and whether a
    /// thread listens for its button.
    shown: Mutex<Option<(String, u32, bool)>>,
}

impl Notifier {
    /// Shows `status`, replacing the call's earlier notification; `action_label` is the
    /// button's text when the call can be stopped, and `on_action` runs when it is pressed.
    /// Fails when no notification service answers.
    pub fn show(
        &self,
        status: &CallStatus,
        title: &str,
        action_label: &str,
        on_action: OnAction,
    ) -> Result<(), notify_rust::error::Error> {
        let mut shown = self.shown.lock().expect("notifier lock");
        let (replaces, listening) = match shown.as_ref() {
            Some((call, id, listening)) if *call == status.id => (Some(*id), *listening),
            _ => (None, false),
        };
        let mut notification = Notification::new();
        let summary = if status.number.is_empty() {
            title.to_owned()
        } else {
            format!("{title} — {}", status.number)
        };
        notification
            .appname("clickdial")
            .summary(&summary)
            .body(&escape_markup(&status.text))
            .icon("call-start");
        if let Some(id) = replaces {
            notification.id(id);
        }
        if status.is_final {
            notification.timeout(Timeout::Milliseconds(6000));
        } else {
            notification.timeout(Timeout::Never);
        }
        if status.can_hangup {
            notification.action("hangup", action_label);
        }
        let handle = notification.show()?;
        let id = handle.id();
        let listen = status.can_hangup && !listening;
        *shown = Some((status.id.clone(), id, listening || listen));
        if listen {
            // Blocks until the button is pressed or the notification closes.
            std::thread::spawn(move || {
                handle.wait_for_action(|action| {
                    if action == "hangup" {
                        on_action();
                    }
                });
            });
        }
        Ok(())
    }
}

/// `text` safe in a notification body, which servers may read as markup (the body can hold
/// text from the clipboard).
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_cannot_carry_markup() {
        assert_eq!(
            escape_markup("No number in: <b>x</b> & <a href=\"y\">"),
            "No number in: &lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=\"y\"&gt;"
        );
    }
}
