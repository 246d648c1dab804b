//! Incremental Server-Sent Events parser (the WHATWG `text/event-stream` rules).
//!
//! Fed raw chunks as they arrive, it yields events whose `data` shares the chunk buffers when the
//! event has a single `data:` line, so a message is not copied on its way to stdout. The data of a
//! large event can be taken out in pieces while it arrives ([`SseParser::take_data_piece`]), so no
//! message has to be held whole. It tracks the last event id (also of events with empty data, the
//! "priming" events of MCP) and the server's `retry:` hint. It does no I/O.

use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// The longest `data:` line accepted; a server that never ends a line is a fault, not a message.
/// (A message this large is spooled as it arrives, not held: see [`SseParser::take_data_piece`].)
const MAX_LINE: usize = 256 * 1024 * 1024;
/// The longest line of any other field (`event:`, `id:`, `retry:`, a comment, an unknown field):
/// these are held whole until they end, so a server cannot make the proxy hold much for them.
pub const MAX_FIELD_LINE: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type when it is not the default `message`.
    pub event_type: Option<String>,
    /// The data lines joined with `\n`; empty for priming events.
    pub data: Bytes,
    /// The event carried its own `id:` field (now [`SseParser::last_event_id`]).
    pub has_id: bool,
    /// The start of the data was handed out by [`SseParser::take_data_piece`]; `data` is the rest.
    pub continued: bool,
}

/// The stream broke the format in a way that cannot be recovered: a line over its limit
/// ([`MAX_FIELD_LINE`] for fields other than `data`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an event-stream line is longer than its limit ({} MiB for data, {} KiB for other fields)", MAX_LINE >> 20, MAX_FIELD_LINE >> 10)]
pub struct LineTooLong;

#[derive(Default)]
pub struct SseParser {
    buffer: BytesMut,
    /// Bytes of `buffer` already searched for a line end.
    scanned: usize,
    /// The previous chunk ended in CR, so a leading LF belongs to that line ending.
    skip_lf: bool,
    data_first: Option<Bytes>,
    data_joined: Option<BytesMut>,
    event_type: Option<String>,
    pending_id: Option<String>,
    last_event_id: Option<String>,
    retry: Option<Duration>,
    /// Part of the current event's data was handed out.
    handed_out: bool,
    /// The buffer starts inside a `data:` line whose beginning was handed out.
    line_continues: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the last dispatched event, to send as `Last-Event-ID` when resuming.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The reconnection delay the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Forgets the partial input of a broken stream before reading its resumption; the last event
    /// id and the retry hint carry over.
    pub fn restart(&mut self) {
        *self = Self { last_event_id: self.last_event_id.take(), retry: self.retry, ..Self::default() };
    }

    /// Appends a chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut chunk = chunk;
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// How many leading bytes of `chunk` continue a data line whose beginning was handed out by
    /// [`SseParser::take_data_piece`], when nothing else is buffered: the caller can store them
    /// with the pieces and feed only the rest, so a large message is not copied through the parser.
    /// They hold no line break.
    pub fn continuing_data(&self, chunk: &[u8]) -> usize {
        if !self.line_continues || !self.buffer.is_empty() {
            return 0;
        }
        memchr::memchr2(b'\n', b'\r', chunk).unwrap_or(chunk.len())
    }

    /// Returns the next complete event, if the data fed so far holds one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, LineTooLong> {
        while let Some(line) = self.next_line()? {
            if let Some(event) = self.process_line(line) {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    fn next_line(&mut self) -> Result<Option<Bytes>, LineTooLong> {
        let unscanned = &self.buffer[self.scanned..];
        let Some(offset) = memchr::memchr2(b'\n', b'\r', unscanned) else {
            self.scanned = self.buffer.len();
            if self.buffer.len() > self.line_limit() {
                return Err(LineTooLong);
            }
            return Ok(None);
        };
        let end = self.scanned + offset;
        if end > self.line_limit() {
            return Err(LineTooLong);
        }
        let terminator = self.buffer[end];
        let mut line = self.buffer.split_to(end + 1);
        line.truncate(end);
        self.scanned = 0;
        if terminator == b'\r' {
            match self.buffer.first() {
                Some(b'\n') => {
                    let _ = self.buffer.split_to(1);
                }
                Some(_) => {}
                None => self.skip_lf = true,
            }
        }
        Ok(Some(line.freeze()))
    }

    /// How long the line at the start of the buffer may be.
    fn line_limit(&self) -> usize {
        if self.line_continues || self.buffer.starts_with(b"data:") {
            MAX_LINE
        } else {
            MAX_FIELD_LINE
        }
    }

    /// When the event being received has at least `min` bytes of data held (complete `data:` lines
    /// and the unfinished line), returns them, so a caller can store a large message elsewhere as
    /// it arrives. The event, once complete, comes with `continued` set and only the rest of its
    /// data. Call it after [`SseParser::next_event`] has returned `None`.
    pub fn take_data_piece(&mut self, min: usize) -> Option<Bytes> {
        let line_value_start = if self.line_continues {
            Some(0)
        } else if self.buffer.starts_with(b"data:") && self.buffer.len() > 5 {
            Some(if self.buffer[5] == b' ' { 6 } else { 5 })
        } else {
            None
        };
        let held_lines = match (&self.data_joined, &self.data_first) {
            (Some(joined), _) => Some(joined.len()),
            (None, Some(first)) => Some(first.len()),
            (None, None) => None,
        };
        let line_len = line_value_start.map_or(0, |start| self.buffer.len() - start);
        if held_lines.unwrap_or(0) + line_len < min {
            return None;
        }
        let newline_before_line = !self.line_continues && (held_lines.is_some() || self.handed_out);
        let line = line_value_start.map(|start| {
            let _ = self.buffer.split_to(start);
            self.scanned = 0;
            self.buffer.split().freeze()
        });
        let piece = match (self.data_joined.take(), self.data_first.take(), line) {
            (None, None, Some(line)) if !newline_before_line => line,
            (joined, first, line) => {
                let mut piece = joined.unwrap_or_else(|| BytesMut::from(&first.unwrap_or_default()[..]));
                if let Some(line) = line {
                    if newline_before_line {
                        piece.extend_from_slice(b"\n");
                    }
                    piece.extend_from_slice(&line);
                }
                piece.freeze()
            }
        };
        self.line_continues = line_value_start.is_some();
        self.handed_out = true;
        Some(piece)
    }

    fn process_line(&mut self, line: Bytes) -> Option<SseEvent> {
        if self.line_continues {
            // The end of a data line whose beginning was handed out: no field name, no join.
            self.line_continues = false;
            match &mut self.data_joined {
                Some(joined) => joined.extend_from_slice(&line),
                None => self.data_first = Some(line),
            }
            return None;
        }
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value_start = if line.get(colon + 1) == Some(&b' ') { colon + 2 } else { colon + 1 };
                (line.slice(..colon), line.slice(value_start..))
            }
            None => (line.clone(), Bytes::new()),
        };
        match &field[..] {
            b"data" => self.append_data(value),
            b"event" => self.event_type = Some(String::from_utf8_lossy(&value).into_owned()),
            b"id" if !value.contains(&0) => {
                self.pending_id = Some(String::from_utf8_lossy(&value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Some(ms) = std::str::from_utf8(&value).ok().and_then(|s| s.parse().ok()) {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        None
    }

    fn append_data(&mut self, value: Bytes) {
        if let Some(joined) = &mut self.data_joined {
            joined.extend_from_slice(b"\n");
            joined.extend_from_slice(&value);
        } else if let Some(first) = self.data_first.take() {
            let mut joined = BytesMut::with_capacity(first.len() + 1 + value.len());
            joined.extend_from_slice(&first);
            joined.extend_from_slice(b"\n");
            joined.extend_from_slice(&value);
            self.data_joined = Some(joined);
        } else if self.handed_out {
            // The first line held after a hand-out still follows the data handed out.
            let mut joined = BytesMut::with_capacity(1 + value.len());
            joined.extend_from_slice(b"\n");
            joined.extend_from_slice(&value);
            self.data_joined = Some(joined);
        } else {
            self.data_first = Some(value);
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let has_id = self.pending_id.is_some();
        if let Some(id) = self.pending_id.take() {
            self.last_event_id = Some(id);
        }
        let event_type = self.event_type.take().filter(|t| t != "message");
        let continued = std::mem::take(&mut self.handed_out);
        let data = match (self.data_joined.take(), self.data_first.take()) {
            (Some(joined), _) => joined.freeze(),
            (None, Some(first)) => first,
            (None, None) if continued => Bytes::new(),
            (None, None) => return None,
        };
        Some(SseEvent { event_type, data, has_id, continued })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> (Vec<SseEvent>, SseParser) {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk.as_bytes());
            while let Some(event) = parser.next_event().unwrap() {
                out.push(event);
            }
        }
        (out, parser)
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| std::str::from_utf8(&e.data).unwrap()).collect()
    }

    #[test]
    fn single_and_multi_line_data() {
        let (evs, _) = events(&["data: {\"a\":1}\n\ndata: {\"b\":\ndata: 2}\n\n"]);
        assert_eq!(data(&evs), vec!["{\"a\":1}", "{\"b\":\n2}"]);
    }

    #[test]
    fn comments_ids_and_retry() {
        let (evs, parser) = events(&[": keep-alive\n", "id: 7\nretry: 1500\ndata: x\n\n"]);
        assert_eq!(data(&evs), vec!["x"]);
        assert_eq!(parser.last_event_id(), Some("7"));
        assert_eq!(parser.retry(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn priming_event_sets_id_with_empty_data() {
        let (evs, parser) = events(&["id: prime-1\ndata:\n\n"]);
        assert_eq!(data(&evs), vec![""]);
        assert_eq!(parser.last_event_id(), Some("prime-1"));
        let (evs, parser) = events(&["id: only-id\n\n"]);
        assert!(evs.is_empty());
        assert_eq!(parser.last_event_id(), Some("only-id"));
    }

    #[test]
    fn chunk_boundaries_anywhere_and_all_line_endings() {
        let text = "event: message\r\nid: 1\r\ndata: hello\r\n\r\ndata: cr\r\rdata: lf\n\n";
        for split in 0..text.len() {
            let (evs, parser) = events(&[&text[..split], &text[split..]]);
            assert_eq!(data(&evs), vec!["hello", "cr", "lf"], "split at {split}");
            assert_eq!(parser.last_event_id(), Some("1"));
            assert!(evs.iter().all(|e| e.event_type.is_none()));
        }
    }

    #[test]
    fn other_event_types_are_named_and_bad_retry_ignored() {
        let (evs, parser) = events(&["event: endpoint\ndata: /messages?x=1\nretry: 10s\n\n"]);
        assert_eq!(evs[0].event_type.as_deref(), Some("endpoint"));
        assert_eq!(parser.retry(), None);
    }

    #[test]
    fn single_data_line_is_returned_whole() {
        let mut parser = SseParser::new();
        parser.feed(b"data: {\"big\":true}\n\n");
        let event = parser.next_event().unwrap().unwrap();
        assert_eq!(&event.data[..], b"{\"big\":true}");
        assert!(parser.next_event().unwrap().is_none());
    }

    #[test]
    fn restart_keeps_cursor_and_drops_partial_input() {
        let mut parser = SseParser::new();
        parser.feed(b"id: 5\nretry: 20\ndata: a\n\ndata: half");
        assert!(parser.next_event().unwrap().unwrap().has_id);
        assert!(parser.next_event().unwrap().is_none());
        parser.restart();
        parser.feed(b"data: b\n\n");
        let event = parser.next_event().unwrap().unwrap();
        assert_eq!(&event.data[..], b"b");
        assert!(!event.has_id);
        assert_eq!(parser.last_event_id(), Some("5"));
        assert_eq!(parser.retry(), Some(Duration::from_millis(20)));
    }

    /// Parses `text` fed `chunk` bytes at a time, taking pieces of at least `min` bytes between
    /// chunks, and joins each event's pieces back together.
    fn events_in_pieces(text: &str, chunk: usize, min: usize) -> (Vec<String>, usize) {
        let mut parser = SseParser::new();
        let (mut out, mut pieces, mut held) = (Vec::new(), 0, Vec::new());
        for part in text.as_bytes().chunks(chunk) {
            parser.feed(part);
            while let Some(event) = parser.next_event().unwrap() {
                assert_eq!(event.continued, !held.is_empty());
                held.extend_from_slice(&event.data);
                out.push(String::from_utf8(std::mem::take(&mut held)).unwrap());
            }
            if let Some(piece) = parser.take_data_piece(min) {
                pieces += 1;
                held.extend_from_slice(&piece);
            }
        }
        (out, pieces)
    }

    /// Like [`events_in_pieces`], but the caller takes each chunk's continuing data itself.
    fn events_passing_through(text: &str, chunk: usize) -> Vec<String> {
        let mut parser = SseParser::new();
        let (mut out, mut held) = (Vec::new(), Vec::new());
        for part in text.as_bytes().chunks(chunk) {
            let through = parser.continuing_data(part);
            held.extend_from_slice(&part[..through]);
            parser.feed(&part[through..]);
            while let Some(event) = parser.next_event().unwrap() {
                held.extend_from_slice(&event.data);
                out.push(String::from_utf8(std::mem::take(&mut held)).unwrap());
            }
            if let Some(piece) = parser.take_data_piece(1) {
                held.extend_from_slice(&piece);
            }
        }
        out
    }

    #[test]
    fn data_taken_in_pieces_joins_back_to_the_same_events() {
        let text = "id: 1\ndata: {\"a\":\"0123456789\"}\n\ndata: x\ndata: yz\ndata:\ndata: w\nid: 2\n\n\
                    data: {\"b\":1}\r\n\r\n: c\ndata:0123456789abcdef\n\n";
        let (whole, _) = events(&[text]);
        let whole: Vec<String> = data(&whole).into_iter().map(str::to_owned).collect();
        for chunk in 1..text.len() {
            for min in [1, 2, 5, 9] {
                let (got, pieces) = events_in_pieces(text, chunk, min);
                assert_eq!(got, whole, "chunk {chunk} min {min}");
                if chunk < 8 {
                    assert!(pieces > 0, "chunk {chunk} min {min}");
                }
            }
        }
    }

    #[test]
    fn continuing_data_can_bypass_the_parser() {
        let text = "data: {\"a\":\"0123456789abcdef\"}\r\ndata: 2\n\nid: 3\ndata: {\"b\":\"0123456789\"}\n\n";
        let (whole, _) = events(&[text]);
        let whole: Vec<String> = data(&whole).into_iter().map(str::to_owned).collect();
        for chunk in 1..text.len() {
            assert_eq!(events_passing_through(text, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn a_small_event_is_never_split() {
        let (got, pieces) = events_in_pieces("data: {\"small\":true}\n\n", 4, 1024);
        assert_eq!(got, vec!["{\"small\":true}"]);
        assert_eq!(pieces, 0);
    }

    #[test]
    fn a_long_line_of_another_field_breaks_the_stream_before_it_is_held() {
        for field in [": ", "event: ", "id: ", "retry: ", "x-unknown: ", "data"] {
            let mut parser = SseParser::new();
            parser.feed(b"data: {\"a\":1}\n\n");
            assert!(parser.next_event().unwrap().is_some());
            parser.feed(field.as_bytes());
            let piece = vec![b'7'; 4096];
            let mut fed = field.len();
            let broke = loop {
                parser.feed(&piece);
                fed += piece.len();
                match parser.next_event() {
                    Err(LineTooLong) => break fed,
                    Ok(event) => assert!(event.is_none()),
                }
                assert!(fed < 1 << 20, "{field:?}: a 1 MiB line was held");
            };
            assert!(broke <= MAX_FIELD_LINE + piece.len(), "{field:?} held {broke} bytes");
            assert!(parser.buffer.len() <= MAX_FIELD_LINE + piece.len());
        }
        // A whole long line in one chunk is refused too; a long data line is not.
        let mut parser = SseParser::new();
        parser.feed(format!(": {}\n\ndata: 1\n\n", "c".repeat(MAX_FIELD_LINE)).as_bytes());
        assert_eq!(parser.next_event(), Err(LineTooLong));
        let mut parser = SseParser::new();
        parser.feed(format!("data: \"{}\"\n\n", "d".repeat(2 * MAX_FIELD_LINE)).as_bytes());
        assert_eq!(parser.next_event().unwrap().unwrap().data.len(), 2 * MAX_FIELD_LINE + 2);
    }

    #[test]
    fn field_without_colon_and_incomplete_event() {
        let (evs, _) = events(&["data\n\ndata: partial"]);
        assert_eq!(data(&evs), vec![""]);
    }
}
