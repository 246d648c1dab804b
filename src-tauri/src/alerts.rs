//! Telling the person when they are needed: a desktop notification when a client starts
//! waiting for a sign-in, and when a sign-in expires with no way to refresh it; and whether the
//! tray icon should ask for attention (while any server needs the person).

use crate::servers::ServerView;
use mcp_remote::status::SignInStatus;
use std::collections::HashMap;
use std::sync::Mutex;
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    ClientWaiting,
    Expired,
}

fn need(view: &ServerView) -> Option<Need> {
    match view.status {
        SignInStatus::NeedsSignIn { pending: Some(_), .. } if view.signing_in.is_none() => Some(Need::ClientWaiting),
        SignInStatus::NeedsSignIn { expired: true, .. } => Some(Need::Expired),
        _ => None,
    }
}

/// The notification for a need that has just arisen.
fn message(need: Need, name: &str) -> (String, String) {
    match need {
        Need::ClientWaiting => (
            format!("Sign in to {name}"),
            "An app is waiting to use this server. Open mcp-remote from the tray and choose Sign in.".into(),
        ),
        Need::Expired => (
            format!("Your sign-in to {name} expired"),
            "It cannot be renewed without you. Open mcp-remote from the tray and sign in again.".into(),
        ),
    }
}

#[derive(Default)]
pub struct Alerts {
    seen: Mutex<HashMap<String, Need>>,
}

impl Alerts {
    /// Notifies each need that is new since the last look; true while any server needs the person.
    pub fn observe<R: Runtime>(&self, app: &AppHandle<R>, views: &[ServerView]) -> bool {
        let now: HashMap<String, Need> =
            views.iter().filter_map(|view| need(view).map(|need| (view.entry.id.clone(), need))).collect();
        let mut seen = self.seen.lock().expect("poisoned");
        for view in views {
            let Some(&need) = now.get(&view.entry.id) else { continue };
            if seen.get(&view.entry.id) != Some(&need) {
                let (title, body) = message(need, &view.entry.name);
                if let Err(error) = app.notification().builder().title(title).body(body).show() {
                    eprintln!("mcp-remote-tray: cannot show a notification: {error}");
                }
            }
        }
        let attention = !now.is_empty();
        *seen = now;
        attention
    }
}
