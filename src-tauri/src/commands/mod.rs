//! The window's commands, one file per domain; each is a thin wrapper over `actions`.

pub mod claude;
pub mod servers;
pub mod signin;

/// Errors reach the window as one readable string.
pub type CommandResult<T> = Result<T, String>;
