//! The `mcp-remote` binary: flags → logging → runtime → [`mcp_remote::run`] → exit code.

use mcp_remote::cli::{CliError, Config};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args_os(), &|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(CliError::Clap(error)) => return clap_exit(&error),
        Err(error) => {
            eprintln!("mcp-remote: {error}");
            return ExitCode::from(2);
        }
    };
    mcp_remote::logging::init(config.log_level);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mcp-remote: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(mcp_remote::run(config));
    // A blocking stdin read may still be parked in the runtime's pool; do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print in full to stdout; usage errors become one line on stderr.
fn clap_exit(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let summary: Vec<&str> = rendered.lines().take_while(|line| !line.trim().is_empty()).map(str::trim).collect();
    let summary = summary.join(" ");
    let summary = summary.strip_prefix("error: ").unwrap_or(&summary);
    eprintln!("mcp-remote: {summary} (see mcp-remote --help)");
    ExitCode::from(2)
}
