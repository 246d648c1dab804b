//! The standalone GET stream of Streamable HTTP, on which the server sends requests and
//! notifications outside any POST. It is opened after `notifications/initialized`, reconnected
//! after the server's `retry:` when it ends and with backoff while it fails, and given up on when
//! the server says it offers none.

use super::{Inner, StreamableHttp};
use crate::transport::body::{self, deliver_each};
use crate::transport::http::{backoff, pause, DEFAULT_RETRY};
use crate::transport::sse::SseParser;
use crate::transport::TransportError;
use reqwest::StatusCode;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

impl StreamableHttp {
    /// Opens (or reopens) the standalone GET stream for server-initiated messages. The returned
    /// future resolves once the server has answered the first GET (or it failed).
    pub(super) fn open_server_stream(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let token = self.inner.endpoint.shutdown.child_token();
        if let Some(previous) = self.inner.server_stream.lock().expect("poisoned").replace(token.clone()) {
            previous.cancel();
        }
        let (opened, answered) = oneshot::channel();
        tokio::spawn(Arc::clone(&self.inner).run_server_stream(token, opened));
        async move {
            let _ = answered.await;
        }
    }

    pub(super) fn stop_server_stream(&self) {
        if let Some(token) = self.inner.server_stream.lock().expect("poisoned").take() {
            token.cancel();
        }
    }
}

impl Inner {
    /// Keeps the standalone GET stream open until `token` is cancelled: reconnects after the
    /// server's `retry:` when a stream ends, with exponential backoff while it fails (a 401
    /// included: the next POST refreshes the token). Stops for good on other 4xx such as 405 or
    /// 409 (no stream offered, or one already open), and on an expired session, which the next
    /// POST re-creates. Signals `first_answer` once.
    async fn run_server_stream(self: Arc<Self>, token: CancellationToken, first_answer: oneshot::Sender<()>) {
        let mut first_answer = Some(first_answer);
        let mut parser = SseParser::new();
        let mut failures: u32 = 0;
        loop {
            let session = self.session();
            let opened = tokio::select! {
                opened = self.open_get(parser.last_event_id(), &session) => opened,
                () = token.cancelled() => return,
            };
            if let Some(first_answer) = first_answer.take() {
                let _ = first_answer.send(());
            }
            match opened {
                Ok(response) => {
                    debug!("server stream open");
                    parser.restart();
                    let mut delivered = 0usize;
                    let pumped = tokio::select! {
                        pumped = body::pump(response, &mut parser, self.sink.room(), |event| {
                            if event.event_type.is_none() {
                                delivered += deliver_each(&*self.sink, event.data, event.id, |_| {});
                            }
                            false
                        }) => pumped,
                        () = token.cancelled() => return,
                    };
                    if let Err(error) = pumped {
                        debug!(%error, "server stream broke");
                    }
                    failures = if delivered > 0 { 0 } else { failures + 1 };
                }
                // 405: no stream offered; 409: one is open already; other 4xx: a server that
                // does not expect this GET. Retrying would not change its mind.
                Err(TransportError::Status { status, .. })
                    if status.is_client_error()
                        && status != StatusCode::REQUEST_TIMEOUT
                        && status != StatusCode::TOO_MANY_REQUESTS =>
                {
                    debug!(%status, "the server offers no separate GET stream");
                    return;
                }
                Err(error @ TransportError::SessionExpired { .. }) => {
                    debug!(%error, "server stream closed");
                    return;
                }
                // A token that expired: a POST will refresh it; retry with backoff until then.
                Err(error @ TransportError::Unauthorized { .. }) => {
                    debug!(%error, "server stream refused; will retry after sign-in");
                    failures += 1;
                }
                Err(TransportError::ShuttingDown) => return,
                Err(error @ TransportError::InvalidResponse(_)) => {
                    debug!(%error, "the server's GET answer is not an event stream");
                    return;
                }
                Err(error) => {
                    warn!(%error, "server stream failed; will retry");
                    failures += 1;
                }
            }
            let hinted = parser.retry().unwrap_or(DEFAULT_RETRY);
            let delay = if failures == 0 { hinted } else { backoff(failures).max(hinted) };
            if pause(delay, &token).await.is_err() {
                return;
            }
        }
    }
}
