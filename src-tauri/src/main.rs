//! The tray app's binary: everything is in the library, so tests can build the app too.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    mcp_remote_tray::run();
}
