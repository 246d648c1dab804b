//! Tauri's build step: generates the app context and checks `binaries/mcp-remote-<triple>`
//! (the bundled sidecar; `scripts/stage-sidecar` puts the freshly built one there first).
fn main() {
    tauri_build::build()
}
