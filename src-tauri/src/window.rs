//! The settings window (`ui/`), opened on demand: the app starts in the tray with no window.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

pub const SETTINGS_LABEL: &str = "settings";

/// Shows the settings window, creating it if needed; `section` is a fragment the window acts on:
/// `add`, `server=<id>` (show that card), `reset=<id>` or `reset-all` (ask to confirm).
pub fn open_settings<R: Runtime>(app: &AppHandle<R>, section: Option<&str>) -> tauri::Result<()> {
    let path = match section {
        Some(section) => format!("index.html#{section}"),
        None => "index.html".to_string(),
    };
    if let Some(window) = app.get_webview_window(SETTINGS_LABEL) {
        if let Some(section) = section {
            window.eval(format!("window.location.hash = {section:?}"))?;
        }
        window.show()?;
        return window.set_focus();
    }
    WebviewWindowBuilder::new(app, SETTINGS_LABEL, WebviewUrl::App(path.into()))
        .title("mcp-remote")
        .inner_size(880.0, 640.0)
        .min_inner_size(640.0, 480.0)
        .build()?;
    Ok(())
}
