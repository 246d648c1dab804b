//! `mcp-remote import-npm`: the npm proxy's stored sign-ins, copied into this store.

use std::path::Path;
use std::process::ExitCode;

pub fn import(_config_dir: &Path, _from: Option<&Path>, _env: &dyn Fn(&str) -> Option<String>) -> ExitCode {
    ExitCode::FAILURE
}
