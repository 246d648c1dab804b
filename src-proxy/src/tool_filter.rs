//! Which of the server's tools the client may see and call (`--ignore-tool`, `--allow-tool`).
//!
//! Patterns are globs (`*` any run of characters, `?` one), matched against the whole tool name
//! without regard to case, as the npm proxy's `--ignore-tool` does.
//! A tool is offered when it matches an `--allow-tool` pattern (or none is given) and no
//! `--ignore-tool` pattern. The proxy notes the id of each `tools/list` request it forwards; the
//! response to that id has the hidden tools taken out of `result.tools` (the only messages this
//! filter re-encodes; a client refetching after `notifications/tools/list_changed` sends a
//! `tools/list` like any other). A `tools/call` of a hidden tool is answered by the proxy with
//! an error and never reaches the server.

use crate::jsonrpc;
use crate::stdio::Outgoing;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;
use tracing::warn;
use wildmatch::WildMatch;

pub struct ToolFilter {
    ignore: Vec<WildMatch>,
    allow: Vec<WildMatch>,
    /// Ids (raw JSON text) of `tools/list` requests whose responses are to be filtered.
    lists: Mutex<HashSet<Bytes>>,
}

impl ToolFilter {
    /// The filter the patterns make; `None` when there are none (every tool is offered).
    pub fn new(ignore: &[String], allow: &[String]) -> Option<Self> {
        if ignore.is_empty() && allow.is_empty() {
            return None;
        }
        let globs = |patterns: &[String]| patterns.iter().map(|p| WildMatch::new_case_insensitive(p)).collect();
        Some(Self { ignore: globs(ignore), allow: globs(allow), lists: Mutex::new(HashSet::new()) })
    }

    /// True when the client may see and call `tool`.
    pub fn permits(&self, tool: &str) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|g| g.matches(tool)))
            && !self.ignore.iter().any(|g| g.matches(tool))
    }

    /// The proxy's answer to a `tools/call` of a hidden tool.
    pub fn refusal(&self, id: &[u8], tool: &str) -> Bytes {
        let message =
            format!("Tool {tool:?} is not available: mcp-remote filters it out (--ignore-tool / --allow-tool)");
        jsonrpc::error_response(Some(id), jsonrpc::code::INVALID_PARAMS, &message, None)
    }

    /// The client sent `tools/list` with `id`: its response is to be filtered.
    pub fn expect_list(&self, id: &Bytes) {
        self.lists.lock().expect("poisoned").insert(id.clone());
    }

    /// The request `id` is over (answered or given up): nothing more is expected for it.
    pub fn done(&self, id: &[u8]) {
        self.lists.lock().expect("poisoned").remove(id);
    }

    /// The response for `id`, with hidden tools removed when it answers a `tools/list`.
    pub fn response(&self, id: &[u8], message: Outgoing) -> Outgoing {
        if !self.lists.lock().expect("poisoned").remove(id) {
            return message;
        }
        let body = match message {
            Outgoing::Line(line) => line,
            Outgoing::Spooled(spooled) => match spooled.into_bytes() {
                Ok(body) => body,
                Err(error) => {
                    warn!(%error, "cannot read back a spooled tools/list answer");
                    let text = "mcp-remote could not read the server's tools/list answer back";
                    return Outgoing::Line(jsonrpc::error_response(
                        Some(id),
                        jsonrpc::code::TRANSPORT_ERROR,
                        text,
                        None,
                    ));
                }
            },
        };
        Outgoing::Line(self.filtered(body))
    }

    /// `body` with the hidden tools taken out of `result.tools`; unchanged when nothing is hidden
    /// or it is not a list of tools.
    fn filtered(&self, body: Bytes) -> Bytes {
        let Ok(mut response) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        let Some(tools) = response.pointer_mut("/result/tools").and_then(Value::as_array_mut) else {
            return body;
        };
        let before = tools.len();
        tools.retain(|tool| tool.get("name").and_then(Value::as_str).is_none_or(|name| self.permits(name)));
        if tools.len() == before {
            return body;
        }
        Bytes::from(serde_json::to_vec(&response).expect("a JSON value encodes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(ignore: &[&str], allow: &[&str]) -> ToolFilter {
        let owned = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ToolFilter::new(&owned(ignore), &owned(allow)).unwrap()
    }

    #[test]
    fn no_patterns_means_no_filter() {
        assert!(ToolFilter::new(&[], &[]).is_none());
    }

    #[test]
    fn globs_match_whole_names_and_ignore_beats_allow() {
        let f = filter(&["delete*", "*_admin"], &[]);
        assert!(f.permits("echo") && f.permits("undelete"));
        assert!(!f.permits("delete") && !f.permits("deleteAll") && !f.permits("user_admin") && !f.permits("DELETE_x"));
        let f = filter(&["get_secret"], &["get_*", "echo"]);
        assert!(f.permits("get_user") && f.permits("echo"));
        assert!(!f.permits("get_secret") && !f.permits("add"));
        assert!(filter(&["a?c"], &[]).permits("abbc") && !filter(&["a?c"], &[]).permits("abc"));
    }

    #[test]
    fn only_the_expected_list_answer_is_filtered() {
        let f = filter(&["secret*"], &[]);
        let body = Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo"},{"name":"secret_read"}],"nextCursor":"n"}}"#,
        );
        let line = |o: Outgoing| match o {
            Outgoing::Line(l) => l,
            Outgoing::Spooled(_) => panic!("spooled"),
        };
        assert_eq!(line(f.response(b"7", Outgoing::Line(body.clone()))), body, "not expected: untouched");
        f.expect_list(&Bytes::from_static(b"7"));
        let filtered: Value = serde_json::from_slice(&line(f.response(b"7", Outgoing::Line(body.clone())))).unwrap();
        assert_eq!(filtered["result"]["tools"], serde_json::json!([{ "name": "echo" }]));
        assert_eq!(filtered["result"]["nextCursor"], "n");
        assert_eq!(line(f.response(b"7", Outgoing::Line(body.clone()))), body, "expected once only");
    }

    #[test]
    fn a_refusal_is_an_error_for_the_request() {
        let refusal: Value = serde_json::from_slice(&filter(&["x"], &[]).refusal(b"\"a\"", "x")).unwrap();
        assert_eq!(refusal["id"], "a");
        assert_eq!(refusal["error"]["code"], jsonrpc::code::INVALID_PARAMS);
        assert!(refusal["error"]["message"].as_str().unwrap().contains("--ignore-tool"));
    }
}
