//! Plays Claude Desktop for the official MCP conformance suite (`conformance client --command`).
//!
//! Invoked as `conformance-driver <server-url>`, it spawns `mcp-remote <server-url> --allow-http`
//! exactly as Claude Desktop would and, through it, runs initialize → tools/list → tools/call of
//! every listed tool (arguments built from each input schema), answering server requests such as
//! elicitation with the schema's defaults. Exits 0 when every step succeeded.

use mcp_remote_tests::sidecar::{tool_text, Sidecar};
use serde_json::{json, Map, Value};
use std::process::ExitCode;
use std::time::Duration;

/// Finish well inside the suite's own 30 s client timeout.
const OVERALL: Duration = Duration::from_secs(25);

/// A value of the right type for each required property of a JSON schema.
fn arguments_for(schema: &Value) -> Value {
    let mut arguments = Map::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema.get("properties").and_then(Value::as_object);
    for (index, name) in required.iter().enumerate() {
        let kind = properties
            .and_then(|p| p.get(*name))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("string");
        let value = match kind {
            "number" | "integer" => json!(index + 2),
            "boolean" => json!(true),
            "object" => json!({}),
            "array" => json!([]),
            _ => json!("conformance"),
        };
        arguments.insert((*name).to_string(), value);
    }
    Value::Object(arguments)
}

async fn drive(url: &str) -> Result<(), String> {
    let mut sidecar = Sidecar::spawn(url);
    sidecar.initialize().await;
    let listed = sidecar.request("tools/list", json!({})).await;
    let tools = listed
        .pointer("/result/tools")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("tools/list failed: {listed}"))?;
    for tool in &tools {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        let arguments = arguments_for(tool.get("inputSchema").unwrap_or(&Value::Null));
        let response = sidecar.request("tools/call", json!({ "name": name, "arguments": arguments })).await;
        let text = tool_text(&response).ok_or_else(|| format!("tools/call {name} failed: {response}"))?;
        eprintln!("conformance-driver: {name} -> {text}");
    }
    let violations = sidecar.violations();
    let status = sidecar.close().await;
    if !violations.is_empty() {
        return Err(format!("non-JSON-RPC lines on stdout: {violations:?}"));
    }
    if !status.success() {
        return Err(format!("mcp-remote exited with {status}\n{}", sidecar.stderr_tail()));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: conformance-driver <server-url>");
        return ExitCode::from(2);
    };
    match tokio::time::timeout(OVERALL, drive(&url)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(why)) => {
            eprintln!("conformance-driver: {why}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("conformance-driver: gave up after {OVERALL:?}");
            ExitCode::FAILURE
        }
    }
}
