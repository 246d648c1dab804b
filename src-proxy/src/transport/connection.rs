//! Choosing the transport for a server: the one function the proxy calls, [`connect`], and the
//! [`Connection`] it returns, which speaks whichever era the server turned out to speak.

use super::streamable_http::StreamableHttp;
use super::{Endpoint, Sent, Sink, Transport, TransportError};
use crate::jsonrpc::ClientMessage;
use std::sync::Arc;

/// What [`connect`] needs.
pub struct Settings {
    pub endpoint: Endpoint,
    /// Where every server message goes.
    pub sink: Arc<dyn Sink>,
}

/// The transport to one server.
pub struct Connection {
    streamable: StreamableHttp,
}

/// Connects to `settings.endpoint`; nothing is sent until the first message.
pub fn connect(settings: Settings) -> Connection {
    Connection { streamable: StreamableHttp::new(settings.endpoint, settings.sink) }
}

impl Transport for Connection {
    async fn send(&self, message: &ClientMessage) -> Sent {
        self.streamable.send(message).await
    }

    async fn renew_session(&self, expired: u64) -> Result<(), TransportError> {
        self.streamable.renew_session(expired).await
    }

    async fn close(&self) {
        self.streamable.close().await
    }
}
