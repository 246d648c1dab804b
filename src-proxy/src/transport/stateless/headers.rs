//! The request headers of 2026-07-28 that mirror the body: `Mcp-Name` and the `Mcp-Param-*`
//! headers a tool asks for with `x-mcp-header` annotations in its input schema. Values that are
//! not safe as plain header text travel as `=?base64?…?=`. A tool whose annotations break the
//! rules is not offered to the client at all, as the spec requires.

use base64::Engine;
use http::header::{HeaderName, HeaderValue};
use serde_json::Value;

const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// Encodes one header value: as it is when it is printable ASCII with no leading or trailing
/// whitespace (and does not itself look encoded), else as `=?base64?<UTF-8 in base64>?=`.
pub fn encode_value(text: &str) -> HeaderValue {
    let printable = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let padded = text.starts_with(' ') || text.ends_with(' ');
    let looks_encoded = text.starts_with(BASE64_PREFIX) && text.ends_with(BASE64_SUFFIX);
    let plain = printable && !padded && !looks_encoded;
    let encoded;
    let value = if plain {
        text
    } else {
        encoded = format!("{BASE64_PREFIX}{}{BASE64_SUFFIX}", base64::engine::general_purpose::STANDARD.encode(text));
        &encoded
    };
    HeaderValue::from_str(value).expect("printable ASCII")
}

/// One parameter a tool mirrors into a header: where it sits in the arguments, and the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// Property names from the arguments object down to the value.
    pub path: Vec<String>,
    pub header: HeaderName,
}

/// The headers `arguments` gives for a tool's annotated parameters; absent or null values send
/// none. Strings go as they are (encoded if need be), integers in decimal, booleans as words.
pub fn param_headers<'a>(
    annotated: &'a [ParamHeader],
    arguments: &'a Value,
) -> impl Iterator<Item = (HeaderName, HeaderValue)> + 'a {
    annotated.iter().filter_map(move |param| {
        let value = param.path.iter().try_fold(arguments, |value, key| value.get(key))?;
        let text = match value {
            Value::String(text) => encode_value(text),
            Value::Bool(flag) => HeaderValue::from_static(if *flag { "true" } else { "false" }),
            Value::Number(number) => HeaderValue::from_str(&number.to_string()).ok()?,
            _ => return None,
        };
        Some((param.header.clone(), text))
    })
}

/// Reads a tool's `x-mcp-header` annotations. `Err` names why the tool is invalid: an annotation
/// that is not a token, is repeated (in any case), sits on a non-primitive or `number` property,
/// or is reached through anything but a chain of `properties`.
pub fn annotations(input_schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(input_schema, &mut Vec::new(), true, &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for param in &found {
        if !seen.insert(param.header.as_str().to_owned()) {
            return Err(format!("x-mcp-header {:?} is used twice", param.header.as_str()));
        }
    }
    Ok(found)
}

fn walk(schema: &Value, path: &mut Vec<String>, reachable: bool, found: &mut Vec<ParamHeader>) -> Result<(), String> {
    let Value::Object(schema) = schema else {
        return Ok(());
    };
    if let Some(name) = schema.get("x-mcp-header") {
        if !reachable || path.is_empty() {
            return Err("x-mcp-header outside a chain of properties".into());
        }
        let name = name.as_str().filter(|name| !name.is_empty() && name.bytes().all(is_tchar));
        let name = name.ok_or_else(|| format!("x-mcp-header of {:?} is not a header token", path.join(".")))?;
        let primitive = matches!(schema.get("type").and_then(Value::as_str), Some("string" | "integer" | "boolean"));
        if !primitive {
            return Err(format!("x-mcp-header on {:?}, which is not a string, integer or boolean", path.join(".")));
        }
        let header = HeaderName::from_bytes(format!("mcp-param-{name}").to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("x-mcp-header {name:?} makes no header name"))?;
        found.push(ParamHeader { path: path.clone(), header });
    }
    for (key, value) in schema {
        match (key.as_str(), value) {
            ("properties", Value::Object(properties)) => {
                for (name, property) in properties {
                    path.push(name.clone());
                    walk(property, path, reachable, found)?;
                    path.pop();
                }
            }
            // `const`, `default`, `enum` and `examples` hold data, not schemas.
            ("const" | "default" | "enum" | "examples", _) => {}
            (_, Value::Object(_)) => walk(value, path, false, found)?,
            (_, Value::Array(items)) => {
                for item in items {
                    walk(item, path, false, found)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// RFC 9110 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_plain_unless_unsafe() {
        assert_eq!(encode_value("us west 1"), "us west 1");
        assert_eq!(encode_value(""), "");
        assert_eq!(encode_value("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(encode_value("\tindented"), "=?base64?CWluZGVudGVk?=");
        assert_eq!(encode_value("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
    }

    fn schema(properties: Value) -> Value {
        json!({ "type": "object", "properties": properties })
    }

    #[test]
    fn annotated_parameters_become_headers_and_nulls_none() {
        let input = schema(json!({
            "region": { "type": "string", "x-mcp-header": "Region" },
            "priority": { "type": "integer", "x-mcp-header": "Priority" },
            "verbose": { "type": "boolean", "x-mcp-header": "Verbose" },
            "nested": { "type": "object", "properties": { "zone": { "type": "string", "x-mcp-header": "Zone" } } },
            "query": { "type": "string" }
        }));
        let annotated = annotations(&input).unwrap();
        assert_eq!(annotated.len(), 4);
        let arguments =
            json!({ "region": "eu", "priority": 42, "verbose": null, "nested": { "zone": "b" }, "query": "q" });
        let mut headers: Vec<(String, String)> = param_headers(&annotated, &arguments)
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        assert_eq!(
            headers,
            [("mcp-param-priority", "42"), ("mcp-param-region", "eu"), ("mcp-param-zone", "b")]
                .map(|(n, v)| (n.to_string(), v.to_string()))
        );
    }

    #[test]
    fn invalid_annotations_invalidate_the_tool() {
        for (why, input) in [
            ("empty", schema(json!({ "a": { "type": "string", "x-mcp-header": "" } }))),
            ("object", schema(json!({ "a": { "type": "object", "x-mcp-header": "A" } }))),
            ("number", schema(json!({ "a": { "type": "number", "x-mcp-header": "A" } }))),
            ("null", schema(json!({ "a": { "type": "null", "x-mcp-header": "A" } }))),
            ("space", schema(json!({ "a": { "type": "string", "x-mcp-header": "My Region" } }))),
            ("colon", schema(json!({ "a": { "type": "string", "x-mcp-header": "Region:Primary" } }))),
            ("non-ascii", schema(json!({ "a": { "type": "string", "x-mcp-header": "Région" } }))),
            ("tab", schema(json!({ "a": { "type": "string", "x-mcp-header": "Region\t1" } }))),
            (
                "duplicate",
                schema(json!({ "a": { "type": "string", "x-mcp-header": "MyField" },
                               "b": { "type": "string", "x-mcp-header": "myfield" } })),
            ),
            (
                "inside items",
                schema(json!({ "a": { "type": "array", "items": { "type": "string", "x-mcp-header": "A" } } })),
            ),
            ("inside anyOf", json!({ "anyOf": [schema(json!({ "a": { "type": "string", "x-mcp-header": "A" } }))] })),
        ] {
            assert!(annotations(&input).is_err(), "{why}");
        }
        assert_eq!(annotations(&json!({ "type": "object" })), Ok(vec![]));
        assert_eq!(
            annotations(&schema(json!({ "a": { "type": "string", "default": { "x-mcp-header": "" } } }))),
            Ok(vec![])
        );
    }
}
