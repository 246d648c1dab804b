//! Tauri's build step: generates the app context and checks `binaries/mcp-remote-<triple>`
//! (the bundled sidecar; `scripts/stage-sidecar` puts the freshly built one there first).
//!
//! It also declares the app manifest: each of the app's own commands gets an `allow-<name>`
//! permission, and with a manifest Tauri lets a window call only what a capability grants it
//! (`capabilities/settings.json`: the settings window). Without one, any window showing a local
//! page could call every command.

include!("src/commands/names.rs");

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(NAMES);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed (is the sidecar staged? see scripts/stage-sidecar)");
}
