//! Server list commands: list, add or edit, remove.

use super::CommandResult;
use crate::actions;
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

#[tauri::command]
pub fn remove_server<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<()> {
    actions::remove(&app, &id)
}
