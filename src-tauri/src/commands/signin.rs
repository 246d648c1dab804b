//! Sign-in and token commands: sign in, reset one, reset all.

use super::CommandResult;
use crate::actions;
use crate::servers::ServerView;
use tauri::{AppHandle, Runtime};

#[tauri::command]
pub async fn sign_in<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<ServerView> {
    actions::sign_in(&app, &id).await
}

#[tauri::command]
pub fn reset_tokens<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<ServerView> {
    actions::reset(&app, &id)
}

#[tauri::command]
pub fn reset_all_tokens<R: Runtime>(app: AppHandle<R>) -> CommandResult<Vec<ServerView>> {
    actions::reset_all(&app)
}
