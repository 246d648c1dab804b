//! A streaming JSON validator (RFC 8259), fed a message in pieces as it arrives.
//!
//! The spool ([`crate::spool`]) runs every large message through it while writing it, so a message
//! that is not JSON never reaches stdout, without a second pass over the file. It keeps no tree
//! and allocates nothing: its state is one small enum, the container nesting as a bit stack, and a
//! position inside a literal or escape. String content (most of a large message) is skipped by
//! searching only for what ends or escapes a string and for control characters: eight bytes at a
//! time for short runs, memchr's SIMD search and vectorized blocks for long ones ([`plain_run`]).
//! UTF-8 is checked elsewhere (the spool's `Utf8Check`); here any byte of 0x80 and above inside a
//! string is content.

/// Nesting deeper than this is refused. Far beyond any real message (parsers that recurse, as
/// Python's does, give up near 1000), it keeps the validator's state a fixed size. (The small-
/// message path, serde's `IgnoredAny`, skips nested values without a limit.)
pub const MAX_DEPTH: u32 = 1024;

/// Where the validator is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a value (the document's, an array element's after `,`, or an object member's).
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrEnd,
    /// Just after `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value: `,`, the closing bracket, or (at the top) the end.
    AfterValue,
    /// Inside a string; `key` says where it leads once it ends.
    String { key: bool },
    /// After a backslash in a string.
    Escape { key: bool },
    /// Inside `\uXXXX`, with this many hex digits left.
    Unicode { key: bool, left: u8 },
    /// After `-`: a digit.
    Minus,
    /// After a leading `0`: no more integer digits.
    Zero,
    /// Integer digits.
    Int,
    /// After `.`: a digit.
    Dot,
    /// Fraction digits.
    Frac,
    /// After `e`/`E`: a sign or a digit.
    Exp,
    /// After the exponent's sign: a digit.
    ExpSign,
    /// Exponent digits.
    ExpDigits,
    /// Inside `true`, `false` or `null`: the literal and how many of its bytes were seen.
    Literal { word: &'static [u8], seen: u8 },
    /// The top-level value ended; only whitespace may follow.
    Done,
    /// Not JSON; stays so.
    Invalid,
}

/// Validates one JSON text fed in any number of pieces; see the module's doc.
#[derive(Debug, Clone)]
pub struct JsonCheck {
    state: State,
    depth: u32,
    /// Bit `i` is set when the container at depth `i + 1` is an array.
    arrays: [u64; MAX_DEPTH as usize / 64],
}

impl Default for JsonCheck {
    fn default() -> Self {
        Self { state: State::Value, depth: 0, arrays: [0; MAX_DEPTH as usize / 64] }
    }
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in the first byte of `word` (little-endian) that is `"`, `\` or
/// a control character; bytes after that one may be flagged falsely, the first never is.
#[inline]
fn special(word: u64) -> u64 {
    let quote = word ^ (LOW * u64::from(b'"'));
    let backslash = word ^ (LOW * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(LOW) & !x;
    (zero(quote) | zero(backslash) | word.wrapping_sub(LOW * 0x20)) & !word & HIGH
}

/// How many leading bytes of `bytes` are plain string content (not `"`, `\` or below 0x20). The
/// first [`SHORT_RUN`] bytes are searched eight at a time, which suits text with escapes every few
/// words; a longer run is searched by memchr's SIMD search for `"` and `\`, and the bytes before
/// that are checked for control characters in blocks the compiler vectorizes.
#[inline]
fn plain_run(bytes: &[u8]) -> usize {
    let mut at = 0;
    while at < SHORT_RUN {
        let Some(chunk) = bytes.get(at..at + 8) else {
            let rest = &bytes[at..];
            return at + rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len());
        };
        let found = special(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let rest = &bytes[at..];
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    at + first_control(&rest[..end]).unwrap_or(end)
}

/// Bytes searched eight at a time before [`plain_run`] switches to SIMD searches.
const SHORT_RUN: usize = 32;
/// The blocks [`first_control`] checks at once.
const CONTROL_BLOCK: usize = 256;

/// Where the first byte below 0x20 in `run` is, if any.
fn first_control(run: &[u8]) -> Option<usize> {
    let mut at = 0;
    for block in run.chunks(CONTROL_BLOCK) {
        // No early exit inside a block: the fold is branch-free, so it is vectorized.
        if block.iter().fold(false, |any, &b| any | (b < 0x20)) {
            return block.iter().position(|&b| b < 0x20).map(|i| at + i);
        }
        at += block.len();
    }
    None
}

impl JsonCheck {
    /// Checks the next piece of the text.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            if let State::String { key } = self.state {
                at += plain_run(&bytes[at..]);
                let Some(&b) = bytes.get(at) else { return };
                at += 1;
                self.state = match b {
                    b'"' if key => State::Colon,
                    b'"' => self.after_value(),
                    b'\\' => State::Escape { key },
                    _ => State::Invalid,
                };
                continue;
            }
            if self.state == State::Invalid {
                return;
            }
            self.step(bytes[at]);
            at += 1;
        }
    }

    /// Whether everything pushed is one complete JSON text.
    pub fn valid(&self) -> bool {
        matches!(self.state, State::Done)
            || (self.depth == 0 && matches!(self.state, State::Zero | State::Int | State::Frac | State::ExpDigits))
    }

    /// Where a value that just ended leads.
    fn after_value(&self) -> State {
        if self.depth == 0 {
            State::Done
        } else {
            State::AfterValue
        }
    }

    fn open(&mut self, array: bool) -> State {
        if self.depth == MAX_DEPTH {
            return State::Invalid;
        }
        let (word, bit) = ((self.depth / 64) as usize, 1u64 << (self.depth % 64));
        self.arrays[word] = if array { self.arrays[word] | bit } else { self.arrays[word] & !bit };
        self.depth += 1;
        if array {
            State::ValueOrEnd
        } else {
            State::KeyOrEnd
        }
    }

    /// Closes the innermost container with `b` (`]` or `}`), if that is what it is.
    fn close(&mut self, b: u8) -> State {
        if self.depth == 0 || self.in_array() != (b == b']') {
            return State::Invalid;
        }
        self.depth -= 1;
        self.after_value()
    }

    fn step(&mut self, b: u8) {
        let whitespace = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        self.state = match self.state {
            State::Value | State::ValueOrEnd if whitespace => return,
            State::ValueOrEnd if b == b']' => self.close(b),
            State::Value | State::ValueOrEnd => self.value_start(b),
            State::KeyOrEnd | State::Key | State::Colon | State::AfterValue | State::Done if whitespace => return,
            State::KeyOrEnd if b == b'}' => self.close(b),
            State::KeyOrEnd | State::Key if b == b'"' => State::String { key: true },
            State::Colon if b == b':' => State::Value,
            State::AfterValue => self.after_value_byte(b),
            State::Escape { key } => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => State::String { key },
                b'u' => State::Unicode { key, left: 4 },
                _ => State::Invalid,
            },
            State::Unicode { key, left } if b.is_ascii_hexdigit() => match left {
                1 => State::String { key },
                _ => State::Unicode { key, left: left - 1 },
            },
            State::Minus if b == b'0' => State::Zero,
            State::Minus if b.is_ascii_digit() => State::Int,
            State::Int if b.is_ascii_digit() => State::Int,
            State::Zero | State::Int if b == b'.' => State::Dot,
            State::Dot | State::Frac if b.is_ascii_digit() => State::Frac,
            State::Zero | State::Int | State::Frac if b == b'e' || b == b'E' => State::Exp,
            State::Exp if b == b'+' || b == b'-' => State::ExpSign,
            State::Exp | State::ExpSign | State::ExpDigits if b.is_ascii_digit() => State::ExpDigits,
            // A complete number ends at the first byte that cannot continue it.
            State::Zero | State::Int | State::Frac | State::ExpDigits => {
                self.state = self.after_value();
                return self.step(b);
            }
            State::Literal { word, seen } if word[usize::from(seen)] == b => {
                if usize::from(seen) + 1 == word.len() {
                    self.after_value()
                } else {
                    State::Literal { word, seen: seen + 1 }
                }
            }
            _ => State::Invalid,
        };
    }

    fn value_start(&mut self, b: u8) -> State {
        match b {
            b'{' => self.open(false),
            b'[' => self.open(true),
            b'"' => State::String { key: false },
            b'-' => State::Minus,
            b'0' => State::Zero,
            b'1'..=b'9' => State::Int,
            b't' => State::Literal { word: b"true", seen: 1 },
            b'f' => State::Literal { word: b"false", seen: 1 },
            b'n' => State::Literal { word: b"null", seen: 1 },
            _ => State::Invalid,
        }
    }

    /// Whether the innermost open container is an array (`depth` > 0).
    fn in_array(&self) -> bool {
        let at = self.depth - 1;
        self.arrays[(at / 64) as usize] & (1u64 << (at % 64)) != 0
    }

    fn after_value_byte(&mut self, b: u8) -> State {
        match b {
            b',' if self.in_array() => State::Value,
            b',' => State::Key,
            b']' | b'}' => self.close(b),
            _ => State::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in(pieces: &[&[u8]]) -> bool {
        let mut check = JsonCheck::default();
        for piece in pieces {
            check.push(piece);
        }
        check.valid()
    }

    /// Checks `text` whole, cut at every byte, and cut into single bytes; all must agree with
    /// serde_json and with `expected`.
    fn agrees(text: &str, expected: bool) {
        let bytes = text.as_bytes();
        assert_eq!(serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok(), expected, "serde on {text:?}");
        assert_eq!(check_in(&[bytes]), expected, "{text:?}");
        for cut in 0..=bytes.len() {
            assert_eq!(check_in(&[&bytes[..cut], &bytes[cut..]]), expected, "{text:?} cut at {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(check_in(&singles), expected, "{text:?} byte by byte");
    }

    #[test]
    fn valid_documents_pass_cut_anywhere() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a \"q\" } ] {"}]}}"#,
            "{ \"a\" : [ 1 , -0 , 0.5 , -12.75e+3 , 1E9 , 2e-2 , true , false , null , \"\\u00e9\\n\\\\\\/\" ] }\r\n\t",
            r#"[]"#,
            r#"[[],{},[{}],{"":[]}]"#,
            r#""just a string with ∂ and 😀 and long enough to pass eight bytes""#,
            "0",
            "-1.5e10",
            " 12345678901234567890 ",
            "null",
            r#"{"escapes":"\"\\\b\f\n\r\t\u12aF"}"#,
        ] {
            agrees(text, true);
        }
    }

    #[test]
    fn invalid_documents_fail_cut_anywhere() {
        for text in [
            "",
            "   ",
            r#"{"a": tru}"#,
            r#"{"a": tru"#,
            r#"{"a": nul}"#,
            r#"{"a": falsy}"#,
            "{\"a\":\"raw \u{1} control\"}",
            "{\"a\":\"raw \t tab\"}",
            "{\"a\":\"raw \n newline\"}",
            r#"{"a":"bad \x escape"}"#,
            r#"{"a":"\u12g4"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":01}"#,
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":1e+}"#,
            r#"{"a":+1}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"[1 2]"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{1:2}"#,
            r#"{"a":1]"#,
            r#"[1}"#,
            r#"{"a":1}}"#,
            r#"{"a":1} x"#,
            r#"{"a":1} {"b":2}"#,
            r#"1 2"#,
            r#"{"a":[1,2"#,
            "{\"a\":1}\u{0}",
        ] {
            agrees(text, false);
        }
    }

    #[test]
    fn every_control_character_in_a_string_is_refused_and_others_pass() {
        for b in 0u8..=0x7f {
            let text = [b"{\"long enough key\":\"0123456789".as_slice(), &[b], b"abcdefghij\"}"].concat();
            let expected = !(b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(check_in(&[&text]), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn nesting_is_bounded_like_serde() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(check_in(&[nested(MAX_DEPTH as usize).as_bytes()]));
        assert!(!check_in(&[nested(MAX_DEPTH as usize + 1).as_bytes()]));
        let mixed = format!("{}[]{}", "[{\"k\":".repeat(300), "}]".repeat(300));
        agrees(&mixed, true);
        agrees(&mixed.replacen("}]", "]}", 1), false);
        let objects = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH as usize), "}".repeat(MAX_DEPTH as usize));
        assert!(check_in(&[objects.as_bytes()]));
        assert!(!check_in(&[format!("{{\"b\":{objects}}}").as_bytes()]));
        // Far deeper input stays cheap: the first bracket over the limit ends it.
        assert!(!check_in(&["[".repeat(1 << 20).as_bytes()]));
    }

    #[test]
    fn plain_runs_stop_at_the_first_special_byte() {
        let text = b"abcdefgh\xc3\xa9ijklmnopqrstu\"vw";
        assert_eq!(plain_run(text), text.iter().position(|&b| b == b'"').unwrap());
        // Within the first eight-byte words, past them (the SIMD searches), across a block edge.
        for special_byte in [b'"', b'\\', 0x00, 0x1f] {
            for at in (0..80).chain(CONTROL_BLOCK + SHORT_RUN - 3..CONTROL_BLOCK + SHORT_RUN + 3).chain([1000]) {
                let mut text = vec![b'x'; 1200];
                text[at] = special_byte;
                assert_eq!(plain_run(&text), at, "{special_byte:#x} at {at}");
                text[at + 150] = b'"';
                assert_eq!(plain_run(&text), at, "{special_byte:#x} at {at}, a quote after it");
            }
        }
        assert_eq!(plain_run(&[0xffu8; 19]), 19);
        assert_eq!(plain_run(b" !#[]~\x7f"), 7);
    }
}
