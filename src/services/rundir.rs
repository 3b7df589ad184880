//! The run directory: where the running grace publishes its services'
//! state (`published`) and makes their notify sockets, and where `grace
//! status` and `grace inspect` look for that state. Both ask here, so that
//! they cannot disagree on where to look.
//!
//! The order (docs/services.md): an explicit `--run-dir` or GRACE_RUN_DIR
//! as it is, nothing else; otherwise the first of `/run/grace`,
//! `$XDG_RUNTIME_DIR/grace`, `/tmp/grace-UID` and `/dev/shm/grace-UID`
//! that grace's user can use: `/run` is the conventional place and often
//! a tmpfs even on a read-only root; the others are where a non-root user
//! or a read-only root still has somewhere to write (`/tmp` is a tmpfs in
//! podman's --read-only, `/dev/shm` a tmpfs in every engine's container),
//! the uid in their name keeping users apart in a shared, sticky
//! directory. With none usable, grace runs without publishing.
//!
//! A directory is used only if it is grace's user's and nobody else may
//! write to it: no service running as another user, no `docker exec`'d
//! shell, can plant a link there for grace to follow, or a state for a
//! reader to believe. The files in it are made with O_EXCL and O_NOFOLLOW
//! and replaced by rename (`sys::create_in`). A reader trusts a directory
//! and its state file only if they belong to root, to the reader itself or
//! to the user the container's PID 1 runs as, and nobody else may write
//! them.

use crate::base::prelude::*;

use crate::sys::{self, Fd, FileType};

/// The conventional place, tried first.
const RUN: &str = "/run/grace";

/// The largest file a reader takes from a run directory: the state file
/// is the only one read.
const READ_LIMIT: usize = super::published::STATE_LIMIT;

/// Where to look, in order: `explicit` alone if given, else the
/// conventional places for each of `uids` (the per-user ones once per uid).
pub fn candidates(explicit: Option<&str>, runtime_dir: Option<&str>, uids: &[u32]) -> Vec<String> {
    if let Some(explicit) = explicit {
        return vec![explicit.to_string()];
    }
    let mut places = vec![RUN.to_string()];
    // A relative XDG_RUNTIME_DIR is invalid by its specification.
    if let Some(dir) = runtime_dir.filter(|dir| dir.starts_with('/')) {
        places.push(format!("{}/grace", dir.trim_end_matches('/')));
    }
    for base in ["/tmp", "/dev/shm"] {
        for uid in uids {
            let place = format!("{base}/grace-{uid}");
            if !places.contains(&place) {
                places.push(place);
            }
        }
    }
    places
}

/// A run directory grace's user owns and nobody else may write to, open.
pub struct RunDir {
    pub path: String,
    pub dir: Fd,
}

/// Why a directory or file is not used: what is wrong, and the system's
/// error when it said so.
type Refusal = (&'static str, Option<sys::Error>);

/// `PATH: why[: error]`.
fn words(path: &str, (why, error): Refusal) -> String {
    match error {
        Some(error) => format!("{path}: {why}: {error}"),
        None => format!("{path}: {why}"),
    }
}

impl RunDir {
    /// For the running grace: the first candidate it can use, made if
    /// missing. The error names each place tried and why it was not used.
    pub fn prepare(explicit: Option<&str>, runtime_dir: Option<&str>) -> Result<RunDir, String> {
        let uid = sys::effective_uid();
        let mut refused = Vec::new();
        for place in candidates(explicit, runtime_dir, &[uid]) {
            match take(&place, uid, explicit.is_some()) {
                Ok(dir) => return Ok(RunDir { path: place, dir }),
                Err(refusal) => refused.push(words(&place, refusal)),
            }
        }
        Err(refused.join("; "))
    }

    /// `name` under the run directory, a directory made as the run
    /// directory itself is (the notify sockets' home): its path.
    pub fn subdirectory(&self, name: &str) -> Result<String, String> {
        let path = format!("{}/{name}", self.path);
        match take(&path, sys::effective_uid(), false) {
            Ok(_) => Ok(path),
            Err(refusal) => Err(words(&path, refusal)),
        }
    }
}

/// Makes `path` grace's if it is missing, then checks that it is a
/// directory of `uid`'s that nobody else may write to, and that grace may
/// write to it (a read-only file system may hold it from the image).
fn take(path: &str, uid: u32, explicit: bool) -> Result<Fd, Refusal> {
    if explicit && let Some((parent, _)) = path.trim_end_matches('/').rsplit_once('/') {
        // As `mkdir -p`: what the user asked for may be deep.
        let _ = sys::make_directories(parent);
    }
    let made = match sys::make_directory(path, 0o755) {
        Ok(()) => true,
        Err(error) if error.raw_os_error() == Some(libc::EEXIST) => false,
        Err(error) => return Err(("cannot create it", Some(error))),
    };
    let dir = sys::open_directory(path).map_err(|error| match error.raw_os_error() {
        // O_DIRECTORY with O_NOFOLLOW: a link says ENOTDIR.
        Some(libc::ELOOP | libc::ENOTDIR) => {
            ("not a directory (a symbolic link is not followed)", None)
        }
        _ => ("cannot open it", Some(error)),
    })?;
    let status = sys::status_of(&dir).map_err(|error| ("cannot open it", Some(error)))?;
    if status.uid != uid {
        return Err(("another user owns it", None));
    }
    if made {
        // Readable by all (a HEALTHCHECK may run as another user), whatever
        // the umask.
        sys::set_mode(&dir, 0o755).map_err(|error| ("cannot open it", Some(error)))?;
    } else if status.writable_by_others() {
        return Err(("others may write to it", None));
    }
    sys::may_write(path).map_err(|error| ("cannot write to it", Some(error)))?;
    Ok(dir)
}

/// For a reader: the file `name` in the directory `path`, if both are
/// trustworthy (owned by root or one of `uids`, the file by the
/// directory's owner; nobody else may write them; the file a regular one
/// with no other name). Ok(None): there is no such file.
#[inline(never)]
pub fn read_trusted(path: &str, name: &str, uids: &[u32]) -> Result<Option<Vec<u8>>, String> {
    let file = format!("{}/{name}", path.trim_end_matches('/'));
    match read_checked(path, name, uids) {
        Err(("", _)) => Ok(None),
        Err((why, None)) => Err(format!("{file}: {why}: not trusted")),
        Err(refusal) => Err(words(&file, refusal)),
        Ok(bytes) => Ok(Some(bytes)),
    }
}

/// `read_trusted`'s checks; "" for a file that is not there.
fn read_checked(path: &str, name: &str, uids: &[u32]) -> Result<Vec<u8>, Refusal> {
    let (directory, fd, file) = sys::open_directory(path)
        .and_then(|dir| {
            let directory = sys::status_of(&dir)?;
            let (fd, file) = sys::open_in(&dir, name)?;
            Ok((directory, fd, file))
        })
        .map_err(absent)?;
    if directory.uid != 0 && !uids.contains(&directory.uid) {
        return Err(("its directory belongs to another user", None));
    }
    if directory.writable_by_others() {
        return Err(("others may write to its directory", None));
    }
    if file.kind != FileType::Regular {
        return Err(("not a regular file", None));
    }
    if file.uid != directory.uid {
        return Err(("not owned by its directory's owner", None));
    }
    if file.writable_by_others() {
        return Err(("others may write to it", None));
    }
    if file.links != 1 {
        return Err(("it has another name (a hard link)", None));
    }
    let bytes = sys::read_up_to(&fd, READ_LIMIT + 1).map_err(absent)?;
    if bytes.len() > READ_LIMIT {
        return Err((
            "larger than 1 MiB",
            Some(sys::Error::from_raw_os_error(libc::EFBIG)),
        ));
    }
    Ok(bytes)
}

/// A reader's refusal for what the system said.
fn absent(error: sys::Error) -> Refusal {
    match error.raw_os_error() {
        Some(libc::ENOENT) => ("", None),
        Some(libc::ELOOP | libc::ENOTDIR) => ("a symbolic link or not a directory", None),
        _ => ("cannot read it", Some(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_explicit_alone_else_run_then_the_per_user_places() {
        assert_eq!(candidates(Some("/x"), Some("/run/user/7"), &[7]), ["/x"]);
        assert_eq!(
            candidates(None, Some("/run/user/7/"), &[7, 0, 7]),
            [
                "/run/grace",
                "/run/user/7/grace",
                "/tmp/grace-7",
                "/tmp/grace-0",
                "/dev/shm/grace-7",
                "/dev/shm/grace-0"
            ]
        );
        assert_eq!(
            candidates(None, Some("relative"), &[0]),
            ["/run/grace", "/tmp/grace-0", "/dev/shm/grace-0"]
        );
    }

    #[test]
    fn only_a_directory_of_grace_s_own_that_others_cannot_write_is_taken() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("grace-rundir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let path = |name: &str| base.join(name).to_str().unwrap().to_string();
        let uid = sys::effective_uid();
        // Made, mode 0755 whatever the umask; taken again as it is.
        let made = RunDir::prepare(Some(&path("deep/run")), None).unwrap();
        let mode = std::fs::metadata(path("deep/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            made.subdirectory("notify").unwrap(),
            path("deep/run/notify")
        );
        assert!(RunDir::prepare(Some(&path("deep/run")), None).is_ok());
        // Writable by others, a link, or not a directory: refused, saying why.
        std::fs::create_dir(path("open")).unwrap();
        std::fs::set_permissions(path("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink(path("deep/run"), path("link")).unwrap();
        std::fs::write(path("file"), "").unwrap();
        for (name, why) in [
            ("open", "others may write"),
            ("link", "symbolic link"),
            ("file", "not a directory"),
        ] {
            let error = RunDir::prepare(Some(&path(name)), None).err().unwrap();
            assert!(error.contains(why), "{name}: {error}");
        }
        // A reader: the state there, then refusals.
        let dir = path("deep/run");
        std::fs::write(format!("{dir}/state"), "text").unwrap();
        assert_eq!(
            read_trusted(&dir, "state", &[uid]).unwrap().as_deref(),
            Some(&b"text"[..])
        );
        assert_eq!(read_trusted(&dir, "none", &[uid]).unwrap(), None);
        assert_eq!(
            read_trusted(&path("missing"), "state", &[uid]).unwrap(),
            None
        );
        std::fs::hard_link(format!("{dir}/state"), format!("{dir}/other")).unwrap();
        assert!(
            read_trusted(&dir, "state", &[uid])
                .unwrap_err()
                .contains("hard link")
        );
        std::fs::remove_file(format!("{dir}/other")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", format!("{dir}/linked")).unwrap();
        assert!(read_trusted(&dir, "linked", &[uid]).is_err());
        std::fs::set_permissions(
            format!("{dir}/state"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        assert!(
            read_trusted(&dir, "state", &[uid])
                .unwrap_err()
                .contains("others may write")
        );
        std::fs::write(path("open/state"), "").unwrap();
        assert!(read_trusted(&path("open"), "state", &[uid]).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
