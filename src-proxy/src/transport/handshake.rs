//! The client's handshake (`initialize`, `notifications/initialized`) as it sent it, kept by the
//! transports that have sessions, to replay when the server starts a new one.

use crate::jsonrpc::{ClientMessage, Method};

#[derive(Clone, Default)]
pub struct Handshake {
    pub initialize: Option<ClientMessage>,
    pub initialized: Option<ClientMessage>,
}

impl Handshake {
    /// Keeps `message` if it is part of the handshake; a new `initialize` starts a new one.
    pub fn remember(&mut self, message: &ClientMessage) {
        match message.method {
            Method::Initialize => *self = Self { initialize: Some(message.clone()), initialized: None },
            Method::Initialized => self.initialized = Some(message.clone()),
            _ => {}
        }
    }
}
