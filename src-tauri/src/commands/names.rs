// The app's own IPC commands, by the names the window calls them. `build.rs` includes this file
// (so it has a plain comment, not a `//!` header) to give each an `allow-<name>` permission in
// the app manifest; `lib.rs` registers the same commands, and `capabilities/settings.json` grants
// them to the settings window only.

/// Every command the settings window may call.
pub const NAMES: &[&str] = &[
    "list_servers",
    "save_server",
    "remove_server",
    "about",
    "sign_in",
    "cancel_sign_in",
    "copy_sign_in_link",
    "open_sign_in_again",
    "reset_tokens",
    "reset_all_tokens",
    "list_hosts",
    "host_snippet",
    "copy_host_snippet",
    "install_into_host",
];
