//! MCP host commands: which hosts are here, the config snippet for one (shown and copied), and
//! the install.

use super::CommandResult;
use crate::actions;
use crate::hosts::file::InstallReport;
use crate::hosts::{Host, HostKind};
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

#[tauri::command]
pub fn list_hosts<R: Runtime>(app: AppHandle<R>) -> Vec<Host> {
    actions::hosts(&app)
}

#[tauri::command]
pub fn host_snippet<R: Runtime>(app: AppHandle<R>, id: String, host: HostKind) -> CommandResult<String> {
    actions::snippet(&app, &id, host)
}

#[tauri::command]
pub fn copy_host_snippet<R: Runtime>(app: AppHandle<R>, id: String, host: HostKind) -> CommandResult<String> {
    let snippet = actions::snippet(&app, &id, host)?;
    app.clipboard().write_text(snippet.clone()).map_err(|e| e.to_string())?;
    Ok(snippet)
}

/// Installs the server into the host; an entry of its name this app did not write is replaced
/// only with `replace_others` (the window asks first).
#[tauri::command]
pub fn install_into_host<R: Runtime>(
    app: AppHandle<R>,
    id: String,
    host: HostKind,
    replace_others: bool,
) -> CommandResult<InstallReport> {
    actions::install(&app, &id, host, replace_others)
}
