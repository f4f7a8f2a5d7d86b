//! Desktop notifications for call progress. Where notifications follow the XDG specification
//! (Linux): one notification per call, replaced in place as the call moves on, with a Hang up
//! (or Cancel) action while that can stop it. Elsewhere (Windows, macOS) a notification has
//! neither, so the call window follows the call and a notification tells only its end.

use std::sync::Arc;

use notify_rust::Notification;

use crate::status::CallStatus;

/// Whether notifications are replaced in place and carry a Hang up button here: only where
/// they follow the XDG specification.
pub const INTERACTIVE: bool = cfg!(all(unix, not(target_os = "macos")));

/// What the notifier needs to act on a button press.
pub type OnAction = Arc<dyn Fn() + Send + Sync>;

/// Shows call progress as desktop notifications.
#[derive(Default)]
pub struct Notifier {
    /// The notification of the call being shown: call id, notification id, and whether a
    /// thread listens for its button.
    #[cfg(all(unix, not(target_os = "macos")))]
    shown: std::sync::Mutex<Option<(String, u32, bool)>>,
}

/// The summary line: the app and the number.
fn summary(status: &CallStatus, title: &str) -> String {
    if status.number.is_empty() {
        title.to_owned()
    } else {
        format!("{title} — {}", status.number)
    }
}

impl Notifier {
    /// Shows `status`. Without [`INTERACTIVE`] notifications it is a notification of its own,
    /// and `action_label` and `on_action` are not used. Fails when no notification service
    /// answers.
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    pub fn show(
        &self,
        status: &CallStatus,
        title: &str,
        _action_label: &str,
        _on_action: OnAction,
    ) -> Result<(), notify_rust::error::Error> {
        Notification::new()
            .appname("clickdial")
            .summary(&summary(status, title))
            .body(&status.text)
            .show()?;
        Ok(())
    }

    /// Shows `status`, replacing the call's earlier notification; `action_label` is the
    /// button's text when the call can be stopped, and `on_action` runs when it is pressed.
    /// Fails when no notification service answers.
    #[cfg(all(unix, not(target_os = "macos")))]
    pub fn show(
        &self,
        status: &CallStatus,
        title: &str,
        action_label: &str,
        on_action: OnAction,
    ) -> Result<(), notify_rust::error::Error> {
        use notify_rust::Timeout;
        let mut shown = self.shown.lock().expect("notifier lock");
        let (replaces, listening) = match shown.as_ref() {
            Some((call, id, listening)) if *call == status.id => (Some(*id), *listening),
            _ => (None, false),
        };
        let mut notification = Notification::new();
        notification
            .appname("clickdial")
            .summary(&summary(status, title))
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
#[cfg(all(unix, not(target_os = "macos")))]
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(all(test, unix, not(target_os = "macos")))]
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
