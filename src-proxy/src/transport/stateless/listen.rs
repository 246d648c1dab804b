//! What a 2025-era client gets from a session's GET stream and `resources/subscribe`, made from
//! the 2026-07-28 `subscriptions/listen`: after `notifications/initialized`, one long-lived listen
//! asks for the list-change notifications the server offers and for updates of the resources the
//! client subscribed to; a subscription change opens a new listen in place of the old. Its
//! notifications go to the client (the acknowledgement, which a 2025 client has no use for, does
//! not); when the stream ends, gracefully or not, it is opened again after a pause, with backoff
//! while it fails, and given up on when the server refuses it outright.

use super::{quoted, Inner, Reply};
use crate::transport::http::{backoff, pause, DEFAULT_RETRY};
use crate::transport::TransportError;
use http::header::HeaderMap;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// The listen that stands for the client's GET stream and resource subscriptions.
#[derive(Default)]
pub struct Listening {
    /// The client sent `notifications/initialized`: it is ready for server notifications.
    started: bool,
    /// Resources the client subscribed to.
    uris: BTreeSet<String>,
    /// Ends the listen running now.
    stop: Option<CancellationToken>,
    /// Told when the server acknowledges the listen.
    acknowledged: Option<oneshot::Sender<()>>,
}

impl Listening {
    /// The server acknowledged the running listen.
    pub fn acknowledge(&mut self) {
        if let Some(waiter) = self.acknowledged.take() {
            let _ = waiter.send(());
        }
    }

    /// Stops the running listen, if any.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.cancel();
        }
    }
}

/// What the client may change about its listen.
pub enum Change<'a> {
    Start,
    Subscribe(&'a str),
    Unsubscribe(&'a str),
}

impl Inner {
    /// Applies `change` and (re)opens the listen with what the client now wants. The returned
    /// receiver is told when the server has acknowledged it (dropped if no listen is needed).
    pub(super) fn relisten(self: &Arc<Self>, change: Change<'_>) -> oneshot::Receiver<()> {
        let (acknowledged, acknowledgement) = oneshot::channel();
        let filter = {
            let mut listening = self.listening.lock().expect("poisoned");
            match change {
                Change::Start => listening.started = true,
                Change::Subscribe(uri) => {
                    listening.uris.insert(uri.to_owned());
                }
                Change::Unsubscribe(uri) => {
                    listening.uris.remove(uri);
                }
            }
            if !listening.started {
                return acknowledgement;
            }
            listening.stop();
            let Some(filter) = self.filter(&listening.uris) else {
                return acknowledgement;
            };
            let stop = self.endpoint.shutdown.child_token();
            listening.stop = Some(stop.clone());
            listening.acknowledged = Some(acknowledged);
            (filter, stop)
        };
        tokio::spawn(Arc::clone(self).listen(filter.0, filter.1));
        acknowledgement
    }

    /// The notifications to ask for: each list change the server offers, and the subscribed
    /// resources where it offers subscriptions. `None` when that is nothing.
    fn filter(&self, uris: &BTreeSet<String>) -> Option<Value> {
        let discovered = self.discovered.lock().expect("poisoned");
        let capabilities: Value = discovered
            .as_deref()
            .and_then(|d| serde_json::from_str::<Value>(d.get()).ok())
            .map(|d| d["capabilities"].clone())
            .unwrap_or_default();
        let mut filter = serde_json::Map::new();
        for (kind, key) in
            [("tools", "toolsListChanged"), ("prompts", "promptsListChanged"), ("resources", "resourcesListChanged")]
        {
            if capabilities[kind]["listChanged"] == true {
                filter.insert(key.into(), true.into());
            }
        }
        if capabilities["resources"]["subscribe"] == true && !uris.is_empty() {
            filter.insert("resourceSubscriptions".into(), uris.iter().cloned().collect::<Vec<_>>().into());
        }
        (!filter.is_empty()).then_some(Value::Object(filter))
    }

    /// Keeps one listen open until `stop`.
    async fn listen(self: Arc<Self>, filter: Value, stop: CancellationToken) {
        let mut failures = 0;
        loop {
            let id = self.new_id();
            let request = self.client.read().expect("poisoned").listen_request(&id, &filter);
            let quoted_id = quoted(&id);
            let exchange = self.exchange(&request, "subscriptions/listen", HeaderMap::new(), quoted_id.as_bytes());
            let outcome = tokio::select! {
                outcome = exchange => outcome,
                () = stop.cancelled() => return,
            };
            match outcome {
                Ok(Reply::Answer(_)) => {
                    debug!("the server ended the subscription; listening again");
                    failures = 0;
                }
                Ok(Reply::Broken) => {
                    debug!("the subscription stream broke; listening again");
                    failures += 1;
                }
                Err(TransportError::ShuttingDown) => return,
                Err(TransportError::Status { status, .. })
                    if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS =>
                {
                    warn!(%status, "the server refuses subscriptions/listen; list changes will not be seen");
                    return;
                }
                Err(error) => {
                    debug!(%error, "subscriptions/listen failed; will retry");
                    failures += 1;
                }
            }
            if pause(backoff(failures).max(DEFAULT_RETRY), &stop).await.is_err() {
                return;
            }
        }
    }
}
