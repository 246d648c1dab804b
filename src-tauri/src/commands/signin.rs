//! Sign-in and token commands: sign in, cancel it, copy or reopen its page, reset one, reset all.

use super::CommandResult;
use crate::actions;
use crate::servers::ServerView;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

#[tauri::command]
pub async fn sign_in<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<ServerView> {
    actions::sign_in(&app, &id).await
}

#[tauri::command]
pub fn cancel_sign_in<R: Runtime>(app: AppHandle<R>, id: String) -> bool {
    actions::cancel_sign_in(&app, &id)
}

#[tauri::command]
pub fn copy_sign_in_link<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<String> {
    let link = actions::sign_in_link(&app, &id)?;
    app.clipboard().write_text(link.clone()).map_err(|e| e.to_string())?;
    Ok(link)
}

#[tauri::command]
pub fn open_sign_in_again<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<()> {
    actions::open_sign_in_again(&app, &id)
}

#[tauri::command]
pub fn reset_tokens<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<ServerView> {
    actions::reset(&app, &id)
}

#[tauri::command]
pub fn reset_all_tokens<R: Runtime>(app: AppHandle<R>) -> CommandResult<Vec<ServerView>> {
    actions::reset_all(&app)
}
