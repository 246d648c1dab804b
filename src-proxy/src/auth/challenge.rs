//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3): the Bearer challenge's
//! `resource_metadata` (RFC 9728), `scope` and `error` parameters.

/// What a Bearer challenge says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
}

impl Challenge {
    /// Reads the Bearer challenge from a `WWW-Authenticate` value; other schemes are skipped.
    /// A missing or unparsable header gives an empty challenge (discovery then uses defaults).
    pub fn parse(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::default();
        };
        let mut challenge = Self::default();
        let mut in_bearer = false;
        for item in split_items(header) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            // An item either starts a new challenge ("Scheme [param]") or continues with a param.
            let (scheme, rest) = match item.split_once(|c: char| c.is_ascii_whitespace()) {
                Some((first, rest)) if !first.contains('=') => (Some(first), rest.trim()),
                None if !item.contains('=') => (Some(item), ""),
                _ => (None, item),
            };
            if let Some(scheme) = scheme {
                in_bearer = scheme.eq_ignore_ascii_case("bearer");
            }
            if !in_bearer || rest.is_empty() {
                continue;
            }
            if let Some((name, value)) = rest.split_once('=') {
                let value = unquote(value.trim());
                match name.trim().to_ascii_lowercase().as_str() {
                    "resource_metadata" => challenge.resource_metadata = Some(value),
                    "scope" => challenge.scope = Some(value),
                    "error" => challenge.error = Some(value),
                    _ => {}
                }
            }
        }
        challenge
    }

    /// True for a 403 that asks for more scope (RFC 6750 §3.1).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Splits at commas that are not inside a quoted string.
fn split_items(header: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&header[start..]);
    items
}

fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parameters_are_read() {
        let c = Challenge::parse(Some(
            r#"Bearer error="invalid_token", error_description="Missing, really", scope="mcp:basic mcp:read", resource_metadata="http://localhost:3000/.well-known/oauth-protected-resource/mcp""#,
        ));
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope.as_deref(), Some("mcp:basic mcp:read"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://localhost:3000/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn other_schemes_tokens_and_escapes() {
        let c = Challenge::parse(Some(
            r#"Basic realm="x, y", Bearer realm="api",error=insufficient_scope, scope="a \"b\"""#,
        ));
        assert!(c.is_insufficient_scope());
        assert_eq!(c.scope.as_deref(), Some(r#"a "b""#));
        assert_eq!(Challenge::parse(Some("Basic realm=\"only\"")), Challenge::default());
        assert_eq!(Challenge::parse(None), Challenge::default());
        assert_eq!(Challenge::parse(Some("Bearer")), Challenge::default());
    }
}
