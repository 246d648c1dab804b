//! What the tray menu and the window can do, in one place: list, add/edit/remove, sign in (and
//! cancel or reopen it), reset, and install into MCP hosts. Every OAuth, storage and lock
//! operation is the engine's (`mcp_remote`); this module only orchestrates, and tells whoever
//! listens for [`CHANGED_EVENT`] that something changed (it knows nothing of the tray or window).

use crate::hosts::file::{self, InstallReport};
use crate::hosts::{self, Host, HostKind};
use crate::problem::Problem;
use crate::servers::{self, Launch, ServerEntry, ServerView, SignInMethod};
use crate::signin::{self, Outcome};
use crate::state::AppState;
use mcp_remote::auth::{Auth, AuthSettings, OpenPage, Opener};
use mcp_remote::store::Store;
use reqwest::Url;
use serde::Serialize;
use std::sync::Arc;
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Emitted (to the window and to the app's own listeners) whenever what is shown may change.
pub const CHANGED_EVENT: &str = "servers-changed";

pub type ActionResult<T> = Result<T, Problem>;

/// Tells the tray and the window that something changed.
pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(CHANGED_EVENT, ());
}

/// The server list file: `AppState::store_file`, in the app's data folder when relative.
fn list_file<R: Runtime>(app: &AppHandle<R>) -> ActionResult<std::path::PathBuf> {
    let file = &app.state::<AppState>().store_file;
    if file.is_absolute() {
        return Ok(file.clone());
    }
    let folder =
        app.path().app_data_dir().map_err(|e| Problem::new(format!("cannot find the app's data folder: {e}")))?;
    Ok(folder.join(file))
}

fn entries<R: Runtime>(app: &AppHandle<R>) -> ActionResult<Vec<ServerEntry>> {
    Ok(servers::load(&list_file(app)?)?)
}

fn entry<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<ServerEntry> {
    entries(app)?.into_iter().find(|e| e.id == id).ok_or_else(|| "That server no longer exists.".into())
}

/// Every server with its state, where it is installed and its sign-in.
pub fn list<R: Runtime>(app: &AppHandle<R>) -> ActionResult<Vec<ServerView>> {
    let state = app.state::<AppState>();
    let installed: Vec<(HostKind, Vec<String>)> =
        Host::all(&state.host_roots).iter().map(|host| (host.kind, file::ours(host, &state.sidecar))).collect();
    Ok(entries(app)?
        .into_iter()
        .map(|entry| {
            let mut view = ServerView::of(entry, &state.config_dir);
            let id = &view.entry.id;
            view.installed_in =
                installed.iter().filter(|(_, names)| names.contains(&view.entry.name)).map(|(kind, _)| *kind).collect();
            view.signing_in = state.sign_ins.progress(id);
            view.last_sign_in = state.sign_ins.last(id);
            view
        })
        .collect())
}

fn view<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<ServerView> {
    list(app)?.into_iter().find(|v| v.entry.id == id).ok_or_else(|| "That server no longer exists.".into())
}

/// The hosts this app can install into, and whether each is on this machine.
pub fn hosts<R: Runtime>(app: &AppHandle<R>) -> Vec<Host> {
    Host::all(&app.state::<AppState>().host_roots)
}

/// Adds `entry` (no id) or replaces the entry with its id, after the engine's validation.
/// Names are unique: they are the entry's key in every host's file.
pub fn save<R: Runtime>(app: &AppHandle<R>, mut entry: ServerEntry) -> ActionResult<ServerView> {
    let state = app.state::<AppState>();
    entry.name = entry.name.trim().to_string();
    let mut entries = entries(app)?;
    if let Some(other) = servers::name_taken(&entries, &entry) {
        return Err(Problem::new(format!(
            "There is a server named “{}” already. Give this one another name: names are how MCP hosts tell \
             servers apart.",
            other.name
        )));
    }
    entry.engine_config(&state.config_dir).map_err(Problem::of_entry)?;
    if entry.id.is_empty() {
        entry.id = servers::new_id();
        entries.push(entry.clone());
    } else {
        let slot = entries.iter_mut().find(|e| e.id == entry.id).ok_or("That server no longer exists.")?;
        // The window edits the fields it knows; those a newer version wrote stay.
        for (key, value) in std::mem::take(&mut slot.extra) {
            entry.extra.entry(key).or_insert(value);
        }
        *slot = entry.clone();
    }
    servers::save(&list_file(app)?, &entries)?;
    changed(app);
    view(app, &entry.id)
}

/// Removes the entry, and with `from_hosts` its entries in the hosts' files (only those this app
/// wrote). Its credentials stay until reset, as another entry may share them. Returns the hosts
/// it was removed from.
pub fn remove<R: Runtime>(app: &AppHandle<R>, id: &str, from_hosts: bool) -> ActionResult<Vec<&'static str>> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let mut removed_from = Vec::new();
    if from_hosts {
        for host in Host::all(&state.host_roots) {
            if file::uninstall(&host, &entry.name, &state.sidecar)? {
                removed_from.push(host.name);
            }
        }
    }
    let mut entries = entries(app)?;
    entries.retain(|e| e.id != id);
    servers::save(&list_file(app)?, &entries)?;
    state.sign_ins.cancel(id);
    state.sign_ins.forget(id);
    changed(app);
    Ok(removed_from)
}

/// Deletes the server's credential folder: the next use signs in again.
pub fn reset<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<ServerView> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let config = entry.engine_config(&state.config_dir).map_err(Problem::of_entry)?;
    Store::new(&state.config_dir).server(&config.server_key()).reset().map_err(|e| e.to_string())?;
    state.sign_ins.forget(id);
    changed(app);
    view(app, id)
}

pub fn reset_all<R: Runtime>(app: &AppHandle<R>) -> ActionResult<Vec<ServerView>> {
    for entry in entries(app)? {
        reset(app, &entry.id)?;
    }
    list(app)
}

/// Signs in to the server: completes the sign-in a waiting sidecar published (its own listener
/// takes the redirect), or runs the engine's flow here, for up to [`signin::WAIT`], until it
/// ends or the person cancels it.
pub async fn sign_in<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<ServerView> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let config = entry.engine_config(&state.config_dir).map_err(Problem::of_entry)?;
    let opener = opener(app, &entry);
    let store = Store::new(&state.config_dir);
    if let Some(pending) = store.server(&config.server_key()).pending_sign_in() {
        let url = Url::parse(&pending.url).map_err(|e| format!("The waiting sign-in has a bad link: {e}"))?;
        opener(&url).map_err(|e| Problem::new(format!("The sign-in page could not be opened: {e}")))?;
        return view(app, id);
    }
    let how = match entry.sign_in_method {
        SignInMethod::Browser => "system browser",
        SignInMethod::Webview => "window of this app",
    };
    let Some(cancelled) = state.sign_ins.begin(id, how) else {
        return Err("A sign-in for this server is already running.".into());
    };
    changed(app);
    let recording: OpenPage = {
        let (app, id, opener) = (app.clone(), id.to_string(), opener.clone());
        Arc::new(move |url: &Url| {
            app.state::<AppState>().sign_ins.opened(&id, url, opener.clone());
            changed(&app);
            opener(url)
        })
    };
    let mut settings = AuthSettings::from_config(&config, Opener::Custom(recording), false);
    settings.timeout = signin::WAIT;
    let host = config.server_url.host_str().unwrap_or_default().to_string();
    let run = async {
        let auth = Auth::new(settings, store, &config.server_key()).map_err(|e| Problem::new(e.to_string()))?;
        auth.sign_in_now().await.map_err(|e| Problem::of_sign_in(&e, &host, signin::WAIT))
    };
    let outcome = tokio::select! {
        result = run => match result {
            Ok(()) => Outcome::SignedIn,
            Err(problem) => Outcome::Failed { problem },
        },
        _ = cancelled => Outcome::Cancelled,
    };
    state.sign_ins.finish(id, outcome.clone());
    changed(app);
    match outcome {
        Outcome::SignedIn => view(app, id),
        Outcome::Cancelled => Err("Sign-in cancelled.".into()),
        Outcome::Failed { problem } => Err(problem),
    }
}

/// Stops the sign-in running for the server; false when none was.
pub fn cancel_sign_in<R: Runtime>(app: &AppHandle<R>, id: &str) -> bool {
    app.state::<AppState>().sign_ins.cancel(id)
}

/// The link of the sign-in running for the server, to copy.
pub fn sign_in_link<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<String> {
    let state = app.state::<AppState>();
    let (url, _) = state.sign_ins.page(id).ok_or("No sign-in page is open for this server.")?;
    Ok(url.to_string())
}

/// Opens the page of the sign-in running for the server again (a closed tab, a lost window).
pub fn open_sign_in_again<R: Runtime>(app: &AppHandle<R>, id: &str) -> ActionResult<()> {
    let state = app.state::<AppState>();
    let (url, open) = state.sign_ins.page(id).ok_or("No sign-in page is open for this server.")?;
    open(&url).map_err(|e| Problem::new(format!("The sign-in page could not be opened: {e}")))
}

/// How the entry's sign-in page is shown.
fn opener<R: Runtime>(app: &AppHandle<R>, entry: &ServerEntry) -> OpenPage {
    match entry.sign_in_method {
        SignInMethod::Browser => {
            let browser = mcp_remote::cli::browser_from(&|name| std::env::var(name).ok());
            Arc::new(move |url: &Url| mcp_remote::auth::open_in_browser(url, browser.as_deref()))
        }
        SignInMethod::Webview => webview_opener(app.clone()),
    }
}

/// The sign-in window's title: the origin of the page it shows, as an address bar would, so a
/// person sees where they type their password. Set by the app from the page's real address
/// (a page cannot change it).
pub fn sign_in_title(url: &Url) -> String {
    format!("{} — sign in (mcp-remote)", url.origin().ascii_serialization())
}

/// Opens the authorization page in a window of this app, titled with the page's origin, kept
/// up to date as the page moves on. When it reaches the loopback redirect URI, the engine's
/// listener has taken the code (and checked state, `iss` and PKCE); the window then closes itself.
fn webview_opener<R: Runtime>(app: AppHandle<R>) -> OpenPage {
    Arc::new(move |url: &Url| {
        let redirect = url.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned());
        let label = format!("signin-{}", servers::new_id());
        WebviewWindowBuilder::new(&app, label, WebviewUrl::External(url.clone()))
            .title(sign_in_title(url))
            .inner_size(520.0, 720.0)
            .on_page_load(move |window, payload| {
                if payload.event() == PageLoadEvent::Started {
                    let _ = window.set_title(&sign_in_title(payload.url()));
                }
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

/// How the host's entry runs the sidecar (secrets in its `env`): `--config-dir` only when the
/// app's config dir is not the one the sidecar finds by itself.
fn launch(state: &AppState, entry: &ServerEntry) -> Launch {
    let default_dir = mcp_remote::cli::default_config_dir();
    let config_dir = (default_dir.as_deref() != Some(state.config_dir.as_path())).then_some(state.config_dir.as_path());
    entry.launch(config_dir)
}

/// The text to paste into the host's file for the server, with the host's wrapper key.
pub fn snippet<R: Runtime>(app: &AppHandle<R>, id: &str, host: HostKind) -> ActionResult<String> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    Ok(hosts::snippet(host, &entry.name, host.entry(&state.sidecar, &launch(&state, &entry))))
}

/// Writes the server into the host's file (backup, merge, refuse what cannot be parsed). An
/// entry of that name this app did not write is replaced only with `replace_others`.
pub fn install<R: Runtime>(
    app: &AppHandle<R>,
    id: &str,
    host: HostKind,
    replace_others: bool,
) -> ActionResult<InstallReport> {
    let state = app.state::<AppState>();
    let entry = entry(app, id)?;
    let found = Host::find(host, &state.host_roots);
    let value = host.entry(&state.sidecar, &launch(&state, &entry));
    let report = file::install(&found, &entry.name, value, &state.sidecar, replace_others)?;
    changed(app);
    Ok(report)
}

/// What the About view shows.
#[derive(Debug, Serialize)]
pub struct About {
    pub version: &'static str,
    pub sidecar: String,
    pub config_dir: String,
}

pub fn about<R: Runtime>(app: &AppHandle<R>) -> About {
    let state = app.state::<AppState>();
    About {
        version: env!("CARGO_PKG_VERSION"),
        sidecar: state.sidecar.display().to_string(),
        config_dir: state.config_dir.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_window_is_titled_with_the_pages_origin_only() {
        let page = Url::parse("https://login.example.com:8443/authorize?state=s3cret&redirect_uri=x").unwrap();
        assert_eq!(sign_in_title(&page), "https://login.example.com:8443 — sign in (mcp-remote)");
        let look_alike = Url::parse("https://example.com.evil.test/example.com/login").unwrap();
        assert!(sign_in_title(&look_alike).starts_with("https://example.com.evil.test —"));
    }
}
