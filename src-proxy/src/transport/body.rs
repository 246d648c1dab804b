//! Reading server bodies, shared by every transport: `application/json` bodies and
//! `text/event-stream` streams become whole messages (in memory, or spooled to a file when large),
//! and batches are split before each message goes to the [`Sink`].
//!
//! Nothing here knows about sessions or eras; callers decide what an event means.

use super::sse::SseParser;
use super::{Delivered, Sink, TransportError};
use crate::budget::StdoutBudget;
use crate::jsonrpc;
use crate::spool::{SpoolWriter, Spooled, SpooledShape, SPOOL_THRESHOLD};
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http::header::CONTENT_TYPE;
use reqwest::Response;
use std::time::Duration;
use tracing::warn;

/// The largest batch read back from the spool to be split in memory; a larger one is a fault.
pub const MAX_SPOOLED_BATCH: u64 = 8 << 20;
/// How long the rest of an answered response stream is read to keep its connection.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A message body as received: in memory, or spooled to a file when it is large.
pub enum Received {
    InMemory(Bytes),
    Spooled(Spooled),
}

/// One complete event of a stream, as [`pump`] hands it out.
pub struct Event<'a> {
    /// The event type when it is not the default `message` (`endpoint` in HTTP+SSE).
    pub event_type: Option<&'a str>,
    pub data: Received,
    /// The SSE id the event carried, if any.
    pub id: Option<&'a str>,
}

/// What [`deliver_each`] reports about each message, before and after the sink sees it.
pub enum Outcome<'a> {
    Before(&'a Bytes),
    After(&'a Delivered),
}

/// Hands `message` to the sink, splitting a batch array into its messages. Returns how many
/// messages the sink took; `observe` sees each in-memory message before delivery and each result
/// after.
pub fn deliver_each(
    sink: &dyn Sink,
    message: Received,
    event_id: Option<&str>,
    mut observe: impl FnMut(Outcome<'_>),
) -> usize {
    let data = match message {
        Received::InMemory(data) => data,
        Received::Spooled(spooled) => match spooled.shape().clone() {
            SpooledShape::Message(shape) => {
                let delivered = sink.deliver_spooled(shape, spooled, event_id);
                observe(Outcome::After(&delivered));
                return usize::from(matches!(delivered, Delivered::Answered(_) | Delivered::Forwarded));
            }
            // Batches left the protocol in 2025-06-18; a large one is split in memory, up to a
            // limit, so that memory stays bounded.
            SpooledShape::Batch if spooled.size() > MAX_SPOOLED_BATCH => {
                warn!(size = spooled.size(), "refusing a batch larger than {} MiB", MAX_SPOOLED_BATCH >> 20);
                observe(Outcome::After(&Delivered::Invalid));
                return 0;
            }
            SpooledShape::Batch => match spooled.into_bytes() {
                Ok(data) => data,
                Err(error) => {
                    warn!(%error, "cannot read back a spooled batch");
                    observe(Outcome::After(&Delivered::Invalid));
                    return 0;
                }
            },
        },
    };
    let data = jsonrpc::single_line(data);
    if data.first() != Some(&b'[') {
        // The common case, one message: no batch bookkeeping on the hot path.
        return deliver_one(sink, data, event_id, &mut observe);
    }
    let Some(messages) = jsonrpc::split_batch(&data) else {
        warn!("the server sent a batch that is not valid JSON");
        observe(Outcome::After(&Delivered::Invalid));
        return 0;
    };
    messages.into_iter().map(|message| deliver_one(sink, message, event_id, &mut observe)).sum()
}

/// Delivers one message; 1 when the sink took it.
fn deliver_one(
    sink: &dyn Sink,
    message: Bytes,
    event_id: Option<&str>,
    observe: &mut impl FnMut(Outcome<'_>),
) -> usize {
    observe(Outcome::Before(&message));
    let delivered = sink.deliver(message, event_id);
    observe(Outcome::After(&delivered));
    usize::from(matches!(delivered, Delivered::Answered(_) | Delivered::Forwarded))
}

/// Feeds a streaming body through the SSE parser, calling `on_event` with each event that has
/// data; stops early when `on_event` returns true. The rest of the body is then read in the
/// background (servers end the stream right after the answer), so the keep-alive connection goes
/// back to the pool instead of being dropped half-read. Events larger than [`SPOOL_THRESHOLD`] are
/// spooled as they arrive. Before each read it waits for room in `stdout` (the sink's budget) and,
/// while spooling, in the spool's budget: a client that stops reading stops the server.
pub async fn pump(
    mut response: Response,
    parser: &mut SseParser,
    stdout: Option<&StdoutBudget>,
    mut on_event: impl FnMut(Event<'_>) -> bool,
) -> Result<(), TransportError> {
    let mut spool: Option<SpoolWriter> = None;
    loop {
        room(stdout, spool.as_ref()).await;
        let Some(chunk) = response.chunk().await? else {
            return Ok(());
        };
        let mut rest = &chunk[..];
        if let Some(writer) = &mut spool {
            let through = parser.continuing_data(rest);
            writer.push_unbroken(&rest[..through]).map_err(TransportError::Spool)?;
            rest = &rest[through..];
        }
        parser.feed(rest);
        while let Some(event) = parser.next_event().map_err(|e| TransportError::InvalidResponse(e.to_string()))? {
            let data = match spool.take() {
                Some(mut writer) if event.continued => {
                    writer.push(&event.data).map_err(TransportError::Spool)?;
                    Received::Spooled(writer.finish())
                }
                _ if event.data.iter().all(u8::is_ascii_whitespace) => continue,
                _ => Received::InMemory(event.data),
            };
            let id = if event.has_id { parser.last_event_id() } else { None };
            if on_event(Event { event_type: event.event_type.as_deref(), data, id }) {
                drain_in_background(response);
                return Ok(());
            }
        }
        // Once an event is being spooled, whatever of it has arrived goes to the file at once.
        let piece_size = if spool.is_some() { 1 } else { SPOOL_THRESHOLD };
        if let Some(piece) = parser.take_data_piece(piece_size) {
            let writer = match &mut spool {
                Some(writer) => writer,
                None => spool.insert(SpoolWriter::new().map_err(TransportError::Spool)?),
            };
            writer.push(&piece).map_err(TransportError::Spool)?;
        }
    }
}

/// Waits until `stdout` and the spool (when a message is being spooled) have room.
async fn room(stdout: Option<&StdoutBudget>, spool: Option<&SpoolWriter>) {
    if let Some(stdout) = stdout {
        stdout.room().await;
    }
    if let Some(writer) = spool {
        writer.room().await;
    }
}

/// Reads an `application/json` body: shared with the HTTP buffers when it comes in one piece,
/// spooled once it passes [`SPOOL_THRESHOLD`]. Waits for room before each read, as [`pump`] does.
pub async fn read_body(mut response: Response, stdout: Option<&StdoutBudget>) -> Result<Received, TransportError> {
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    let mut spool: Option<SpoolWriter> = None;
    loop {
        room(stdout, spool.as_ref()).await;
        let Some(chunk) = response.chunk().await? else { break };
        if let Some(writer) = &mut spool {
            writer.push(&chunk).map_err(TransportError::Spool)?;
            continue;
        }
        if let Some(first) = first.take() {
            joined.extend_from_slice(&first);
        }
        if joined.is_empty() {
            first = Some(chunk);
            continue;
        }
        joined.extend_from_slice(&chunk);
        if joined.len() > SPOOL_THRESHOLD {
            let mut writer = SpoolWriter::new().map_err(TransportError::Spool)?;
            writer.push(&joined).map_err(TransportError::Spool)?;
            joined = BytesMut::new();
            spool = Some(writer);
        }
    }
    Ok(match (spool, first) {
        (Some(writer), _) => Received::Spooled(writer.finish()),
        (None, Some(first)) => Received::InMemory(first),
        (None, None) => Received::InMemory(joined.freeze()),
    })
}

/// Reads what is left of an answered body so its connection can be reused. Usually the end is
/// already buffered, and no task is needed.
pub fn drain_in_background(mut response: Response) {
    loop {
        match response.chunk().now_or_never() {
            Some(Ok(Some(_))) => continue,
            Some(_) => return,
            None => break,
        }
    }
    tokio::spawn(async move {
        let rest = async { while let Ok(Some(_)) = response.chunk().await {} };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, rest).await;
    });
}

pub fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::ServerMessage;
    use std::sync::Mutex;

    /// Records what reaches it: each in-memory message, or the shape of each spooled one.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Sink for Recorder {
        fn deliver(&self, message: Bytes, _event_id: Option<&str>) -> Delivered {
            self.0.lock().unwrap().push(String::from_utf8(message.to_vec()).unwrap());
            Delivered::Forwarded
        }

        fn deliver_spooled(&self, shape: Option<ServerMessage>, _message: Spooled, _: Option<&str>) -> Delivered {
            self.0.lock().unwrap().push(format!("spooled {shape:?}"));
            Delivered::Forwarded
        }
    }

    fn spooled(text: &str) -> Received {
        let mut writer = SpoolWriter::new().unwrap();
        writer.push(text.as_bytes()).unwrap();
        Received::Spooled(writer.finish())
    }

    #[test]
    fn a_spooled_batch_over_the_limit_is_refused_unread() {
        let item = format!(r#"{{"jsonrpc":"2.0","method":"m","params":{{"p":"{}"}}}}"#, "z".repeat(1 << 20));
        let batch = format!("[{}]", vec![item; (MAX_SPOOLED_BATCH >> 20) as usize + 1].join(","));
        let sink = Recorder::default();
        let mut outcomes = Vec::new();
        let delivered = deliver_each(&sink, spooled(&batch), None, |outcome| {
            if let Outcome::After(delivered) = outcome {
                outcomes.push(format!("{delivered:?}"));
            }
        });
        assert_eq!((delivered, outcomes), (0, vec!["Invalid".to_string()]));
        assert!(sink.0.lock().unwrap().is_empty());
    }

    #[test]
    fn spooled_messages_go_whole_to_the_sink_and_spooled_batches_are_split() {
        let sink = Recorder::default();
        let delivered = deliver_each(&sink, spooled(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#), None, |_| {});
        assert_eq!(delivered, 1);
        let batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},\n {\"jsonrpc\":\"2.0\",\"method\":\"m\"}]";
        assert_eq!(deliver_each(&sink, spooled(batch), None, |_| {}), 2);
        let seen = sink.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                r#"spooled Some(Response { id: b"7" })"#.to_string(),
                r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_string(),
                r#"{"jsonrpc":"2.0","method":"m"}"#.to_string(),
            ]
        );
    }
}
