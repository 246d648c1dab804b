//! Large server messages, held in an anonymous temporary file instead of memory.
//!
//! A tool result can be tens of megabytes (images, files); a sidecar that lives all day should not
//! grow by that much for each one. Once a message passes [`SPOOL_THRESHOLD`] bytes the transport
//! appends the rest of it to a [`SpoolWriter`], which validates it on the way through
//! ([`JsonCheck`]: a message that is not JSON is classified as no message, and never reaches
//! stdout), classifies it with a scanner of the top-level object's keys (no tree, no second pass),
//! and flattens line breaks so it fits on one stdout line. The finished [`Spooled`] message is
//! routed like any other and copied to stdout in pieces. The file is deleted when it is dropped (or
//! by the OS if the process dies), and only this process can open it.
//!
//! Writes go to the page cache. On Linux the copy to a stdout pipe moves the pages into the pipe
//! with `splice` (no read back through this process); elsewhere it reads them back in plain
//! blocking calls of at most [`COPY_PIECE`] bytes.

use crate::budget::{DiskClaim, DiskHold, SPOOL};
use crate::json_check::JsonCheck;
use crate::jsonrpc::ServerMessage;
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Messages larger than this are spooled; smaller ones stay in memory, shared with the HTTP body.
pub const SPOOL_THRESHOLD: usize = 256 * 1024;
/// How much of a spooled message is copied to stdout at a time.
pub const COPY_PIECE: usize = 64 * 1024;
/// A server that sends more than this as one message is faulty; the spool does not fill the disk.
pub const MAX_MESSAGE: u64 = 256 * 1024 * 1024;

/// A message being spooled. Its bytes count against the spool budget ([`crate::budget`]); a
/// reader waits for [`SpoolWriter::room`] before it reads more of the message.
pub struct SpoolWriter {
    file: File,
    len: u64,
    disk: DiskClaim,
    scanner: Scanner,
    utf8: Utf8Check,
    json: JsonCheck,
    flattened: Vec<u8>,
}

impl SpoolWriter {
    pub fn new() -> io::Result<Self> {
        let (scanner, utf8) = (Scanner::default(), Utf8Check::default());
        let json = JsonCheck::default();
        let (file, disk) = (tempfile::tempfile()?, DiskClaim::new(&SPOOL));
        Ok(Self { file, len: 0, disk, scanner, utf8, json, flattened: Vec::new() })
    }

    /// Waits until the spool budget lets this message grow. Cancel-safe.
    pub async fn room(&self) {
        self.disk.room().await
    }

    /// Appends the next bytes of the message.
    pub fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.append(bytes, true)
    }

    /// Appends bytes the caller has already searched for line breaks and found none in (the rest
    /// of an SSE data line), sparing them a second search.
    pub fn push_unbroken(&mut self, bytes: &[u8]) -> io::Result<()> {
        debug_assert!(memchr::memchr2(b'\n', b'\r', bytes).is_none());
        self.append(bytes, false)
    }

    fn append(&mut self, bytes: &[u8], may_break: bool) -> io::Result<()> {
        if self.len + bytes.len() as u64 > MAX_MESSAGE {
            return Err(io::Error::other(format!("a message is larger than {} MiB", MAX_MESSAGE >> 20)));
        }
        self.scanner.scan(bytes);
        self.utf8.push(bytes);
        let bytes = if may_break && memchr::memchr2(b'\n', b'\r', bytes).is_some() {
            // Raw line breaks can only be whitespace between JSON tokens.
            self.flattened.clear();
            self.flattened.extend(bytes.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
            &self.flattened[..]
        } else {
            bytes
        };
        // What is checked is what stdout gets: the flattened line.
        self.json.push(bytes);
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        self.disk.grow(bytes.len() as u64);
        Ok(())
    }

    pub fn finish(self) -> Spooled {
        let valid = self.utf8.valid() && self.json.valid();
        let shape = if valid { self.scanner.shape() } else { SpooledShape::Message(None) };
        Spooled { file: self.file, len: self.len, shape, _disk: self.disk.finish() }
    }
}

/// Checks that a message arriving in pieces is UTF-8, carrying a character cut between pieces.
#[derive(Debug, Default)]
struct Utf8Check {
    /// The start of a character the last piece ended inside (at most 3 bytes, then joined).
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    fn push(&mut self, piece: &[u8]) {
        if self.bad {
            return;
        }
        let joined;
        let piece = if self.carry.is_empty() {
            piece
        } else {
            self.carry.extend_from_slice(piece);
            joined = std::mem::take(&mut self.carry);
            &joined[..]
        };
        if simdutf8::basic::from_utf8(piece).is_ok() {
            return;
        }
        match simdutf8::compat::from_utf8(piece) {
            Ok(_) => {}
            Err(error) if error.error_len().is_none() => self.carry = piece[error.valid_up_to()..].to_vec(),
            Err(_) => self.bad = true,
        }
    }

    fn valid(&self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

/// A complete spooled message.
#[derive(Debug)]
pub struct Spooled {
    file: File,
    len: u64,
    shape: SpooledShape,
    /// Its bytes in the spool budget, given back with the file.
    _disk: DiskHold,
}

/// What a spooled message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpooledShape {
    /// One message, classified; `None` when it is not a JSON-RPC message.
    Message(Option<ServerMessage>),
    /// A JSON array: a batch, which is read back and split in memory.
    Batch,
}

impl Spooled {
    pub fn shape(&self) -> &SpooledShape {
        &self.shape
    }

    /// Reads the whole message back into memory.
    pub fn into_bytes(mut self) -> io::Result<Bytes> {
        let mut all = Vec::with_capacity(self.len as usize);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut all)?;
        Ok(Bytes::from(all))
    }

    /// The message's length in bytes (its line, without the newline).
    pub fn size(&self) -> u64 {
        self.len
    }

    /// The file that holds the message, for copying it in the kernel (see [`crate::stdio`]).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Positions the file `offset` bytes into the message, for [`Spooled::read_piece`].
    pub fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset)).map(|_| ())
    }

    /// Reads the next piece into `buf` (cleared first); empty at the end.
    pub fn read_piece(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        buf.clear();
        (&mut self.file).take(COPY_PIECE as u64).read_to_end(buf).map(|_| ())
    }
}

/// Where the scanner is in the JSON text, as far as the top-level object's keys go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Before the first byte of the value.
    #[default]
    Start,
    /// Inside the top-level object, before a key.
    Key,
    /// After a top-level key, before its colon.
    Colon,
    /// After the colon, before the value.
    Value,
    /// Inside or after a top-level value, before `,` or `}`.
    Next,
    /// After the top-level object closed.
    End,
}

/// Follows the top-level keys of a JSON object as its bytes stream past: which of `id`, `method`,
/// `result` and `error` it has, and the raw text of a scalar `id`. It checks structure (nesting,
/// strings, one top-level object), not every token; the client parses the message anyway.
#[derive(Debug, Default)]
struct Scanner {
    expect: Expect,
    /// Nesting inside the top-level object's values.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A top-level key being read (kept only while it is short enough to matter).
    key: Vec<u8>,
    /// The top-level key whose value comes next.
    current: Field,
    /// The raw text of the `id` value being read.
    id_text: Vec<u8>,
    id: Option<Vec<u8>>,
    has_method: bool,
    has_outcome: bool,
    batch: bool,
    broken: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Field {
    #[default]
    Other,
    Id,
    Method,
    Outcome,
}

/// The longest key the scanner needs to recognise.
const LONGEST_KEY: usize = 8;
/// A longer id is not one a client sent.
const LONGEST_ID: usize = 1024;

impl Scanner {
    fn scan(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.broken || self.batch {
                return;
            }
            if self.in_string && !self.escaped && !self.keeps_string() {
                // Most of a large message is string content: skip to what can end or escape it.
                match memchr::memchr2(b'"', b'\\', bytes) {
                    Some(at) => bytes = &bytes[at..],
                    None => return,
                }
            }
            self.step(bytes[0]);
            bytes = &bytes[1..];
        }
    }

    /// Whether the bytes of the current string are kept (a top-level key, or a string id).
    fn keeps_string(&self) -> bool {
        self.expect == Expect::Key || (self.current == Field::Id && self.depth == 0)
    }

    fn step(&mut self, b: u8) {
        if self.in_string {
            self.string_byte(b);
            return;
        }
        if b.is_ascii_whitespace() {
            if self.expect == Expect::Next && self.depth == 0 {
                self.end_scalar();
            }
            return;
        }
        match self.expect {
            Expect::Start => match b {
                b'{' => self.expect = Expect::Key,
                b'[' => self.batch = true,
                _ => self.broken = true,
            },
            Expect::Key => match b {
                b'"' => {
                    self.in_string = true;
                    self.key.clear();
                }
                b'}' => self.expect = Expect::End,
                _ => self.broken = true,
            },
            Expect::Colon => match b {
                b':' => self.expect = Expect::Value,
                _ => self.broken = true,
            },
            Expect::Value => {
                self.expect = Expect::Next;
                match self.current {
                    Field::Method => self.has_method = true,
                    Field::Outcome => self.has_outcome = true,
                    Field::Id | Field::Other => {}
                }
                self.id_text.clear();
                self.value_byte(b);
            }
            Expect::Next => self.value_byte(b),
            Expect::End => self.broken = true,
        }
    }

    /// A byte of a top-level value (or the `,`/`}` after it), outside strings.
    fn value_byte(&mut self, b: u8) {
        match b {
            b'"' => {
                self.in_string = true;
                self.keep_id_byte(b);
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.current = Field::Other; // an object or array id is no id
            }
            b'}' | b']' if self.depth > 0 => self.depth -= 1,
            b',' if self.depth == 0 => {
                self.end_scalar();
                self.expect = Expect::Key;
            }
            b'}' if self.depth == 0 => {
                self.end_scalar();
                self.expect = Expect::End;
            }
            b']' => self.broken = true,
            _ => self.keep_id_byte(b),
        }
    }

    fn string_byte(&mut self, b: u8) {
        let in_key = self.expect == Expect::Key;
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.in_string = false;
            if in_key {
                self.current = match &self.key[..] {
                    b"id" => Field::Id,
                    b"method" => Field::Method,
                    b"result" | b"error" => Field::Outcome,
                    _ => Field::Other,
                };
                self.expect = Expect::Colon;
                return;
            }
        }
        if in_key {
            if self.key.len() <= LONGEST_KEY {
                self.key.push(b);
            }
        } else {
            self.keep_id_byte(b);
        }
    }

    fn keep_id_byte(&mut self, b: u8) {
        if self.current == Field::Id && self.depth == 0 && self.id_text.len() <= LONGEST_ID {
            self.id_text.push(b);
        }
    }

    /// A top-level value ended: keep it if it was the id.
    fn end_scalar(&mut self) {
        if self.current == Field::Id && !self.id_text.is_empty() {
            self.id = (self.id_text.len() <= LONGEST_ID).then(|| std::mem::take(&mut self.id_text));
        }
        self.current = Field::Other;
    }

    fn shape(&self) -> SpooledShape {
        if self.batch {
            return SpooledShape::Batch;
        }
        if self.broken || self.in_string || self.expect != Expect::End {
            return SpooledShape::Message(None);
        }
        let id = self.id.as_deref().filter(|id| *id != b"null");
        let shape = match (self.has_method, id) {
            (true, _) => Some(ServerMessage::Other),
            (false, Some(id)) if self.has_outcome => Some(ServerMessage::Response { id: Bytes::copy_from_slice(id) }),
            (false, _) => None,
        };
        SpooledShape::Message(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_checked_across_every_cut() {
        let text = "{\"id\":1,\"result\":\"café 😀 ok\"}".as_bytes();
        for cut in 0..=text.len() {
            let mut check = Utf8Check::default();
            check.push(&text[..cut]);
            check.push(&text[cut..]);
            assert!(check.valid(), "cut at {cut}");
        }
        let truncated = "café".as_bytes();
        let mut check = Utf8Check::default();
        check.push(&truncated[..truncated.len() - 1]);
        assert!(!check.valid(), "a message may not end inside a character");
        let mut check = Utf8Check::default();
        check.push(b"ok \xff");
        check.push(b"more");
        assert!(!check.valid());
    }

    fn shape_of(pieces: &[&str]) -> SpooledShape {
        let mut scanner = Scanner::default();
        for piece in pieces {
            scanner.scan(piece.as_bytes());
        }
        scanner.shape()
    }

    fn response(id: &str) -> SpooledShape {
        SpooledShape::Message(Some(ServerMessage::Response { id: Bytes::copy_from_slice(id.as_bytes()) }))
    }

    #[test]
    fn responses_with_the_id_anywhere_and_split_anywhere() {
        let texts = [
            (r#"{"jsonrpc":"2.0","id":17,"result":{"content":[{"type":"text","text":"a \"q\" } ] {"}]}}"#, "17"),
            (r#"{ "result" : { "id" : 99 , "method": "x" } , "jsonrpc" : "2.0" , "id" : "abc\"d" }"#, r#""abc\"d""#),
            ("{\"error\":{\"code\":-1,\"message\":\"m\"},\n\"id\":\n-5\n}", "-5"),
        ];
        for (text, id) in texts {
            for split in 0..text.len() {
                assert_eq!(shape_of(&[&text[..split], &text[split..]]), response(id), "{text} split at {split}");
            }
        }
    }

    #[test]
    fn requests_notifications_batches_and_junk() {
        let other = SpooledShape::Message(Some(ServerMessage::Other));
        assert_eq!(shape_of(&[r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"id":1}}"#]), other);
        assert_eq!(shape_of(&[r#"{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage"}"#]), other);
        assert_eq!(shape_of(&[" [ {\"jsonrpc\":\"2.0\"} ]"]), SpooledShape::Batch);
        for junk in [
            r#"{"jsonrpc":"2.0","id":1,"result":{"#,
            r#"{"jsonrpc":"2.0","id":1,"result":"unterminated}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"result":{}}"#,
            r#"{"id":1,"result":{}} {"#,
            "<html>",
        ] {
            assert_eq!(shape_of(&[junk]), SpooledShape::Message(None), "{junk}");
        }
    }

    #[test]
    fn a_large_message_that_is_not_json_is_no_message() {
        let text = "y".repeat(1 << 20);
        for (fault, at) in [("\u{1}", "inside a string"), (r#"","a":tru"#, "a literal"), (r#"","n":01"#, "a number")] {
            let message = format!(r#"{{"jsonrpc":"2.0","id":7,"result":{{"text":"{text}{fault}"}}}}"#);
            let mut writer = SpoolWriter::new().unwrap();
            for piece in message.as_bytes().chunks(65_536) {
                writer.push(piece).unwrap();
            }
            assert_eq!(writer.finish().shape(), &SpooledShape::Message(None), "a fault in {at}");
        }
        let mut writer = SpoolWriter::new().unwrap();
        writer.push(format!("[{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"{text}\"}},]").as_bytes()).unwrap();
        assert_eq!(writer.finish().shape(), &SpooledShape::Message(None), "an invalid batch is no batch");
    }

    #[test]
    fn a_spooled_message_is_one_line_and_reads_back_whole() {
        let mut writer = SpoolWriter::new().unwrap();
        let text = format!("{{\"jsonrpc\":\"2.0\",\r\n\"id\":1,\"result\":{{\"text\":\"{}\"}}}}", "x".repeat(200_000));
        for piece in text.as_bytes().chunks(7_919) {
            writer.push(piece).unwrap();
        }
        let mut spooled = writer.finish();
        assert_eq!(spooled.shape(), &response("1"));
        spooled.seek_to(0).unwrap();
        let (mut copied, mut piece) = (Vec::new(), Vec::new());
        loop {
            spooled.read_piece(&mut piece).unwrap();
            if piece.is_empty() {
                break;
            }
            assert!(piece.len() <= COPY_PIECE);
            copied.extend_from_slice(&piece);
        }
        assert_eq!(copied, text.replace(['\r', '\n'], " ").into_bytes());
        assert_eq!(spooled.into_bytes().unwrap(), copied);
    }
}
