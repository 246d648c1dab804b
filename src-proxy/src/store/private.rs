//! Making a path of the store private to the user, one rule on every platform: what we own we make
//! private (Unix: folders 0700, files 0600; Windows: a protected DACL with one ACE, the user's
//! SID); a folder we do not own and another user could write to is refused, never written into.
//!
//! "Another user" leaves out who can write anywhere regardless: root on Unix; SYSTEM and the
//! Administrators group on Windows (OpenSSH for Windows accepts the same three on a private key).
//! The ACLs we write grant the user alone, as issue 23 asks: administrators can still take
//! ownership, and backup software reads through its privilege, not through the ACL.

use super::{io_error, StoreError};
use std::fs::{self, File, OpenOptions};
use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// What a path's owner and permissions say about who may use it.
#[derive(Debug, PartialEq)]
struct Access {
    /// We own it, so we can make it private.
    ours: bool,
    /// Someone other than the user (and those who can anyway, see the module's doc) has some access.
    open: bool,
    /// Who else may write to it, in words for the refusal, if anyone.
    writers: Option<String>,
    /// Its permissions in words, for the warning (Unix: the mode in octal; Windows: the ACL).
    shown: String,
}

/// Makes a folder the store creates or writes into private: ours, it is made private (on every
/// write, whatever the umask or inherited ACL left); not ours and writable by another user, the
/// store refuses it. Follows a symbolic link (the store refuses linked server folders itself).
pub(super) fn make_dir_private(dir: &Path) -> Result<(), StoreError> {
    let access = imp::access(dir)?;
    refuse_foreign_writers(dir, &access)?;
    if access.ours {
        imp::restrict(dir, true)?;
    }
    Ok(())
}

/// Makes a file the store wrote (or is about to write) private to the user.
pub(super) fn make_file_private(path: &Path) -> Result<(), StoreError> {
    imp::restrict(path, false)
}

/// Creates a new file (failing if it exists) that is private before a byte is written to it.
pub(super) fn create_new_file(path: &Path) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    imp::private_mode(&mut options);
    let file = options.open(path).map_err(io_error("create", path))?;
    make_file_private(path)?;
    Ok(file)
}

/// On a read: refuses a folder another user controls, and makes a path we own that lets others in
/// private again, with a warning.
pub(super) fn keep_private(path: &Path, found: &fs::Metadata) -> Result<(), StoreError> {
    let access = imp::access(path)?;
    if found.is_dir() {
        refuse_foreign_writers(path, &access)?;
    }
    if access.open {
        tracing::warn!(path = %path.display(), mode = %access.shown, "credentials were readable by others; making them private");
        imp::restrict(path, found.is_dir())?;
    }
    Ok(())
}

fn refuse_foreign_writers(dir: &Path, access: &Access) -> Result<(), StoreError> {
    match &access.writers {
        Some(writers) if !access.ours => Err(StoreError::OpenToOthers { path: dir.into(), writers: writers.clone() }),
        _ => Ok(()),
    }
}
