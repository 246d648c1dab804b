//! The commands for people without the tray app: `login`, `logout`, `status`, `client` and
//! `import-npm`. Their output is for a person at a terminal (stdout for results, stderr for
//! progress, with a spinner while a browser or device sign-in is awaited); `status --json` is
//! for scripts.

mod import_npm;
mod session;
mod status;
mod terminal;

use crate::cli::{Config, ToolCall};
use crate::store::Store;
use serde_json::{json, Value};
use session::Session;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use terminal::{multi_line, one_line};

pub use import_npm::import as import_npm;

/// How much of a tool's description `client` prints.
const DESCRIPTION_CHARS: usize = 90;

/// `login`: connects as a client would, which signs in when the server asks for it; then says
/// who it is signed in as.
pub async fn login(config: Config) -> ExitCode {
    let (store, key, url) = (Store::new(&config.config_dir), config.server_key(), config.server_url_arg.clone());
    let mut session = Session::start(config);
    let connected = with_spinner("connecting, and signing in if the server asks", session.initialize()).await;
    session.close().await;
    match connected {
        Ok(_) => {
            let state = crate::status::SignInStatus::read(&store.server(&key));
            println!("{url}: {}", state.describe(crate::store::unix_now()));
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// `logout`: removes the server's tokens, client registration and metadata from the store.
pub fn logout(config: &Config) -> ExitCode {
    let dir = Store::new(&config.config_dir).server(&config.server_key());
    let had_tokens = matches!(dir.tokens(), Ok(Some(_)));
    match dir.reset() {
        Ok(()) if had_tokens => {
            println!("{}: signed out (tokens removed)", config.server_url_arg);
            ExitCode::SUCCESS
        }
        Ok(()) => {
            println!("{}: was not signed in", config.server_url_arg);
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error.to_string()),
    }
}

/// `status`: a table of every stored server, or JSON.
pub fn status(config_dir: &std::path::Path, json: bool) -> ExitCode {
    match status::read_all(&Store::new(config_dir)) {
        Ok(servers) if json => {
            println!("{}", serde_json::to_string_pretty(&servers).expect("a JSON value encodes"));
            ExitCode::SUCCESS
        }
        Ok(servers) => {
            print!("{}", status::table(&servers, crate::store::unix_now()));
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error.to_string()),
    }
}

/// `client`: connects, prints the server and its tools, and calls one if asked. Everything the
/// server wrote is printed through [`terminal`], so its control characters show and do nothing.
pub async fn client(config: Config, call: Option<ToolCall>) -> ExitCode {
    let mut session = Session::start(config);
    let outcome = run_client(&mut session, call).await;
    session.close().await;
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => fail(&error),
    }
}

/// Ok(false): the tool ran and reported an error.
async fn run_client(session: &mut Session, call: Option<ToolCall>) -> Result<bool, String> {
    let init = with_spinner("connecting, and signing in if the server asks", session.initialize()).await?;
    let server = &init["serverInfo"];
    println!(
        "Connected to {} {} (MCP {})",
        one_line(server["name"].as_str().unwrap_or("a server")),
        one_line(server["version"].as_str().unwrap_or("")),
        one_line(init["protocolVersion"].as_str().unwrap_or("?"))
    );
    let mut tools = Vec::new();
    let mut cursor: Option<Value> = None;
    loop {
        let params = cursor.take().map_or_else(|| json!({}), |c| json!({ "cursor": c }));
        let page = session.request("tools/list", params).await?;
        tools.extend(page["tools"].as_array().cloned().unwrap_or_default());
        match page.get("nextCursor").filter(|c| !c.is_null()) {
            Some(next) => cursor = Some(next.clone()),
            None => break,
        }
    }
    println!("Tools ({}):", tools.len());
    for tool in &tools {
        let name = one_line(tool["name"].as_str().unwrap_or("?"));
        let about = one_line(tool["description"].as_str().unwrap_or("").lines().next().unwrap_or(""));
        let about: String = match about.char_indices().nth(DESCRIPTION_CHARS) {
            Some((cut, _)) => format!(" — {}…", &about[..cut]),
            None if about.is_empty() => String::new(),
            None => format!(" — {about}"),
        };
        println!("  {name}{about}");
    }
    let Some(call) = call else {
        return Ok(true);
    };
    let result = session.request("tools/call", json!({ "name": call.name, "arguments": call.arguments })).await?;
    println!("{} →", one_line(&call.name));
    for item in result["content"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("text") => println!("{}", multi_line(item["text"].as_str().unwrap_or(""))),
            // JSON escapes C0 controls, not C1 ones nor the bidirectional marks.
            _ => println!("{}", one_line(&item.to_string())),
        }
    }
    if let Some(structured) = result.get("structuredContent").filter(|s| !s.is_null()) {
        println!("{}", one_line(&structured.to_string()));
    }
    Ok(result["isError"] != json!(true))
}

/// Prints the error; it may quote the server (a JSON-RPC error's message).
fn fail(error: &str) -> ExitCode {
    eprintln!("mcp-remote: {}", one_line(error));
    ExitCode::FAILURE
}

/// Runs `work`, showing `what` with a spinner on stderr meanwhile when stderr is a terminal.
async fn with_spinner<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    tokio::pin!(work);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut frame = 0;
    let done = loop {
        tokio::select! {
            done = &mut work => break done,
            _ = tick.tick() => {
                eprint!("\r{} {what}…", FRAMES[frame % FRAMES.len()]);
                frame += 1;
            }
        }
    };
    eprint!("\r\x1b[2K");
    done
}
