//! The `mcp-remote` binary: command line → logging → runtime → the proxy ([`mcp_remote::run`])
//! or one of the commands ([`mcp_remote::commands`]) → exit code.

use mcp_remote::cli::{CliError, Invocation, LogLevel};
use mcp_remote::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let invocation = match Invocation::from_args(std::env::args_os().collect(), &env) {
        Ok(invocation) => invocation,
        Err(CliError::Clap(error)) => return clap_exit(&error),
        Err(error) => {
            eprintln!("mcp-remote: {error}");
            return ExitCode::from(2);
        }
    };
    let log_level = match &invocation {
        Invocation::Proxy(config) => config.log_level,
        // A person reads the commands' own lines; the engine's go to stderr only when asked for.
        Invocation::Login(config) | Invocation::Logout(config) | Invocation::Client { config, .. } => {
            if config.log_level == LogLevel::Debug {
                LogLevel::Debug
            } else {
                LogLevel::Error
            }
        }
        Invocation::Status { .. } | Invocation::ImportNpm { .. } => LogLevel::Error,
    };
    mcp_remote::logging::init(log_level);
    if let Invocation::Proxy(config)
    | Invocation::Login(config)
    | Invocation::Logout(config)
    | Invocation::Client { config, .. } = &invocation
    {
        if let Some(why) = &config.network.unusable_ca_env {
            tracing::warn!("{why}; ignoring it and trusting the OS certificate store only");
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mcp-remote: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        match invocation {
            Invocation::Proxy(config) => match mcp_remote::run(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error}");
                    ExitCode::FAILURE
                }
            },
            Invocation::Login(config) => commands::login(config).await,
            Invocation::Logout(config) => commands::logout(&config),
            Invocation::Client { config, call } => commands::client(config, call).await,
            Invocation::Status { config_dir, json } => commands::status(&config_dir, json),
            Invocation::ImportNpm { config_dir, from, urls, claude_config } => {
                commands::import_npm(&config_dir, from.as_deref(), &urls, claude_config.as_deref())
            }
        }
    });
    // A blocking stdin read may still be parked in the runtime's pool; do not wait for it.
    runtime.shutdown_background();
    code
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
