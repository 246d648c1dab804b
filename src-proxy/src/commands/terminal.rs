//! Text from a server made safe to print on a terminal. A server's names, descriptions, results
//! and error messages are untrusted: a control character in them could retitle the window
//! (`ESC ] 0 ;`), clear the screen (`ESC [ 2 J`), move the cursor over earlier output, or reorder
//! the line's text (the bidirectional overrides). Each such character is shown escaped instead
//! (`\x1b`, `\u{202e}`), so it is seen and does nothing; the rest of an escape sequence is then
//! plain text.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach the terminal as it is: C0 controls, DEL, C1 controls and the
/// bidirectional embedding, override and isolate characters; line feed and tab too when the
/// text must stay on one line.
fn unsafe_char(c: char, one_line: bool) -> bool {
    match c {
        '\n' | '\t' => one_line,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escaped(text: &str, one_line: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_char(c, one_line)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c, one_line) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// A server's text for one line (a name, a version, a description's first line, an error).
pub fn one_line(text: &str) -> Cow<'_, str> {
    escaped(text, true)
}

/// A server's text that may run over several lines (a tool's text result): line feeds and tabs
/// are kept, every other control character is escaped.
pub fn multi_line(text: &str) -> Cow<'_, str> {
    escaped(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_shown_not_obeyed() {
        assert_eq!(one_line("echo"), "echo");
        assert!(matches!(one_line("plain ünïcode — ok"), Cow::Borrowed(_)));
        assert_eq!(one_line("\x1b]0;evil\x07name"), "\\x1b]0;evil\\x07name");
        assert_eq!(one_line("wipe\x1b[2J"), "wipe\\x1b[2J");
        assert_eq!(one_line("a\rb\nc\td\x7f"), "a\\x0db\\nc\\td\\x7f");
        // C1: CSI (U+009B) starts a sequence on its own in some terminals.
        assert_eq!(one_line("x\u{9b}2J"), "x\\x9b2J");
        assert_eq!(one_line("safe\u{202e}txt.exe"), "safe\\u{202e}txt.exe");
        assert_eq!(multi_line("line 1\n\tline 2\x1b[31m\r"), "line 1\n\tline 2\\x1b[31m\\x0d");
        for shown in [one_line("\x1b\x07\u{85}\u{2066}"), multi_line("\x00\x1b\u{9f}")] {
            assert!(!shown.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{shown:?}");
        }
    }
}
