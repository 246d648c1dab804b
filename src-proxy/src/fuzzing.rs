//! Entry points for the fuzz targets in `src-proxy/fuzz/` (feature `fuzzing`, never in a
//! release). Each feeds arbitrary bytes to a parser that runs on bytes the proxy does not
//! control, and asserts what must hold whatever they are: no panic, and the same outcome however
//! the bytes are cut into chunks.

use crate::json_check::{JsonCheck, MAX_DEPTH};
use crate::jsonrpc::{ClientMessage, ServerMessage};
use crate::spool::{SpoolWriter, SpooledShape};
use crate::stdio::{Line, LineCodec};
use crate::transport::sse::SseParser;
use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// Where to cut `data` in two, chosen by its first byte (the rest is the input).
fn cut(data: &[u8]) -> Option<(usize, &[u8])> {
    let (&choice, data) = data.split_first()?;
    Some((usize::from(choice) * data.len() / 255, data))
}

/// One event as the transports see it: type, whole data, and the id it carried.
type Seen = (Option<String>, Vec<u8>, Option<String>);

/// The SSE parser: the events of a stream fed whole equal those of the same stream fed in small
/// chunks with large events handed out in pieces, as the transports read them.
pub fn sse(data: &[u8]) {
    let Some((piece_size, data)) = cut(data) else { return };
    let whole = sse_events(&[data], usize::MAX);
    let chunks: Vec<&[u8]> = data.chunks(7).collect();
    let pieces = sse_events(&chunks, piece_size.max(1));
    assert_eq!(whole, pieces);
}

fn sse_events(chunks: &[&[u8]], piece_size: usize) -> Option<Vec<Seen>> {
    let mut parser = SseParser::new();
    let mut seen = Vec::new();
    let mut held: Option<Vec<u8>> = None;
    for chunk in chunks {
        let mut rest = *chunk;
        if let Some(held) = &mut held {
            let through = parser.continuing_data(rest);
            held.extend_from_slice(&rest[..through]);
            rest = &rest[through..];
        }
        parser.feed(rest);
        while let Some(event) = parser.next_event().ok()? {
            let mut data = match held.take() {
                Some(held) if event.continued => held,
                _ => Vec::new(),
            };
            data.extend_from_slice(&event.data);
            let id = event.has_id.then(|| parser.last_event_id().unwrap_or_default().to_owned());
            seen.push((event.event_type, data, id));
        }
        let min = if held.is_some() { 1 } else { piece_size };
        if let Some(piece) = parser.take_data_piece(min) {
            held.get_or_insert_with(Vec::new).extend_from_slice(&piece);
        }
    }
    Some(seen)
}

/// Stdin: the line codec and the classification of each line never panic, every request id is
/// a slice of its line, and cutting the input differently gives the same lines.
pub fn client_lines(data: &[u8]) {
    let Some((at, data)) = cut(data) else { return };
    let whole = lines(&[data]);
    assert_eq!(whole, lines(&[&data[..at], &data[at..]]));
    for line in whole.into_iter().flatten() {
        if let Ok(message) = ClientMessage::parse(line.clone()) {
            for id in message.request_ids.as_slice() {
                assert!(memchr::memmem::find(&line, id).is_some(), "an id that is not in its line");
            }
        }
    }
}

fn lines(chunks: &[&[u8]]) -> Vec<Option<Bytes>> {
    let mut codec = LineCodec::with_max_line(1024);
    let mut buffer = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Some(line) = codec.decode(&mut buffer).expect("the codec never fails") {
            out.push(match line {
                Line::Text(text) => Some(text),
                Line::TooLong => None,
            });
        }
    }
    if let Some(Line::Text(text)) = codec.decode_eof(&mut buffer).expect("the codec never fails") {
        out.push(Some(text));
    }
    out
}

/// The spool's scanner and validator: wherever a message is cut, it is classified the same; the
/// validator accepts what serde accepts (but nesting past its limit) and nothing else; and a
/// message that serde reads as JSON-RPC is classified as serde classifies it.
pub fn spool(data: &[u8]) {
    let Some((at, data)) = cut(data) else { return };
    let whole = spooled_shape(&[data]);
    assert_eq!(whole, spooled_shape(&[&data[..at], &data[at..]]));
    let mut check = JsonCheck::default();
    check.push(data);
    let serde_reads = serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok();
    // Nesting deeper than the limit takes more bytes than the limit.
    let too_deep = data.len() > MAX_DEPTH as usize;
    assert!(
        check.valid() == serde_reads || (serde_reads && too_deep),
        "validator {} serde {serde_reads}",
        check.valid()
    );
    if !data.starts_with(b"[") && check.valid() {
        if let Some(shape) = ServerMessage::classify(&Bytes::copy_from_slice(data)) {
            assert_eq!(whole, SpooledShape::Message(Some(shape)));
        }
    }
}

fn spooled_shape(pieces: &[&[u8]]) -> SpooledShape {
    let mut writer = SpoolWriter::new().expect("a temporary file");
    for piece in pieces {
        writer.push(piece).expect("written");
    }
    writer.finish().shape().clone()
}

/// `WWW-Authenticate`: any header value is read without a panic.
pub fn www_authenticate(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let challenge = crate::auth::Challenge::parse(Some(text));
        let _ = challenge.is_insufficient_scope();
    }
}

/// Discovery documents, registration and token responses, and the stored files.
pub fn metadata_and_tokens(data: &[u8]) {
    crate::auth::fuzz_documents(data);
    let _ = serde_json::from_slice::<crate::store::Tokens>(data);
    let _ = serde_json::from_slice::<crate::store::Client>(data);
}
