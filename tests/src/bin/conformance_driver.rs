//! Plays Claude Desktop for the official MCP conformance suite (`conformance client --command`).
//!
//! Invoked as `conformance-driver <server-url>`, it spawns `mcp-remote <server-url> --allow-http`
//! exactly as Claude Desktop would and, through it, runs initialize → tools/list → tools/call of
//! every listed tool (arguments built from each input schema), answering server requests such as
//! elicitation with the schema's defaults. Exits 0 when every step succeeded.
//!
//! Where the scenario's context lists the tool calls to make (`toolCalls`, as in
//! `http-custom-headers`), those are made with exactly those arguments instead. When the server
//! offers resources or prompts, it lists them and reads or gets each, as Claude Desktop does
//! (failures there are reported, not fatal). `json-schema-ref-no-deref` serves `tools/list` only,
//! so no tool is called there.
//!
//! For the auth scenarios it configures the sidecar as a user would: `BROWSER` is a script that
//! follows the authorization redirects, a Client ID Metadata Document URL is offered, and the
//! pre-registered client of `MCP_CONFORMANCE_CONTEXT` (when the scenario gives one) is passed as
//! `--static-oauth-client-info`. The client credentials scenarios get `--client-credentials`, and
//! the context's private key (written to a file) as `--client-private-key`.

use mcp_remote_tests::peers::peers_dir;
use mcp_remote_tests::sidecar::{tool_text, Launch, Sidecar};
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

/// The client id the `auth/basic-cimd` scenario expects, a metadata document URL.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The scenario's context (`MCP_CONFORMANCE_CONTEXT`), or null.
fn context() -> Value {
    std::env::var("MCP_CONFORMANCE_CONTEXT").ok().and_then(|c| serde_json::from_str(&c).ok()).unwrap_or(Value::Null)
}

fn launch(url: &str) -> Launch {
    let browser = peers_dir().join("browser.sh");
    let mut launch = Launch::new(url)
        .arg("--auth-timeout")
        .arg("20s")
        .arg("--client-metadata-url")
        .arg(CLIENT_METADATA_URL)
        .env("BROWSER", &browser.to_string_lossy());
    let context = context();
    if let Some(client_id) = context.get("client_id") {
        let mut info = json!({ "client_id": client_id });
        if let Some(secret) = context.get("client_secret") {
            info["client_secret"] = secret.clone();
        }
        launch = launch.arg("--static-oauth-client-info").arg(info.to_string());
    }
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    if scenario.starts_with("auth/client-credentials") {
        launch = launch.arg("--client-credentials");
    }
    if let Some(pem) = context.get("private_key_pem").and_then(Value::as_str) {
        // The key is the scenario's own, made for this run.
        let path = std::env::temp_dir().join(format!("mcp-remote-conformance-key-{}.pem", std::process::id()));
        std::fs::write(&path, pem).expect("write the scenario's key");
        launch = launch.arg("--client-private-key").arg(path.to_string_lossy().into_owned());
        if let Some(algorithm) = context.get("signing_algorithm").and_then(Value::as_str) {
            launch = launch.arg("--client-key-algorithm").arg(algorithm);
        }
    }
    launch
}

async fn drive(url: &str) -> Result<(), String> {
    let mut sidecar = Sidecar::spawn_with(launch(url));
    let init = sidecar.initialize().await;
    let listed = sidecar.request("tools/list", json!({})).await;
    let tools = listed
        .pointer("/result/tools")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("tools/list failed: {listed}"))?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let calls: Vec<(String, Value)> = match context().get("toolCalls").and_then(Value::as_array) {
        Some(calls) => {
            calls.iter().map(|c| (c["name"].as_str().unwrap_or_default().to_owned(), c["arguments"].clone())).collect()
        }
        None if scenario == "json-schema-ref-no-deref" => Vec::new(),
        None => tools
            .iter()
            .map(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                (name, arguments_for(tool.get("inputSchema").unwrap_or(&Value::Null)))
            })
            .collect(),
    };
    for (name, arguments) in calls {
        let response = sidecar.request("tools/call", json!({ "name": name, "arguments": arguments })).await;
        let text = tool_text(&response).ok_or_else(|| format!("tools/call {name} failed: {response}"))?;
        eprintln!("conformance-driver: {name} -> {text}");
    }
    let capabilities = &init["result"]["capabilities"];
    if capabilities.get("resources").is_some() {
        for uri in listed_field(&sidecar, "resources/list", "resources", "uri").await {
            report(&sidecar.request("resources/read", json!({ "uri": uri })).await, "resources/read");
        }
    }
    if capabilities.get("prompts").is_some() {
        for name in listed_field(&sidecar, "prompts/list", "prompts", "name").await {
            report(&sidecar.request("prompts/get", json!({ "name": name, "arguments": {} })).await, "prompts/get");
        }
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

/// `field` of each item of the `list` array a list request answers (empty when it fails).
async fn listed_field(sidecar: &Sidecar, method: &str, list: &str, field: &str) -> Vec<String> {
    let answer = sidecar.request(method, json!({})).await;
    report(&answer, method);
    let items = answer["result"][list].as_array().cloned().unwrap_or_default();
    items.iter().filter_map(|item| item[field].as_str().map(str::to_owned)).collect()
}

fn report(answer: &Value, method: &str) {
    if answer.get("error").is_some() {
        eprintln!("conformance-driver: {method} failed: {answer}");
    }
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
