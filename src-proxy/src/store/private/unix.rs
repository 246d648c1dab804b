//! Unix: ownership and mode bits. Ours (owned by the effective uid) is made 0700 (folders) or 0600
//! (files). Another user could write to a folder when it belongs to a uid that is neither ours
//! nor root's (its owner can always chmod it), or when it is not ours and its mode has a group or
//! other write bit (as `/tmp`, which anyone can fill with names the store would use).

use super::Access;
use crate::store::{io_error, StoreError};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub(super) fn access(path: &Path) -> Result<Access, StoreError> {
    let found = fs::metadata(path).map_err(io_error("inspect", path))?;
    Ok(judge(found.uid(), found.mode() & 0o777, rustix::process::geteuid().as_raw()))
}

/// Who may use a path owned by `owner` with `mode`, as seen by the user `me`.
fn judge(owner: u32, mode: u32, me: u32) -> Access {
    let writers = if owner != me && owner != 0 {
        Some(format!("it belongs to uid {owner}"))
    } else if mode & 0o002 != 0 {
        Some(format!("its mode {mode:o} lets every user write"))
    } else if mode & 0o020 != 0 {
        Some(format!("its mode {mode:o} lets its group write"))
    } else {
        None
    };
    Access { ours: owner == me, open: mode & 0o077 != 0, writers, shown: format!("{mode:o}") }
}

pub(super) fn restrict(path: &Path, dir: bool) -> Result<(), StoreError> {
    let mode = if dir { 0o700 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_error("restrict", path))
}

/// New files are created 0600 (the umask can only take bits away).
pub(super) fn private_mode(options: &mut OpenOptions) {
    options.mode(0o600);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ServerKey, Store, StoreError};
    use std::path::PathBuf;

    #[test]
    fn folders_of_other_users_and_writable_folders_not_ours_are_foreign() {
        let me = 1000;
        // Ours: made private whatever the mode, never refused.
        assert!(judge(me, 0o777, me).ours);
        assert_eq!(judge(me, 0o700, me), Access { ours: true, open: false, writers: None, shown: "700".into() });
        assert!(judge(me, 0o750, me).open);
        // Another user's folder: they can always chmod it, whatever its mode says.
        let theirs = judge(1001, 0o700, me);
        assert_eq!((theirs.ours, theirs.writers.as_deref()), (false, Some("it belongs to uid 1001")));
        // Root's: trusted unless its mode lets others write.
        assert_eq!(judge(0, 0o755, me).writers, None);
        assert_eq!(judge(0, 0o1777, me).writers.as_deref(), Some("its mode 1777 lets every user write"));
        assert_eq!(judge(0, 0o775, me).writers.as_deref(), Some("its mode 775 lets its group write"));
        // Running as root: root's folders are ours, a user's are not.
        assert!(judge(0, 0o755, 0).ours);
        assert!(!judge(1000, 0o700, 0).ours);
    }

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-remote-private-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn tokens() -> crate::store::Tokens {
        serde_json::from_value(serde_json::json!({"access_token": "a", "refresh_token": "r"})).unwrap()
    }

    /// Needs root, to give folders to another user; the rule itself is tested above for anyone.
    #[test]
    fn a_root_or_server_folder_of_another_user_is_refused_for_writes_and_reads() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to chown a folder to another user");
            return;
        }
        let nobody = Some(65534);
        let root = temp_root("foreign");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::chown(&root, nobody, nobody).unwrap();
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        match server.save_tokens(&tokens()) {
            Err(StoreError::OpenToOthers { path, .. }) => assert_eq!(path, root),
            other => panic!("wrote credentials into another user's folder: {other:?}"),
        }
        assert!(!server.path().exists(), "nothing is created in it");
        assert!(matches!(server.lock(), Err(StoreError::OpenToOthers { .. })), "nor a lock");
        assert!(matches!(Store::new(&root).hold_tray_lock(), Err(StoreError::OpenToOthers { .. })));
        assert_eq!(fs::metadata(&root).unwrap().mode() & 0o777, 0o777, "another user's folder is left as it was");

        // A server folder of another user, in a root of ours.
        std::os::unix::fs::chown(&root, Some(0), Some(0)).unwrap();
        fs::create_dir(server.path()).unwrap();
        fs::write(server.path().join("tokens.json"), serde_json::to_vec(&tokens()).unwrap()).unwrap();
        std::os::unix::fs::chown(server.path(), nobody, nobody).unwrap();
        assert!(matches!(server.tokens(), Err(StoreError::OpenToOthers { .. })), "read from another user's folder");
        assert!(matches!(server.save_tokens(&tokens()), Err(StoreError::OpenToOthers { .. })));
        assert_eq!(fs::metadata(&root).unwrap().mode() & 0o777, 0o700, "a root of ours is made private");

        // Given back to us, it is made private and used.
        std::os::unix::fs::chown(server.path(), Some(0), Some(0)).unwrap();
        server.save_tokens(&tokens()).unwrap();
        assert_eq!(fs::metadata(server.path()).unwrap().mode() & 0o777, 0o700);
        fs::remove_dir_all(root).unwrap();
    }
}
