//! Claude Desktop commands: the config snippet (shown and copied) and the install.

use super::CommandResult;
use crate::actions;
use crate::claude_config::InstallReport;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

#[tauri::command]
pub fn claude_config_snippet<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<String> {
    actions::claude_snippet(&app, &id)
}

#[tauri::command]
pub fn copy_claude_config<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<String> {
    let snippet = actions::claude_snippet(&app, &id)?;
    app.clipboard().write_text(snippet.clone()).map_err(|e| e.to_string())?;
    Ok(snippet)
}

#[tauri::command]
pub fn install_into_claude<R: Runtime>(app: AppHandle<R>, id: String) -> CommandResult<InstallReport> {
    actions::install_into_claude(&app, &id)
}
