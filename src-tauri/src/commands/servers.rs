//! Server list commands: list, add or edit, remove, and the About view's facts.

use super::CommandResult;
use crate::actions::{self, About};
use crate::servers::{ServerEntry, ServerView};
use tauri::{AppHandle, Runtime};

#[tauri::command]
pub fn list_servers<R: Runtime>(app: AppHandle<R>) -> CommandResult<Vec<ServerView>> {
    actions::list(&app)
}

#[tauri::command]
pub fn save_server<R: Runtime>(app: AppHandle<R>, entry: ServerEntry) -> CommandResult<ServerView> {
    actions::save(&app, entry)
}

/// Removes the server; with `from_hosts`, also the entries this app wrote into MCP hosts.
#[tauri::command]
pub fn remove_server<R: Runtime>(app: AppHandle<R>, id: String, from_hosts: bool) -> CommandResult<Vec<&'static str>> {
    actions::remove(&app, &id, from_hosts)
}

#[tauri::command]
pub fn about<R: Runtime>(app: AppHandle<R>) -> About {
    actions::about(&app)
}
