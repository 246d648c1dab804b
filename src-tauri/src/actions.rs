//! What the tray menu and the window can do, in one place: list, add/edit/remove, sign in,
//! reset, and install into Claude Desktop. Every OAuth, storage and lock operation is the
//! engine's (`mcp_remote`); this module only orchestrates.

use crate::claude_config::{self, InstallReport};
use crate::servers::{self, ServerEntry, ServerView, SignInMethod};
use crate::state::AppState;
use mcp_remote::auth::{Auth, AuthSettings, OpenPage, Opener};
use mcp_remote::store::Store;
use reqwest::Url;
use std::sync::Arc;
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The event the window listens to for a fresh server list.
pub const CHANGED_EVENT: &str = "servers-changed";

pub fn list<R: Runtime>(app: &AppHandle<R>) -> Result<Vec<ServerView>, String> {
    let state = app.state::<AppState>();
    let entries = servers::load(app, &state.store_file)?;
    Ok(entries.into_iter().map(|e| ServerView::of(e, &state.config_dir)).collect())
}

fn entry<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<ServerEntry, String> {
    let state = app.state::<AppState>();
    servers::load(app, &state.store_file)?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| format!("no server with id {id}"))
}

/// Tells the tray and the window that something changed.
pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    crate::tray::refresh(app);
    let _ = app.emit(CHANGED_EVENT, ());
}

/// Adds `entry` (no id) or replaces the entry with its id, after the engine's validation.
pub fn save<R: Runtime>(app: &AppHandle<R>, mut entry: ServerEntry) -> Result<ServerView, String> {
    let state = app.state::<AppState>();
    entry.engine_config(&state.config_dir)?;
    let mut entries = servers::load(app, &state.store_file)?;
    if entry.id.is_empty() {
        entry.id = servers::new_id();
        entries.push(entry.clone());
    } else {
        let slot = entries.iter_mut().find(|e| e.id == entry.id).ok_or("that server no longer exists")?;
        *slot = entry.clone();
    }
    servers::save(app, &state.store_file, &entries)?;
    changed(app);
    Ok(ServerView::of(entry, &state.config_dir))
}

/// Removes the entry (its credentials stay until reset, as other entries may share them).
pub fn remove<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<(), String> {
    let state = app.state::<AppState>();
    let mut entries = servers::load(app, &state.store_file)?;
    entries.retain(|e| e.id != id);
    servers::save(app, &state.store_file, &entries)?;
    changed(app);
    Ok(())
}

/// Deletes the server's credential folder: the next use signs in again.
pub fn reset<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<ServerView, String> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let config = entry.engine_config(&state.config_dir)?;
    Store::new(&state.config_dir).server(&config.server_key()).reset().map_err(|e| e.to_string())?;
    changed(app);
    Ok(ServerView::of(entry, &state.config_dir))
}

pub fn reset_all<R: Runtime>(app: &AppHandle<R>) -> Result<Vec<ServerView>, String> {
    let ids: Vec<String> = list(app)?.into_iter().map(|v| v.entry.id).collect();
    for id in ids {
        reset(app, &id)?;
    }
    list(app)
}

/// Signs in to the server: completes the sign-in a waiting sidecar published (its own listener
/// takes the redirect), or runs the engine's flow here and stores the tokens under the lock.
pub async fn sign_in<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<ServerView, String> {
    let state = app.state::<AppState>();
    if !state.begin_sign_in(id) {
        return Err("a sign-in for this server is already in progress".into());
    }
    let outcome = run_sign_in(app, id).await;
    state.end_sign_in(id);
    changed(app);
    outcome?;
    Ok(ServerView::of(entry(app, id)?, &state.config_dir))
}

async fn run_sign_in<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<(), String> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let config = entry.engine_config(&state.config_dir)?;
    let opener = match entry.sign_in_method {
        SignInMethod::Browser => {
            Opener::System { browser: std::env::var_os("BROWSER").filter(|b| !b.is_empty()).map(Into::into) }
        }
        SignInMethod::Webview => Opener::Custom(webview_opener(app.clone())),
    };
    let store = Store::new(&state.config_dir);
    if let Some(pending) = store.server(&config.server_key()).pending_sign_in() {
        let url = Url::parse(&pending.url).map_err(|e| format!("the waiting sign-in has a bad URL: {e}"))?;
        return match opener {
            Opener::System { browser } => mcp_remote::auth::open_in_browser(&url, browser.as_deref()),
            Opener::Custom(open) => open(&url),
        }
        .map_err(|e| e.to_string());
    }
    let settings = AuthSettings::from_config(&config, opener, false);
    let http = config.network.client().map_err(|e| e.to_string())?;
    let auth = Auth::new(settings, store, &config.server_key(), http).map_err(|e| e.to_string())?;
    auth.sign_in_now().await.map_err(|e| e.to_string())
}

/// Opens the authorization page in a window of this app. When it reaches the loopback redirect
/// URI, the engine's listener has taken the code (and checked state, `iss` and PKCE); the window
/// then closes itself.
fn webview_opener<R: Runtime>(app: AppHandle<R>) -> OpenPage {
    Arc::new(move |url: &Url| {
        let redirect = url.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned());
        let label = format!("signin-{}", servers::new_id());
        WebviewWindowBuilder::new(&app, label, WebviewUrl::External(url.clone()))
            .title("Sign in — mcp-remote")
            .inner_size(520.0, 720.0)
            .on_page_load(move |window, payload| {
                let at_redirect = redirect.as_deref().is_some_and(|r| payload.url().as_str().starts_with(r));
                if at_redirect && payload.event() == PageLoadEvent::Finished {
                    let _ = window.close();
                }
            })
            .build()
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
}

/// The `mcpServers` entry for Claude Desktop, as JSON text: `{ "<name>": { command, args } }`.
pub fn claude_snippet<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<String, String> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let value = serde_json::json!({ entry.name.clone(): claude_entry(&state, &entry) });
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

fn claude_entry(state: &AppState, entry: &ServerEntry) -> serde_json::Value {
    let default_dir = mcp_remote::cli::default_config_dir();
    let config_dir = (default_dir.as_deref() != Some(state.config_dir.as_path())).then_some(state.config_dir.as_path());
    claude_config::entry(&state.sidecar, &entry.sidecar_args(config_dir))
}

/// Writes the server into Claude Desktop's config (backup, merge, refuse what cannot be parsed).
pub fn install_into_claude<R: Runtime>(app: &AppHandle<R>, id: &str) -> Result<InstallReport, String> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let path = state.claude_config.clone().ok_or("cannot tell where Claude Desktop keeps its config on this system")?;
    claude_config::install(&path, &entry.name, claude_entry(&state, &entry)).map_err(|e| e.to_string())
}
