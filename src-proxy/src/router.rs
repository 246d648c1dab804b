//! Routing of server messages to the client, and the ledger that gives every client request
//! exactly one answer.
//!
//! A request id is pending from the moment its line is read until a response for it is written;
//! whoever removes it from the ledger first (a server response, or the proxy's own error) is the
//! only one to write. Server requests and notifications go straight to stdout, except events a
//! server replays on resumption, which are recognised by their SSE id and dropped.

use crate::budget::StdoutBudget;
use crate::jsonrpc::ServerMessage;
use crate::spool::Spooled;
use crate::stdio::{Outbox, Outgoing};
use crate::tool_filter::ToolFilter;
use crate::transport::{Delivered, Sink};
use bytes::Bytes;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// How many event ids are remembered for replay detection.
const REMEMBERED_EVENTS: usize = 4096;

pub struct Router {
    outbox: Outbox,
    /// Hides tools from `tools/list` answers (`--ignore-tool`, `--allow-tool`).
    tools: Option<Arc<ToolFilter>>,
    /// Pending request ids (raw JSON text) and the token cancelled when each is answered.
    pending: Mutex<HashMap<Bytes, CancellationToken>>,
    seen_events: Mutex<RecentEvents>,
}

/// The last [`REMEMBERED_EVENTS`] event ids, kept as hashes so remembering costs no allocation.
struct RecentEvents {
    hasher: RandomState,
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl RecentEvents {
    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            set: HashSet::with_capacity(REMEMBERED_EVENTS),
            order: VecDeque::with_capacity(REMEMBERED_EVENTS),
        }
    }

    /// Records `id`; false when it was seen already.
    fn first_time(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        if !self.set.insert(hash) {
            return false;
        }
        if self.order.len() == REMEMBERED_EVENTS {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        self.order.push_back(hash);
        true
    }
}

impl Router {
    pub fn new(outbox: Outbox, tools: Option<Arc<ToolFilter>>) -> Self {
        Self { outbox, tools, pending: Mutex::new(HashMap::new()), seen_events: Mutex::new(RecentEvents::new()) }
    }

    /// Marks a request id as waiting for its answer. Returns the token cancelled once it is
    /// answered (or forgotten), or `None` when the id is already in flight.
    pub fn register(&self, id: &Bytes) -> Option<CancellationToken> {
        let mut pending = self.pending.lock().expect("poisoned");
        if pending.contains_key(id) {
            return None;
        }
        let token = CancellationToken::new();
        pending.insert(id.clone(), token.clone());
        Some(token)
    }

    /// Answers `id` with the message `answer` builds, unless it was answered already.
    pub fn answer<M: Into<Outgoing>>(&self, id: &[u8], answer: impl FnOnce() -> M) -> bool {
        let Some(token) = self.pending.lock().expect("poisoned").remove(id) else {
            return false;
        };
        token.cancel();
        self.outbox.send(answer());
        true
    }

    /// The client cancelled `id`: stop waiting for it and write nothing.
    pub fn forget(&self, id: &[u8]) {
        if let Some(token) = self.pending.lock().expect("poisoned").remove(id) {
            token.cancel();
        }
    }

    /// Writes a message of the proxy's own (an error for a line that was not a request).
    pub fn write(&self, message: Bytes) {
        self.outbox.send(message);
    }
}

impl Router {
    /// Writes a classified server message, or drops it (a replay, or a response nobody awaits).
    fn route<M: Into<Outgoing>>(&self, shape: Option<ServerMessage>, message: M, event_id: Option<&str>) -> Delivered {
        match shape {
            Some(ServerMessage::Response { id }) => {
                let message: Outgoing = match &self.tools {
                    Some(tools) => tools.response(&id, message.into()),
                    None => message.into(),
                };
                if self.answer(&id, || message) {
                    Delivered::Answered(id)
                } else {
                    debug!("dropping a response for a request that is not pending (a replay or a late answer)");
                    Delivered::Dropped
                }
            }
            Some(ServerMessage::Other) => {
                if let Some(event_id) = event_id {
                    if !self.seen_events.lock().expect("poisoned").first_time(event_id) {
                        debug!("dropping a replayed server message");
                        return Delivered::Dropped;
                    }
                }
                self.outbox.send(message);
                Delivered::Forwarded
            }
            None => {
                warn!("dropping a server message that is not JSON-RPC");
                Delivered::Invalid
            }
        }
    }
}

impl Sink for Router {
    fn deliver(&self, message: Bytes, event_id: Option<&str>) -> Delivered {
        self.route(ServerMessage::classify(&message), message, event_id)
    }

    fn deliver_spooled(&self, shape: Option<ServerMessage>, message: Spooled, event_id: Option<&str>) -> Delivered {
        self.route(shape, message, event_id)
    }

    fn session_started(&self) {
        *self.seen_events.lock().expect("poisoned") = RecentEvents::new();
    }

    fn room(&self) -> Option<&StdoutBudget> {
        Some(self.outbox.budget())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio;

    fn router() -> (Router, stdio::OutboxReceiver) {
        let (outbox, queue) = stdio::outbox();
        (Router::new(outbox, None), queue)
    }

    #[test]
    fn a_pending_request_is_answered_exactly_once() {
        let (router, mut queue) = router();
        let token = router.register(&Bytes::from_static(b"1")).unwrap();
        assert!(router.register(&Bytes::from_static(b"1")).is_none(), "duplicate id in flight");
        let response = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(router.deliver(response.clone(), None), Delivered::Answered(Bytes::from_static(b"1")));
        assert!(token.is_cancelled());
        assert_eq!(router.deliver(response.clone(), None), Delivered::Dropped);
        assert!(!router.answer(b"1", || Bytes::from_static(b"error")));
        assert_eq!(queue.try_recv_for_tests(), Some(response));
        assert_eq!(queue.try_recv_for_tests(), None);
    }

    #[test]
    fn replayed_events_are_dropped_until_a_new_session() {
        let (router, mut queue) = router();
        let note = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/message"}"#);
        assert_eq!(router.deliver(note.clone(), Some("e1")), Delivered::Forwarded);
        assert_eq!(router.deliver(note.clone(), Some("e1")), Delivered::Dropped);
        assert_eq!(router.deliver(note.clone(), None), Delivered::Forwarded);
        router.session_started();
        assert_eq!(router.deliver(note.clone(), Some("e1")), Delivered::Forwarded);
        let mut count = 0;
        while queue.try_recv_for_tests().is_some() {
            count += 1;
        }
        assert_eq!(count, 3);
    }

    #[test]
    fn forgotten_requests_get_no_answer() {
        let (router, mut queue) = router();
        let token = router.register(&Bytes::from_static(b"\"x\"")).unwrap();
        router.forget(b"\"x\"");
        assert!(token.is_cancelled());
        assert!(!router.answer(b"\"x\"", || Bytes::from_static(b"late")));
        assert_eq!(queue.try_recv_for_tests(), None);
    }

    #[test]
    fn event_memory_is_bounded() {
        let mut recent = RecentEvents::new();
        for i in 0..(REMEMBERED_EVENTS + 10) {
            assert!(recent.first_time(&i.to_string()));
        }
        assert_eq!(recent.order.len(), REMEMBERED_EVENTS);
        assert!(recent.first_time("0"), "the oldest id was forgotten");
        assert!(!recent.first_time(&(REMEMBERED_EVENTS + 9).to_string()));
    }
}
