//! Follows the shared config dir, so the tray and the window show what sidecars did (a refresh,
//! a sign-in, a sign-in waiting for the user) without a restart; plus a tick of the clock, as
//! expiries pass without a file changing. Both become [`crate::actions::changed`]; what is
//! shown is rebuilt only where it differs.

use notify::{EventKind, RecursiveMode, Watcher};
use std::path::Path;
use std::time::Duration;
use tauri::{AppHandle, Runtime};

/// Keeps the watcher alive for as long as the app runs.
pub struct ConfigWatch {
    _watcher: notify::RecommendedWatcher,
}

pub fn start<R: Runtime>(app: &AppHandle<R>, config_dir: &Path, tick: Duration) -> notify::Result<ConfigWatch> {
    std::fs::create_dir_all(config_dir).map_err(notify::Error::io)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only changes count: reading the files to show them must not trigger another refresh.
        let changed =
            event.is_ok_and(|e| matches!(e.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)));
        if changed {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(config_dir, RecursiveMode::Recursive)?;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(tick);
        loop {
            tokio::select! {
                event = rx.recv() => {
                    if event.is_none() {
                        return;
                    }
                    // One refresh for a burst of file events (a write is several).
                    while rx.try_recv().is_ok() {}
                }
                _ = tick.tick() => {}
            }
            crate::actions::changed(&app);
        }
    });
    Ok(ConfigWatch { _watcher: watcher })
}
