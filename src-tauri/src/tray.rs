//! The tray icon and its menu: each server with its state in a word or two and the actions that
//! state allows, then Add server…, Open mcp-remote…, Reset all tokens…, Quit. The menu is rebuilt
//! only when what it shows changes (a menu replaced while open closes under the pointer), so it
//! shows no clock; the icon carries a red dot while a server needs the person. Destructive
//! choices open the window, which asks first.

use crate::actions;
use crate::servers::ServerView;
use std::sync::Mutex;
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

const TRAY_ID: &str = "mcp-remote";

/// What one server's submenu shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServerLine {
    id: String,
    name: String,
    words: &'static str,
    signing_in: bool,
    page_open: bool,
    signed_in: bool,
}

/// Everything the menu and icon show; the menu is rebuilt only when this changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    servers: Vec<ServerLine>,
    attention: bool,
}

impl Shown {
    fn of(views: &[ServerView], attention: bool) -> Self {
        let servers = views
            .iter()
            .map(|view| ServerLine {
                id: view.entry.id.clone(),
                name: view.entry.name.clone(),
                words: view.state_words(),
                signing_in: view.signing_in.is_some(),
                page_open: view.signing_in.as_ref().is_some_and(|p| p.url.is_some()),
                signed_in: matches!(view.status, mcp_remote::status::SignInStatus::SignedIn { .. }),
            })
            .collect();
        Self { servers, attention }
    }
}

/// The last menu shown, managed as app state.
#[derive(Default)]
pub struct TrayMenu {
    shown: Mutex<Option<Shown>>,
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    app.manage(TrayMenu::default());
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(false)?)
        .tooltip("mcp-remote")
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

fn icon(attention: bool) -> tauri::Result<Image<'static>> {
    if attention {
        Image::from_bytes(include_bytes!("../icons/tray-attention.png"))
    } else {
        Image::from_bytes(include_bytes!("../icons/tray.png"))
    }
}

/// Shows `views` in the tray, if they differ from what it shows now.
pub fn show<R: Runtime>(app: &AppHandle<R>, views: &[ServerView], attention: bool) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let next = Shown::of(views, attention);
    let menu_state = app.state::<TrayMenu>();
    let mut shown = menu_state.shown.lock().expect("poisoned");
    if shown.as_ref() == Some(&next) {
        return;
    }
    if shown.as_ref().map(|s| s.attention) != Some(attention) {
        let _ = icon(attention).and_then(|icon| tray.set_icon(Some(icon)));
        let tooltip = if attention { "mcp-remote: a server needs you to sign in" } else { "mcp-remote" };
        let _ = tray.set_tooltip(Some(tooltip));
    }
    if shown.as_ref().map(|s| &s.servers) != Some(&next.servers) {
        match build_menu(app, &next) {
            Ok(menu) => {
                let _ = tray.set_menu(Some(menu));
            }
            Err(error) => eprintln!("mcp-remote-tray: cannot build the menu: {error}"),
        }
    }
    *shown = Some(next);
}

fn item<R: Runtime>(app: &AppHandle<R>, id: String, text: &str) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, id, text, true, None::<&str>)
}

fn server_menu<R: Runtime>(app: &AppHandle<R>, line: &ServerLine) -> tauri::Result<Submenu<R>> {
    let id = &line.id;
    let mut items = Vec::new();
    if line.signing_in {
        items.push(item(app, format!("cancel:{id}"), "Cancel sign-in")?);
        if line.page_open {
            items.push(item(app, format!("reopen:{id}"), "Open sign-in page again")?);
            items.push(item(app, format!("copy-link:{id}"), "Copy sign-in link")?);
        }
    } else if !line.signed_in {
        items.push(item(app, format!("signin:{id}"), "Sign in")?);
    }
    items.push(item(app, format!("show:{id}"), "Show in window…")?);
    items.push(item(app, format!("reset:{id}"), "Reset tokens…")?);
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|i| i as &dyn IsMenuItem<R>).collect();
    Submenu::with_items(app, format!("{} — {}", line.name, line.words), true, &refs)
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, shown: &Shown) -> tauri::Result<Menu<R>> {
    let submenus = shown.servers.iter().map(|line| server_menu(app, line)).collect::<tauri::Result<Vec<_>>>()?;
    let empty = MenuItem::with_id(app, "none", "No servers yet", false, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let add = item(app, "add".into(), "Add server…")?;
    let settings = item(app, "settings".into(), "Open mcp-remote…")?;
    let reset_all = MenuItem::with_id(app, "reset-all", "Reset all tokens…", !shown.servers.is_empty(), None::<&str>)?;
    let quit = item(app, "quit".into(), "Quit")?;
    let mut items: Vec<&dyn IsMenuItem<R>> = submenus.iter().map(|s| s as &dyn IsMenuItem<R>).collect();
    if shown.servers.is_empty() {
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
                // The outcome shows on the server's card and in the menu's state words.
                let _ = actions::sign_in(&app, &server).await;
            });
            Ok(())
        }
        "cancel" => {
            actions::cancel_sign_in(app, server);
            Ok(())
        }
        "reopen" => actions::open_sign_in_again(app, server).map_err(|p| p.message),
        "copy-link" => actions::sign_in_link(app, server)
            .map_err(|p| p.message)
            .and_then(|link| app.clipboard().write_text(link).map_err(|e| e.to_string())),
        "show" => {
            crate::window::open_settings(app, Some(format!("server={server}").as_str())).map_err(|e| e.to_string())
        }
        "reset" => {
            crate::window::open_settings(app, Some(format!("reset={server}").as_str())).map_err(|e| e.to_string())
        }
        "add" => crate::window::open_settings(app, Some("add")).map_err(|e| e.to_string()),
        "settings" => crate::window::open_settings(app, None).map_err(|e| e.to_string()),
        "reset-all" => crate::window::open_settings(app, Some("reset-all")).map_err(|e| e.to_string()),
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
