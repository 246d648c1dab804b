//! One POST exchange of Streamable HTTP: the client message goes out, and whatever comes back in
//! the response (a JSON body, an event stream, or 202) is delivered; a response stream that breaks
//! before its answers is resumed with GET + `Last-Event-ID` after the server's `retry:` delay.

use super::Inner;
use crate::jsonrpc::{self, ClientMessage, Method};
use crate::transport::body::{self, deliver_each, Outcome, Received};
use crate::transport::http::{backoff, pause, ACCEPT_POST, APPLICATION_JSON, DEFAULT_RETRY};
use crate::transport::sse::SseParser;
use crate::transport::{Delivered, Sink, TransportError};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use tracing::{debug, warn};

use super::session::Session;
use super::MCP_SESSION_ID;

/// Resumption attempts for one response stream before its requests are answered with an error.
const MAX_RESUME_ATTEMPTS: u32 = 3;

impl Inner {
    /// POSTs `message`, delivers what comes back to `sink`, and returns how many of its requests
    /// were left unanswered when the exchange ended.
    pub(super) async fn exchange(&self, message: &ClientMessage, sink: &dyn Sink) -> Result<usize, TransportError> {
        let initializing = message.method == Method::Initialize;
        // A new handshake starts a new session: the old id and version must not be sent with it.
        let session = if initializing { Session::default() } else { self.session() };
        let mut headers = self.headers(&session, ACCEPT_POST);
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        let used = headers.get(AUTHORIZATION).cloned();
        let request = self.endpoint.http.post(self.endpoint.url.clone()).headers(headers).body(message.body.clone());
        let response = self.endpoint.cancellable(request.send()).await??;
        if !response.status().is_success() {
            return Err(self.failure(response, &session, used).await);
        }
        if initializing {
            self.start_session(response.headers().get(MCP_SESSION_ID).cloned());
        }
        let mut exchange =
            Exchange { inner: self, sink, message, unanswered: message.request_ids.as_slice().len(), invalid: false };
        if response.status() == StatusCode::ACCEPTED {
            return Ok(exchange.unanswered);
        }
        if body::is_event_stream(&response) {
            exchange.read_event_stream(response, &session).await?;
        } else {
            let body = self.endpoint.cancellable(body::read_body(response, sink.room())).await??;
            exchange.take_body(body);
        }
        if exchange.invalid && exchange.unanswered > 0 {
            return Err(TransportError::InvalidResponse("the body is not a JSON-RPC message".into()));
        }
        Ok(exchange.unanswered)
    }
}

/// The state of one POST exchange while its answers arrive.
struct Exchange<'a> {
    inner: &'a Inner,
    sink: &'a dyn Sink,
    message: &'a ClientMessage,
    unanswered: usize,
    invalid: bool,
}

impl Exchange<'_> {
    fn take(&mut self, message: Received, event_id: Option<&str>) {
        let initializing = self.message.method == Method::Initialize;
        let message = match message {
            // The negotiated version is read from the initialize answer, however large it is.
            Received::Spooled(spooled) if initializing => match spooled.into_bytes() {
                Ok(bytes) => Received::InMemory(bytes),
                Err(error) => {
                    warn!(%error, "cannot read back a spooled answer");
                    self.invalid = true;
                    return;
                }
            },
            message => message,
        };
        let ids = self.message.request_ids.as_slice();
        let inner = self.inner;
        let mut answered = 0;
        let mut invalid = false;
        deliver_each(self.sink, message, event_id, |outcome| match outcome {
            Outcome::Before(message) if initializing => {
                if let Some(version) = jsonrpc::negotiated_protocol_version(message) {
                    inner.set_protocol_version(&version);
                }
            }
            Outcome::Before(_) => {}
            Outcome::After(Delivered::Answered(id)) if ids.contains(id) => answered += 1,
            Outcome::After(Delivered::Invalid) => invalid = true,
            Outcome::After(_) => {}
        });
        self.unanswered = self.unanswered.saturating_sub(answered);
        self.invalid |= invalid;
    }

    fn take_body(&mut self, body: Received) {
        if matches!(&body, Received::InMemory(bytes) if bytes.iter().all(u8::is_ascii_whitespace)) {
            return;
        }
        self.take(body, None);
    }

    /// Reads a response stream until every request of the message is answered; resumes it with
    /// GET + `Last-Event-ID` when it breaks first.
    async fn read_event_stream(&mut self, response: Response, session: &Session) -> Result<(), TransportError> {
        let mut parser = SseParser::new();
        let mut response = response;
        let mut attempts = 0u32;
        loop {
            let pumped = body::pump(response, &mut parser, self.sink.room(), |event| {
                if event.event_type.is_some() {
                    return false;
                }
                attempts = 0;
                self.take(event.data, event.id);
                self.unanswered == 0
            })
            .await;
            if self.unanswered == 0 {
                return Ok(());
            }
            match pumped {
                // Resuming would replay the same message.
                Err(error @ TransportError::Spool(_)) => return Err(error),
                Err(error) => debug!(%error, "response stream broke"),
                Ok(()) => {}
            }
            let Some(last_event_id) = parser.last_event_id().map(str::to_owned) else {
                return Err(TransportError::StreamEnded);
            };
            response = loop {
                attempts += 1;
                if attempts > MAX_RESUME_ATTEMPTS {
                    return Err(TransportError::StreamEnded);
                }
                let delay = parser.retry().unwrap_or(DEFAULT_RETRY).max(backoff(attempts - 1));
                debug!(?delay, "response stream ended early; resuming");
                pause(delay, &self.inner.endpoint.shutdown).await?;
                match self.inner.open_get(Some(&last_event_id), session).await {
                    Ok(response) => break response,
                    Err(TransportError::Network(error)) => debug!(%error, "resumption failed"),
                    Err(error) => return Err(error),
                }
            };
            parser.restart();
        }
    }
}
