//! A small W3C WebDriver client (plain HTTP + JSON), enough to drive the tray app's window through
//! `tauri-driver` and WebKitWebDriver: find, click, type, run a script, take a screenshot.

use base64::Engine;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Starts a session that launches `application` (the tray app binary).
    pub async fn start(port: u16, application: &Path) -> Result<Self, String> {
        let http = reqwest::Client::new();
        let body = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "wry",
            "tauri:options": { "application": application.display().to_string() }
        } } });
        let root = format!("http://127.0.0.1:{port}");
        let response: Value = http
            .post(format!("{root}/session"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let id = response["value"]["sessionId"].as_str().ok_or_else(|| format!("no session: {response}"))?;
        Ok(Self { http, base: format!("{root}/session/{id}") })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value =
            request.send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        if let Some(error) = response["value"].get("error") {
            return Err(format!("{path}: {error} {}", response["value"]["message"]));
        }
        Ok(response["value"].clone())
    }

    /// Runs `script` in the page (a function body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Returns once the page has painted what its DOM holds now (two animation frames), so a
    /// screenshot shows it.
    pub async fn painted(&self) -> Result<(), String> {
        let script = "const done = arguments[arguments.length - 1]; \
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] })))
            .await
            .map(|_| ())
    }

    /// Waits until `script` returns a truthy value; gives up after `timeout`.
    pub async fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(value) = self.execute(script, json!([])).await {
                if !matches!(value, Value::Null | Value::Bool(false)) && value != json!("") {
                    return Ok(value);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Result<String, String> {
        let mut attempts = 0;
        let value = loop {
            let found = self
                .call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css })))
                .await;
            match found {
                Err(e) if e.contains("stale") && attempts < 5 => attempts += 1,
                other => break other?,
            }
        };
        value[ELEMENT_KEY].as_str().map(str::to_owned).ok_or_else(|| format!("no element {css}: {value}"))
    }

    /// Clicks the element `css` finds, scrolled to the middle of its scrolling box first (at an
    /// edge, a dialog's sticky footer may cover it). The window re-renders its list when the
    /// config dir changes, so an element that went stale between finding and clicking is found
    /// again.
    pub async fn click(&self, css: &str) -> Result<(), String> {
        let mut attempts = 0;
        loop {
            let element = self.find(css).await?;
            let _ = self
                .execute("arguments[0].scrollIntoView({ block: 'center' })", json!([{ ELEMENT_KEY: element }]))
                .await;
            match self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await {
                Err(e) if e.contains("stale") && attempts < 5 => attempts += 1,
                other => return other.map(|_| ()),
            }
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let element = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({ "text": text })))
            .await
            .map(|_| ())
    }

    /// Handles of the app's open windows.
    pub async fn windows(&self) -> Result<Vec<String>, String> {
        let value = self.call(reqwest::Method::GET, "/window/handles", None).await?;
        Ok(value
            .as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// A PNG of the current window.
    pub async fn screenshot(&self) -> Result<Vec<u8>, String> {
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or_default()).map_err(|e| e.to_string())
    }

    pub async fn end(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
