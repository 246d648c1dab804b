//! Windows: the owner and the DACL. Ours (owned by the token's user, or by the default owner the
//! token gives new objects: the Administrators group when elevated) gets a protected DACL with one
//! ACE, full control for the user's SID (inheritable on folders), so nothing is inherited from
//! the folder above. Another user could write to a folder when an ACE grants a write right to a
//! SID other than the user's, SYSTEM's or the Administrators group's (Everyone, Users,
//! Authenticated Users, another user...), or when it has no DACL at all.

use super::Access;
use crate::store::{io_error, StoreError};
use std::ffi::c_void;
use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::ptr::null_mut;
use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_SUCCESS, GENERIC_ALL, GENERIC_WRITE, HANDLE, WIN32_ERROR,
};
use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    GetLengthSid, GetSecurityDescriptorControl, GetTokenInformation, SetKernelObjectSecurity, TokenOwner, TokenUser,
    ACL, CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, INHERIT_ONLY_ACE, OBJECT_INHERIT_ACE,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, SE_DACL_PRESENT,
    SE_DACL_PROTECTED, SE_SELF_RELATIVE, TOKEN_INFORMATION_CLASS, TOKEN_OWNER, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    DELETE, FILE_ALL_ACCESS, FILE_APPEND_DATA, FILE_DELETE_CHILD, FILE_FLAG_BACKUP_SEMANTICS, FILE_READ_DATA,
    FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA, FILE_WRITE_EA, READ_CONTROL, WRITE_DAC, WRITE_OWNER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Rights that let a holder change what a folder (or file) holds, or who may use it.
const WRITE_RIGHTS: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_WRITE_EA
    | FILE_DELETE_CHILD
    | FILE_WRITE_ATTRIBUTES
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | GENERIC_WRITE
    | GENERIC_ALL;
/// ACE types (MS-DTYP 2.4.4.1) that grant rights; the rest deny, audit or label.
const ACCESS_ALLOWED: u8 = 0;
const ACCESS_DENIED: u8 = 1;
const ACCESS_ALLOWED_OBJECT: u8 = 5;
const ACCESS_ALLOWED_CALLBACK: u8 = 9;
const ACCESS_DENIED_CALLBACK: u8 = 10;
const ACCESS_ALLOWED_CALLBACK_OBJECT: u8 = 11;
/// S-1-5-18 and S-1-5-32-544, as bytes.
const SYSTEM: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
const ADMINISTRATORS: &[u8] = &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];

/// A SID in its binary form (MS-DTYP 2.4.2.2).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Sid(Vec<u8>);

impl fmt::Display for Sid {
    /// `S-1-5-32-545 (Users)`: the string form, with the name of a few well-known groups.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        if b.len() < 8 {
            return write!(f, "an unreadable SID");
        }
        let authority = b[2..8].iter().fold(0u64, |n, &d| n << 8 | u64::from(d));
        write!(f, "S-{}-{authority}", b[0])?;
        for sub in b[8..].chunks_exact(4) {
            write!(f, "-{}", u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]))?;
        }
        let name = match b.as_slice() {
            [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] => " (Everyone)",
            [1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0] => " (Authenticated Users)",
            [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x21, 2, 0, 0] => " (Users)",
            _ => "",
        };
        f.write_str(name)
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One entry of a DACL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ace {
    kind: u8,
    flags: u8,
    mask: u32,
    /// None for the object ACE types, whose SID sits after optional GUIDs; they are counted as
    /// granting to someone else.
    sid: Option<Sid>,
}

/// A path's owner and DACL (None: no DACL, which lets everyone in).
#[derive(Debug)]
pub(super) struct Security {
    owner: Sid,
    dacl: Option<Vec<Ace>>,
    protected: bool,
}

/// The user's SID, and the owner the token gives the objects it creates.
struct Me {
    user: Sid,
    default_owner: Sid,
}

pub(super) fn access(path: &Path) -> Result<Access, StoreError> {
    let security = read_security(path).map_err(io_error("inspect", path))?;
    let me = me().map_err(io_error("inspect", path))?;
    Ok(judge(&security, &me))
}

fn judge(security: &Security, me: &Me) -> Access {
    let ours = security.owner == me.user || security.owner == me.default_owner;
    let Some(dacl) = &security.dacl else {
        let everyone = "every user (it has no access list)".to_string();
        return Access { ours, open: true, writers: Some(everyone.clone()), shown: everyone };
    };
    let trusted = |sid: &Sid| *sid == me.user || sid.0 == SYSTEM || sid.0 == ADMINISTRATORS;
    let others: Vec<&Ace> = dacl
        .iter()
        .filter(|ace| ace.flags & INHERIT_ONLY_ACE as u8 == 0)
        .filter(|ace| {
            matches!(
                ace.kind,
                ACCESS_ALLOWED | ACCESS_ALLOWED_OBJECT | ACCESS_ALLOWED_CALLBACK | ACCESS_ALLOWED_CALLBACK_OBJECT
            )
        })
        .filter(|ace| ace.mask != 0 && !ace.sid.as_ref().is_some_and(trusted))
        .collect();
    let name = |ace: &Ace| ace.sid.as_ref().map_or_else(|| format!("an ACE of type {}", ace.kind), Sid::to_string);
    let writers: Vec<String> = others.iter().filter(|ace| ace.mask & WRITE_RIGHTS != 0).map(|ace| name(ace)).collect();
    let shown = dacl.iter().map(|ace| format!("{}: {:#x}", name(ace), ace.mask)).collect::<Vec<_>>().join(", ");
    Access {
        ours,
        open: !others.is_empty(),
        writers: (!writers.is_empty()).then(|| format!("its access list lets {} write", writers.join(", "))),
        shown: format!("{} access list {shown}", if security.protected { "protected" } else { "inheriting" }),
    }
}

pub(super) fn restrict(path: &Path, dir: bool) -> Result<(), StoreError> {
    let user = me().map_err(io_error("restrict", path))?.user;
    let flags = if dir { (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) as u8 } else { 0 };
    set_dacl(path, &[(flags, FILE_ALL_ACCESS, &user)]).map_err(io_error("restrict", path))
}

/// Nothing to ask at creation: the file is made private before a byte is written to it.
pub(super) fn private_mode(_: &mut OpenOptions) {}

/// The DACL made of `aces` (flags, rights, SID: all allowing), in its binary form (MS-DTYP 2.4.5
/// ACL, 2.4.4.2 ACCESS_ALLOWED_ACE).
fn build_acl(aces: &[(u8, u32, &Sid)]) -> Vec<u8> {
    let size = 8 + aces.iter().map(|(_, _, sid)| 8 + sid.0.len()).sum::<usize>();
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(&[2, 0]); // ACL_REVISION, Sbz1
    bytes.extend_from_slice(&(size as u16).to_le_bytes());
    bytes.extend_from_slice(&(aces.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&[0, 0]); // Sbz2
    for (flags, mask, sid) in aces {
        bytes.extend_from_slice(&[ACCESS_ALLOWED, *flags]);
        bytes.extend_from_slice(&((8 + sid.0.len()) as u16).to_le_bytes());
        bytes.extend_from_slice(&mask.to_le_bytes());
        bytes.extend_from_slice(&sid.0);
    }
    bytes
}

/// A self-relative security descriptor (MS-DTYP 2.4.6) holding `acl` as a protected DACL, so
/// nothing is inherited from the folder above; DWORD-aligned, as Windows wants it (the header is
/// 20 bytes and an ACL's size a multiple of 4, a SID being 8 + 4n bytes).
fn protected_descriptor(acl: &[u8]) -> Vec<u32> {
    const HEADER: u32 = 20;
    let control = SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_PROTECTED;
    let mut bytes = vec![1, 0]; // SECURITY_DESCRIPTOR_REVISION, Sbz1
    bytes.extend_from_slice(&control.to_le_bytes());
    for offset in [0, 0, 0, HEADER] {
        // owner, group, SACL (none of them set), DACL
        bytes.extend_from_slice(&offset.to_le_bytes());
    }
    bytes.extend_from_slice(acl);
    bytes.chunks_exact(4).map(|word| u32::from_ne_bytes([word[0], word[1], word[2], word[3]])).collect()
}

/// The entries of an ACL in its binary form.
fn parse_acl(bytes: &[u8]) -> Vec<Ace> {
    let count = bytes.get(4..6).map_or(0, |n| u16::from_le_bytes([n[0], n[1]]));
    let mut aces = Vec::new();
    let mut at = 8;
    for _ in 0..count {
        let Some(&[kind, flags, size_lo, size_hi, m0, m1, m2, m3]) = bytes.get(at..at + 8) else { break };
        let size = usize::from(u16::from_le_bytes([size_lo, size_hi]));
        let Some(body) = bytes.get(at..at + size) else { break };
        let sid = matches!(kind, ACCESS_ALLOWED | ACCESS_DENIED | ACCESS_ALLOWED_CALLBACK | ACCESS_DENIED_CALLBACK)
            .then(|| body.get(8..).and_then(|sid| sid.get(..8 + 4 * usize::from(*sid.get(1)?))))
            .flatten()
            .map(|sid| Sid(sid.to_vec()));
        aces.push(Ace { kind, flags, mask: u32::from_le_bytes([m0, m1, m2, m3]), sid });
        at += size.max(8);
    }
    aces
}

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

fn win32(status: WIN32_ERROR) -> io::Result<()> {
    match status {
        ERROR_SUCCESS => Ok(()),
        error => Err(io::Error::from_raw_os_error(error as i32)),
    }
}

/// Replaces the DACL of `path` by one made of `aces`, protected: nothing inherited from above.
///
/// Through a handle of our own and SetKernelObjectSecurity, not SetNamedSecurityInfoW: Wine 8.0's
/// SetNamedSecurityInfoW opens the file without data access, and wineserver then drops the new
/// descriptor (and it merges the parent's ACEs whatever PROTECTED_DACL_SECURITY_INFORMATION says).
/// The handle asks for read access too, which Wine needs; where the DACL refuses it, WRITE_DAC
/// alone, which Windows grants an owner whatever the DACL says.
fn set_dacl(path: &Path, aces: &[(u8, u32, &Sid)]) -> io::Result<()> {
    let descriptor = protected_descriptor(&build_acl(aces));
    let open = |access| OpenOptions::new().access_mode(access).custom_flags(FILE_FLAG_BACKUP_SEMANTICS).open(path);
    let file = match open(FILE_READ_DATA | READ_CONTROL | WRITE_DAC) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open(READ_CONTROL | WRITE_DAC)?,
        opened => opened?,
    };
    // SAFETY: the handle is open with WRITE_DAC for the whole call; `descriptor` is a well-formed
    // self-relative descriptor that outlives the call, which keeps no pointer to it.
    let done = unsafe {
        SetKernelObjectSecurity(
            file.as_raw_handle(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            descriptor.as_ptr() as PSECURITY_DESCRIPTOR,
        )
    };
    if done == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The owner and DACL of `path`, read back from the system.
pub(super) fn read_security(path: &Path) -> io::Result<Security> {
    let path = wide(path);
    let (mut owner, mut dacl, mut descriptor): (PSID, *mut ACL, PSECURITY_DESCRIPTOR) =
        (null_mut(), null_mut(), null_mut());
    // SAFETY: `path` is NUL-terminated; the out-pointers are valid. On success `descriptor` is a
    // LocalAlloc'd block (freed by `Local`) that `owner` and `dacl` point into.
    win32(unsafe {
        GetNamedSecurityInfoW(
            path.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            null_mut(),
            &mut dacl,
            null_mut(),
            &mut descriptor,
        )
    })?;
    let descriptor = Local(descriptor);
    let (mut control, mut revision) = (0u16, 0u32);
    // SAFETY: `descriptor` is the valid descriptor just returned; the out-pointers are valid.
    if unsafe { GetSecurityDescriptorControl(descriptor.0, &mut control, &mut revision) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let dacl = (!dacl.is_null()).then(|| {
        // SAFETY: a non-null `dacl` points to an ACL inside `descriptor`, whose header gives its
        // size in bytes; the bytes are copied out before `descriptor` is freed.
        let bytes = unsafe { std::slice::from_raw_parts(dacl.cast::<u8>(), usize::from((*dacl).AclSize)) };
        parse_acl(bytes)
    });
    Ok(Security { owner: copy_sid(owner), dacl, protected: control & SE_DACL_PROTECTED != 0 })
}

/// Copies a SID out of memory owned by something else (None when there is none).
fn copy_sid(sid: PSID) -> Sid {
    if sid.is_null() {
        return Sid(Vec::new());
    }
    // SAFETY: `sid` points to a valid SID, inside a buffer its caller keeps alive.
    let len = unsafe { GetLengthSid(sid) } as usize;
    // SAFETY: the SID is `len` bytes long (GetLengthSid); they are copied out at once.
    Sid(unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), len) }.to_vec())
}

/// Frees memory the system allocated for us with LocalAlloc.
struct Local(*mut c_void);

impl Drop for Local {
    fn drop(&mut self) {
        // SAFETY: the pointer came from LocalAlloc (GetNamedSecurityInfoW) and is freed once.
        unsafe { LocalFree(self.0) };
    }
}

/// Closes a handle we opened.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by us (OpenProcessToken) and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

fn me() -> io::Result<Me> {
    let mut token: HANDLE = null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `token` is a
    // valid out-pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = Handle(token);
    let user = token_information(&token, TokenUser)?;
    let owner = token_information(&token, TokenOwner)?;
    // SAFETY: the buffers hold a TOKEN_USER and a TOKEN_OWNER (asked for by class, 8-byte
    // aligned), whose SID pointers point into the same buffers, alive while copied.
    let (user, default_owner) = unsafe {
        (
            copy_sid((*user.as_ptr().cast::<TOKEN_USER>()).User.Sid),
            copy_sid((*owner.as_ptr().cast::<TOKEN_OWNER>()).Owner),
        )
    };
    Ok(Me { user, default_owner })
}

/// One class of the token's information, in an 8-byte aligned buffer.
fn token_information(token: &Handle, class: TOKEN_INFORMATION_CLASS) -> io::Result<Vec<u64>> {
    let mut len = 0u32;
    // SAFETY: a null buffer of length 0 asks only for the size needed, written to `len`.
    unsafe { GetTokenInformation(token.0, class, null_mut(), 0, &mut len) };
    let mut buffer = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: `buffer` is writable for at least `len` bytes.
    if unsafe { GetTokenInformation(token.0, class, buffer.as_mut_ptr().cast(), len, &mut len) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ServerKey, Store, Tokens};
    use std::fs;
    use std::path::PathBuf;

    const EVERYONE: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    const USERS: &[u8] = &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x21, 2, 0, 0];
    const FOLDER: u8 = (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) as u8;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-remote-acl-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn tokens() -> Tokens {
        serde_json::from_value(serde_json::json!({"access_token": "a", "refresh_token": "r"})).unwrap()
    }

    fn sid(bytes: &[u8]) -> Sid {
        Sid(bytes.to_vec())
    }

    /// Wine sets these in every process it runs.
    fn under_wine() -> bool {
        std::env::var_os("WINECONFIGDIR").is_some()
    }

    /// Read back from the system: one ACE, full control for the user, and nothing inherited.
    /// Wine (upstream, without the staging patches) keeps no ACLs: it turns a DACL into Unix mode
    /// bits and back, always with an ACE for SYSTEM and never protected. There the check is what
    /// it can show: full control for the user and nothing for anyone but the user and SYSTEM.
    fn assert_owner_only(path: &Path) {
        let security = read_security(path).unwrap();
        let flags = if path.is_dir() { FOLDER } else { 0 };
        let only_me = Ace { kind: ACCESS_ALLOWED, flags, mask: FILE_ALL_ACCESS, sid: Some(me().unwrap().user) };
        let shown = format!("{} (owner {:?}): {:?}", path.display(), security.owner, security.dacl);
        if under_wine() {
            let dacl = security.dacl.unwrap_or_default();
            assert!(dacl.contains(&only_me), "{shown}");
            assert!(dacl.iter().all(|ace| ace == &only_me || ace.sid == Some(sid(SYSTEM))), "{shown}");
            return;
        }
        assert_eq!(security.dacl, Some(vec![only_me]), "{shown}");
        assert!(security.protected, "{} inherits ACEs from its folder", path.display());
    }

    #[test]
    fn every_folder_and_file_the_store_writes_is_private_to_the_user() {
        let root = temp_root("written");
        let store = Store::new(&root);
        let key = ServerKey::new("https://e.com/mcp", None);
        let server = store.server(&key);
        server.save_tokens(&tokens()).unwrap();
        server.save_clients(&Default::default()).unwrap();
        let lock = server.lock().unwrap();
        let tray = store.hold_tray_lock().unwrap();
        for path in [
            root.clone(),
            server.path().to_path_buf(),
            server.path().join("tokens.json"),
            server.path().join("client.json"),
            root.join("locks"),
            root.join("locks").join(format!("{}.lock", key.as_str())),
            root.join("tray.lock"),
        ] {
            assert_owner_only(&path);
        }
        // The atomic write's temp file is private before a byte is written to it.
        let temp = server.path().join(".tokens.json.tmp");
        let file = super::super::create_new_file(&temp).unwrap();
        assert_owner_only(&temp);
        drop((file, lock, tray)); // Windows removes open files only once they are closed.
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn access_lists_that_let_others_in_are_replaced_on_a_read() {
        let root = temp_root("widened");
        let server = Store::new(&root).server(&ServerKey::new("https://e.com/mcp", None));
        server.save_tokens(&tokens()).unwrap();
        let file = server.path().join("tokens.json");
        set_dacl(server.path(), &[(FOLDER, FILE_ALL_ACCESS, &sid(EVERYONE))]).unwrap();
        set_dacl(&file, &[(0, FILE_ALL_ACCESS, &me().unwrap().user), (0, 0x1200a9, &sid(EVERYONE))]).unwrap();
        let opened = access(&file).unwrap();
        assert!(opened.open && opened.writers.is_none(), "a read right for Everyone is an opening, not a write");
        assert_eq!(server.tokens().unwrap().unwrap().access_token, "a");
        assert_owner_only(server.path());
        assert_owner_only(&file);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn write_rights_for_others_on_a_folder_not_ours_are_foreign() {
        let me = Me {
            user: sid(&[1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xe9, 3, 0, 0]),
            default_owner: sid(ADMINISTRATORS),
        };
        let theirs = sid(&[1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xea, 3, 0, 0]);
        let ace = |kind, flags, mask, who: &Sid| Ace { kind, flags, mask, sid: Some(who.clone()) };
        let security = |owner: &Sid, dacl: Option<Vec<Ace>>| Security { owner: owner.clone(), dacl, protected: false };

        // %AppData%'s usual list (the user, SYSTEM, Administrators) lets nobody else in.
        let usual = vec![
            ace(ACCESS_ALLOWED, FOLDER, FILE_ALL_ACCESS, &me.user),
            ace(ACCESS_ALLOWED, FOLDER, FILE_ALL_ACCESS, &sid(SYSTEM)),
            ace(ACCESS_ALLOWED, FOLDER, FILE_ALL_ACCESS, &sid(ADMINISTRATORS)),
        ];
        let judged = judge(&security(&theirs, Some(usual.clone())), &me);
        assert_eq!((judged.ours, judged.open, judged.writers), (false, false, None));

        // Users may write: foreign when another user owns the folder, fixable when we do.
        let mut shared = usual.clone();
        shared.push(ace(ACCESS_ALLOWED, 0, FILE_APPEND_DATA, &sid(USERS)));
        let judged = judge(&security(&theirs, Some(shared.clone())), &me);
        assert_eq!(judged.writers.as_deref(), Some("its access list lets S-1-5-32-545 (Users) write"));
        assert!(!judged.ours && judged.open);
        assert!(judge(&security(&me.user, Some(shared.clone())), &me).ours);
        assert!(judge(&security(&sid(ADMINISTRATORS), Some(shared)), &me).ours, "made by us elevated");

        // Reading is an opening but not a write; inherit-only and deny entries grant nothing here.
        let mut read_only = usual.clone();
        read_only.push(ace(ACCESS_ALLOWED, 0, 0x1200a9, &sid(EVERYONE)));
        read_only.push(ace(ACCESS_ALLOWED, FOLDER | INHERIT_ONLY_ACE as u8, FILE_ALL_ACCESS, &sid(USERS)));
        read_only.push(ace(ACCESS_DENIED, 0, FILE_ALL_ACCESS, &sid(USERS)));
        let judged = judge(&security(&theirs, Some(read_only)), &me);
        assert_eq!((judged.open, judged.writers), (true, None));

        // No access list at all lets everyone write; an object ACE is counted as someone else's.
        assert!(judge(&security(&theirs, None), &me).writers.is_some());
        let mut object = usual;
        object.push(Ace { kind: ACCESS_ALLOWED_OBJECT, flags: 0, mask: FILE_WRITE_DATA, sid: None });
        assert_eq!(
            judge(&security(&theirs, Some(object)), &me).writers.as_deref(),
            Some("its access list lets an ACE of type 5 write")
        );
    }

    #[test]
    fn acls_are_built_and_read_in_the_binary_form_windows_uses() {
        let users = sid(USERS);
        let bytes = build_acl(&[(FOLDER, FILE_ALL_ACCESS, &users), (0, 0x1200a9, &sid(EVERYONE))]);
        assert_eq!(u16::from_le_bytes([bytes[2], bytes[3]]) as usize, bytes.len());
        assert_eq!(
            parse_acl(&bytes),
            vec![
                Ace { kind: ACCESS_ALLOWED, flags: FOLDER, mask: FILE_ALL_ACCESS, sid: Some(users.clone()) },
                Ace { kind: ACCESS_ALLOWED, flags: 0, mask: 0x1200a9, sid: Some(sid(EVERYONE)) },
            ]
        );
        assert_eq!(users.to_string(), "S-1-5-32-545 (Users)");
        assert_eq!(parse_acl(&bytes[..20]).len(), 0, "a cut ACL yields no entry it does not hold whole");
    }
}
