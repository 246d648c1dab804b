//! The sign-ins this app runs: which are in progress (with the page's link, to copy or open
//! again, and a way to cancel), and how the last one of each server ended, with its steps, for
//! the window's card and its "last sign-in" log. The flow itself is the engine's.

use crate::problem::Problem;
use mcp_remote::auth::OpenPage;
use mcp_remote::store::unix_now;
use reqwest::Url;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a sign-in the tray starts waits for the person: long enough for a password
/// manager, a second factor and a consent screen.
pub const WAIT: Duration = Duration::from_secs(300);

/// A sign-in in progress, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub started_at: u64,
    /// The sign-in page, once it has been opened.
    pub url: Option<String>,
    /// Seconds the sign-in waits in all.
    pub wait_seconds: u64,
}

/// How a sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    SignedIn,
    Cancelled,
    Failed { problem: Problem },
}

/// One step of a sign-in, for the log view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at: u64,
    pub text: String,
}

/// The last sign-in of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastSignIn {
    pub finished_at: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub steps: Vec<Step>,
}

struct Running {
    progress: Progress,
    cancel: Option<oneshot::Sender<()>>,
    open: Option<OpenPage>,
    steps: Vec<Step>,
}

#[derive(Default)]
pub struct SignIns {
    running: Mutex<HashMap<String, Running>>,
    last: Mutex<HashMap<String, LastSignIn>>,
}

/// Where a sign-in page is, without its query (which carries the `state` and the challenge).
fn shown(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

impl SignIns {
    /// Starts tracking a sign-in of `id`; `None` when one is already running. The receiver
    /// fires when the person cancels.
    pub fn begin(&self, id: &str, how: &str) -> Option<oneshot::Receiver<()>> {
        let mut running = self.running.lock().expect("poisoned");
        if running.contains_key(id) {
            return None;
        }
        let (cancel, cancelled) = oneshot::channel();
        let now = unix_now();
        running.insert(
            id.to_string(),
            Running {
                progress: Progress { started_at: now, url: None, wait_seconds: WAIT.as_secs() },
                cancel: Some(cancel),
                open: None,
                steps: vec![Step { at: now, text: format!("Sign-in started ({how})") }],
            },
        );
        Some(cancelled)
    }

    /// The sign-in page of `id` was opened at `url` with `open` (kept to open it again).
    pub fn opened(&self, id: &str, url: &Url, open: OpenPage) {
        if let Some(run) = self.running.lock().expect("poisoned").get_mut(id) {
            run.steps.push(Step { at: unix_now(), text: format!("Sign-in page opened: {}", shown(url)) });
            run.progress.url = Some(url.to_string());
            run.open = Some(open);
        }
    }

    /// Records a step of the sign-in of `id`.
    pub fn step(&self, id: &str, text: impl Into<String>) {
        if let Some(run) = self.running.lock().expect("poisoned").get_mut(id) {
            run.steps.push(Step { at: unix_now(), text: text.into() });
        }
    }

    pub fn finish(&self, id: &str, outcome: Outcome) {
        let Some(run) = self.running.lock().expect("poisoned").remove(id) else {
            return;
        };
        let mut steps = run.steps;
        let text = match &outcome {
            Outcome::SignedIn => "Signed in".to_string(),
            Outcome::Cancelled => "Cancelled".to_string(),
            Outcome::Failed { problem } => match &problem.detail {
                Some(detail) => format!("Failed: {detail}"),
                None => format!("Failed: {}", problem.message),
            },
        };
        let finished_at = unix_now();
        steps.push(Step { at: finished_at, text });
        self.last.lock().expect("poisoned").insert(id.to_string(), LastSignIn { finished_at, outcome, steps });
    }

    /// Cancels the sign-in of `id`; false when none runs.
    pub fn cancel(&self, id: &str) -> bool {
        let cancel = self.running.lock().expect("poisoned").get_mut(id).and_then(|run| run.cancel.take());
        cancel.is_some_and(|cancel| cancel.send(()).is_ok())
    }

    pub fn progress(&self, id: &str) -> Option<Progress> {
        self.running.lock().expect("poisoned").get(id).map(|run| run.progress.clone())
    }

    /// The page of the running sign-in and the way it was opened, to open it again.
    pub fn page(&self, id: &str) -> Option<(Url, OpenPage)> {
        let running = self.running.lock().expect("poisoned");
        let run = running.get(id)?;
        Some((Url::parse(run.progress.url.as_deref()?).ok()?, run.open.clone()?))
    }

    pub fn last(&self, id: &str) -> Option<LastSignIn> {
        self.last.lock().expect("poisoned").get(id).cloned()
    }

    /// Forgets how the last sign-in of `id` ended (its tokens were reset, or it was removed).
    pub fn forget(&self, id: &str) {
        self.last.lock().expect("poisoned").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_sign_in_runs_once_and_is_cancelled_with_its_steps_kept() {
        let sign_ins = SignIns::default();
        let mut cancelled = sign_ins.begin("a", "system browser").unwrap();
        assert!(sign_ins.begin("a", "system browser").is_none(), "a second sign-in of the same server started");
        let open: OpenPage = Arc::new(|_| Ok(()));
        let url = Url::parse("https://as.example.com/authorize?state=secret-state&code_challenge=c").unwrap();
        sign_ins.opened("a", &url, open);
        assert_eq!(sign_ins.progress("a").unwrap().url.as_deref(), Some(url.as_str()));
        assert_eq!(sign_ins.page("a").unwrap().0, url);
        assert!(cancelled.try_recv().is_err());
        assert!(sign_ins.cancel("a"));
        assert!(cancelled.try_recv().is_ok());
        sign_ins.finish("a", Outcome::Cancelled);
        assert!(sign_ins.progress("a").is_none());
        let last = sign_ins.last("a").unwrap();
        let texts: Vec<&str> = last.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Sign-in started (system browser)", "Sign-in page opened: https://as.example.com/authorize", "Cancelled"]
        );
        assert!(!texts.iter().any(|t| t.contains("secret-state")), "the log shows the state");
        assert!(sign_ins.begin("a", "system browser").is_some(), "cannot sign in again after a cancel");
        sign_ins.forget("a");
        assert!(sign_ins.last("a").is_none());
    }
}
