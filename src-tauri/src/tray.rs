//! The tray icon and its menu: each server with its state in words and its actions, then Add
//! server…, Open settings…, Reset all tokens, Quit. Rebuilt whenever the config dir changes (a
//! sidecar refreshed, signed in, or is waiting for the user) and once a minute for the clock.

use crate::actions;
use crate::servers::ServerView;
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

const TRAY_ID: &str = "mcp-remote";

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let icon = Image::from_bytes(include_bytes!("../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("mcp-remote")
        .menu(&build_menu(app)?)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

/// Rebuilds the menu from the current state.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match build_menu(app) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(error) => eprintln!("mcp-remote-tray: cannot rebuild the menu: {error}"),
    }
}

fn server_menu<R: Runtime>(app: &AppHandle<R>, view: &ServerView) -> tauri::Result<Submenu<R>> {
    let id = &view.entry.id;
    let state = MenuItem::with_id(app, format!("state:{id}"), &view.summary, false, None::<&str>)?;
    let sign_in = MenuItem::with_id(app, format!("signin:{id}"), "Sign in", true, None::<&str>)?;
    let reset = MenuItem::with_id(app, format!("reset:{id}"), "Reset tokens", true, None::<&str>)?;
    let copy = MenuItem::with_id(app, format!("copy:{id}"), "Copy Claude Desktop config", true, None::<&str>)?;
    let title = format!("{} — {}", view.entry.name, view.summary);
    Submenu::with_items(app, title, true, &[&state, &PredefinedMenuItem::separator(app)?, &sign_in, &reset, &copy])
}

fn build_menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let views = actions::list(app).unwrap_or_default();
    let mut submenus = Vec::with_capacity(views.len());
    for view in &views {
        submenus.push(server_menu(app, view)?);
    }
    let empty = MenuItem::with_id(app, "none", "No servers yet", false, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let add = MenuItem::with_id(app, "add", "Add server…", true, None::<&str>)?;
    let settings = MenuItem::with_id(app, "settings", "Open settings…", true, None::<&str>)?;
    let reset_all = MenuItem::with_id(app, "reset-all", "Reset all tokens", !views.is_empty(), None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let mut items: Vec<&dyn IsMenuItem<R>> = submenus.iter().map(|s| s as &dyn IsMenuItem<R>).collect();
    if views.is_empty() {
        items.push(&empty);
    }
    items.extend([&separator as &dyn IsMenuItem<R>, &add, &settings, &reset_all, &quit]);
    Menu::with_items(app, &items)
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref().to_string();
    let (action, server) = id.split_once(':').unwrap_or((id.as_str(), ""));
    let outcome = match action {
        "signin" => {
            let (app, server) = (app.clone(), server.to_string());
            tauri::async_runtime::spawn(async move {
                if let Err(error) = actions::sign_in(&app, &server).await {
                    eprintln!("mcp-remote-tray: sign-in failed: {error}");
                }
            });
            Ok(())
        }
        "reset" => actions::reset(app, server).map(|_| ()),
        "copy" => actions::claude_snippet(app, server)
            .and_then(|snippet| app.clipboard().write_text(snippet).map_err(|e| e.to_string())),
        "add" => crate::window::open_settings(app, Some("add")).map_err(|e| e.to_string()),
        "settings" => crate::window::open_settings(app, None).map_err(|e| e.to_string()),
        "reset-all" => actions::reset_all(app).map(|_| ()),
        "quit" => {
            app.exit(0);
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(error) = outcome {
        eprintln!("mcp-remote-tray: {action} failed: {error}");
    }
}
