//! The window's commands, one file per domain; each is a thin wrapper over `actions`.

pub mod hosts;
mod names;
pub mod servers;
pub mod signin;

pub use names::NAMES;

/// Errors reach the window as `{ message, detail }`: a sentence for the person, and the
/// technical cause for the "Details" fold.
pub type CommandResult<T> = Result<T, crate::problem::Problem>;
