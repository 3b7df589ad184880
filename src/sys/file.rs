//! Files and descriptors: whole files up to a limit, symbolic links and
//! directory listings (mostly under /proc), writes to stdout and stderr,
//! the few files grace writes itself (the run directory's state), and the
//! descriptor limit with how much of it is in use.

use core::ffi::c_int;

use super::{Error, Fd, RawFd, Result, c_string, check};
use crate::base::prelude::*;

/// `isatty(3)`.
pub fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: an integer argument; a bad descriptor is just "no".
    unsafe { libc::isatty(fd) == 1 }
}

/// write(2) until all of `bytes` is written.
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        // SAFETY: a read-only buffer of the length passed.
        let result = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match check(result as libc::c_long) {
            Ok(0) => return Err(Error::from_raw_os_error(libc::EIO)),
            Ok(written) => bytes = &bytes[written as usize..],
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// chdir(2).
pub fn change_directory(path: &str) -> Result<()> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::chdir(path.as_ptr().cast()) } as libc::c_long)?;
    Ok(())
}

/// getcwd(2): the working directory's absolute path. ENOENT when it was
/// removed or lies outside the root, ERANGE when longer than PATH_MAX.
pub fn current_directory() -> Result<String> {
    let mut buffer = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: a live buffer of the length passed, which the kernel fills
    // with a NUL-terminated path; it returns that length, NUL included.
    let length =
        check(unsafe { libc::syscall(libc::SYS_getcwd, buffer.as_mut_ptr(), buffer.len()) })?;
    buffer.truncate((length as usize).saturating_sub(1));
    // Outside the root (a chroot's escapee), the kernel says
    // "(unreachable)/...": no path at all.
    if buffer.first() != Some(&b'/') {
        return Err(Error::from_raw_os_error(libc::ENOENT));
    }
    String::from_utf8(buffer).map_err(|_| Error::from_raw_os_error(libc::EILSEQ))
}

/// open(2) read-only and close-on-exec.
fn open_read_only(path: &str, flags: c_int) -> Result<Fd> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path; the result is a new descriptor.
    let fd = check(unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_RDONLY | libc::O_CLOEXEC | flags,
        )
    } as libc::c_long)?;
    Ok(Fd(fd as RawFd))
}

/// The whole contents of the file at `path`, if it holds at most `limit`
/// bytes; EFBIG (`is_too_large`) if it holds more. Every file grace reads
/// is bounded so: a services file, a state file or a /proc file can be
/// /dev/zero, or a process's rewritten argument area, and reading it whole
/// would exhaust memory (PID 1 then aborts and the container with it). At
/// most `limit + 1` bytes are read, in 4 KiB steps: the bound costs no
/// memory up front.
pub fn read_file(path: &str, limit: usize) -> Result<Vec<u8>> {
    let fd = open_read_only(path, 0)?;
    let mut contents = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let room = (limit.saturating_add(1) - contents.len()).min(chunk.len());
        // SAFETY: a read into a live buffer of at least the length passed.
        let result = unsafe { libc::read(fd.raw(), chunk.as_mut_ptr().cast(), room) };
        match check(result as libc::c_long) {
            Ok(0) => return Ok(contents),
            Ok(read) => contents.extend_from_slice(&chunk[..read as usize]),
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) => return Err(error),
        }
        if contents.len() > limit {
            return Err(Error::with_detail(libc::EFBIG, "file too large"));
        }
    }
}

/// Whether `error` is `read_file`'s: the file holds more than the limit.
pub fn is_too_large(error: &Error) -> bool {
    error.code() == libc::EFBIG
}

/// Up to `buffer.len()` bytes from the start of the file at `path`: how
/// many were read.
pub fn read_head(path: &[u8], buffer: &mut [u8]) -> Result<usize> {
    read_head_raw(&c_string(path)?, buffer)
}

/// `read_head` of a NUL-terminated `path`, without allocating: safe in a
/// child between fork and exec.
pub(super) fn read_head_raw(path: &[u8], buffer: &mut [u8]) -> Result<usize> {
    if path.last() != Some(&0) {
        return Err(Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: a NUL-terminated path; the result is a new descriptor.
    let fd = check(
        unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) }
            as libc::c_long,
    )?;
    let fd = Fd(fd as RawFd);
    let mut filled = 0;
    while filled < buffer.len() {
        let rest = &mut buffer[filled..];
        // SAFETY: a read into a live buffer of the length passed.
        let result = unsafe { libc::read(fd.raw(), rest.as_mut_ptr().cast(), rest.len()) };
        match check(result as libc::c_long) {
            Ok(0) => break,
            Ok(read) => filled += read as usize,
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// readlink(2): where the symbolic link at `path` points.
pub fn read_link(path: &str) -> Result<Vec<u8>> {
    let path = c_string(path.as_bytes())?;
    let mut target = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: a NUL-terminated path and a live buffer of the length passed.
    let length = check(unsafe {
        libc::readlink(
            path.as_ptr().cast(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    } as libc::c_long)?;
    // A target that fills the buffer may have been cut short.
    if length as usize == target.len() {
        return Err(Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    target.truncate(length as usize);
    Ok(target)
}

/// The names in the directory at `path` (getdents64), `.` and `..` left
/// out.
pub fn list_directory(path: &str) -> Result<Vec<Vec<u8>>> {
    list_directory_up_to(path, usize::MAX)
}

/// The names in the directory at `path`, reading about `budget` bytes of
/// directory records at most. Listing /proc costs the kernel an entry built
/// for every process: a budget bounds that cost where a partial answer
/// will do.
pub fn list_directory_up_to(path: &str, budget: usize) -> Result<Vec<Vec<u8>>> {
    const CHUNK: usize = 32 * 1024;
    // Room for a record of any name.
    const MINIMUM: usize = 512;
    // The fixed part of a linux_dirent64: inode, offset, record length,
    // type; the NUL-terminated name follows.
    const NAME_OFFSET: usize = 8 + 8 + 2 + 1;
    let fd = open_read_only(path, libc::O_DIRECTORY)?;
    let mut names = Vec::new();
    let mut buffer = vec![0u8; budget.clamp(MINIMUM, CHUNK)];
    let mut spent = 0;
    while spent < budget {
        let size = (budget - spent).clamp(MINIMUM, buffer.len());
        // SAFETY: a live buffer of at least `size` bytes, filled with
        // records.
        let result =
            unsafe { libc::syscall(libc::SYS_getdents64, fd.raw(), buffer.as_mut_ptr(), size) };
        let filled = match check(result) {
            Ok(0) => break,
            Ok(filled) => filled as usize,
            Err(error) if error.code() == libc::EINTR => continue,
            Err(error) => return Err(error),
        };
        let mut at = 0;
        while at + NAME_OFFSET <= filled {
            let length = usize::from(u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]));
            if length < NAME_OFFSET || at + length > filled {
                break;
            }
            let name = &buffer[at + NAME_OFFSET..at + length];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
            at += length;
        }
        spent += filled;
    }
    Ok(names)
}

/// getrlimit(2) RLIMIT_NOFILE: the soft limit, which every new
/// descriptor's number must stay below.
pub fn descriptor_limit() -> Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a live rlimit for the kernel to fill.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } as libc::c_long)?;
    Ok(limit.rlim_cur)
}

/// How many descriptors grace has open, as /proc/self/fd lists them
/// (without the one that listing takes itself).
pub fn open_descriptors() -> Result<usize> {
    Ok(list_directory("/proc/self/fd")?.len().saturating_sub(1))
}

/// What a path is, as stat(2) sees it (symbolic links followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Directory,
    Regular,
    Other,
}

/// stat(2): the type of what `path` names.
pub fn file_type(path: &str) -> Result<FileType> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: all-zero bytes are a valid `struct stat` (integers only).
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a live stat buffer for the kernel to
    // fill.
    check(unsafe { libc::stat(path.as_ptr().cast(), &mut status) } as libc::c_long)?;
    Ok(match status.st_mode & libc::S_IFMT {
        libc::S_IFDIR => FileType::Directory,
        libc::S_IFREG => FileType::Regular,
        _ => FileType::Other,
    })
}

/// access(2) with X_OK: whether grace's real user may execute `path` (for
/// root: whether it has any execute bit).
pub fn may_execute(path: &str) -> Result<()> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::access(path.as_ptr().cast(), libc::X_OK) } as libc::c_long)?;
    Ok(())
}

/// rename(2): `to` replaced by `from` in one step.
pub fn rename(from: &str, to: &str) -> Result<()> {
    let (from, to) = (c_string(from.as_bytes())?, c_string(to.as_bytes())?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    check(unsafe { libc::rename(from.as_ptr().cast(), to.as_ptr().cast()) } as libc::c_long)?;
    Ok(())
}

/// unlink(2).
pub fn unlink(path: &str) -> Result<()> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::unlink(path.as_ptr().cast()) } as libc::c_long)?;
    Ok(())
}

/// mkdir -p: `path` and every missing parent, mode 0755; an existing
/// directory is success.
pub fn make_directories(path: &str) -> Result<()> {
    let bytes = path.as_bytes();
    let ends = (1..bytes.len()).filter(|&at| bytes[at] == b'/');
    for end in ends.chain([bytes.len()]) {
        let c_path = c_string(&bytes[..end])?;
        // SAFETY: a NUL-terminated path that outlives the call.
        let made = check(unsafe { libc::mkdir(c_path.as_ptr().cast(), 0o755) } as libc::c_long);
        match made {
            Ok(_) => {}
            Err(error) if error.code() == libc::EEXIST => {}
            Err(error) => return Err(error),
        }
    }
    match file_type(path)? {
        FileType::Directory => Ok(()),
        _ => Err(Error::from_raw_os_error(libc::ENOTDIR)),
    }
}

/// What fstat(2) says of an open file: enough to decide whether to trust
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStatus {
    pub kind: FileType,
    pub uid: u32,
    /// The permission bits.
    pub mode: u32,
    pub links: u64,
}

impl FileStatus {
    /// Whether a user other than the owner (its group, or anyone) may
    /// write to it.
    pub fn writable_by_others(&self) -> bool {
        self.mode & 0o022 != 0
    }
}

/// fstat(2) of `fd`.
pub fn status_of(fd: &Fd) -> Result<FileStatus> {
    // SAFETY: all-zero bytes are a valid `struct stat` (integers only).
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: a descriptor of ours and a live stat buffer for the kernel to
    // fill.
    check(unsafe { libc::fstat(fd.raw(), &mut status) } as libc::c_long)?;
    Ok(FileStatus {
        kind: match status.st_mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFREG => FileType::Regular,
            _ => FileType::Other,
        },
        uid: status.st_uid,
        mode: status.st_mode & 0o7777,
        links: status.st_nlink as u64,
    })
}

/// geteuid(2): whose files grace makes.
pub fn effective_uid() -> u32 {
    // SAFETY: cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// mkdir(2) of `path` alone with `mode` (the umask applies); EEXIST when
/// something is there already.
pub fn make_directory(path: &str, mode: u32) -> Result<()> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::mkdir(path.as_ptr().cast(), mode as libc::mode_t) } as libc::c_long)?;
    Ok(())
}

/// The directory at `path`, opened to work in it by name: ELOOP when
/// `path` itself is a symbolic link, which is never followed.
pub fn open_directory(path: &str) -> Result<Fd> {
    open_read_only(path, libc::O_DIRECTORY | libc::O_NOFOLLOW)
}

/// access(2) with W_OK: whether grace may create files in `path` (a
/// read-only file system says EROFS here, before any write).
pub fn may_write(path: &str) -> Result<()> {
    let path = c_string(path.as_bytes())?;
    // SAFETY: a NUL-terminated path that outlives the call.
    check(unsafe { libc::access(path.as_ptr().cast(), libc::W_OK) } as libc::c_long)?;
    Ok(())
}

/// fchmod(2): `fd`'s permission bits become exactly `mode`.
pub fn set_mode(fd: &Fd, mode: u32) -> Result<()> {
    // SAFETY: a descriptor of ours and an integer.
    check(unsafe { libc::fchmod(fd.raw(), mode as libc::mode_t) } as libc::c_long)?;
    Ok(())
}

/// The file `name` in the directory `dir`, made anew: a stale one is
/// removed first (never followed: a symbolic link goes, not its target),
/// then created with O_EXCL and O_NOFOLLOW, mode 0644, and the whole of
/// `bytes` written to it. Nothing can be redirected: a link put there in
/// between makes the creation fail.
pub fn create_in(dir: &Fd, name: &str, bytes: &[u8]) -> Result<()> {
    let _ = unlink_in(dir, name);
    let c_name = c_string(name.as_bytes())?;
    // SAFETY: a directory descriptor of ours and a NUL-terminated name; the
    // result is a new descriptor.
    let fd = check(unsafe {
        libc::openat(
            dir.raw(),
            c_name.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    } as libc::c_long)?;
    let fd = Fd(fd as RawFd);
    // The umask must not take the readers' right to read it.
    set_mode(&fd, 0o644)?;
    write_all(fd.raw(), bytes)
}

/// renameat(2) within `dir`: `to` replaced by `from` in one step (a link
/// at `to` is replaced, never followed).
pub fn rename_in(dir: &Fd, from: &str, to: &str) -> Result<()> {
    let (from, to) = (c_string(from.as_bytes())?, c_string(to.as_bytes())?);
    // SAFETY: a directory descriptor of ours and two NUL-terminated names.
    check(unsafe {
        libc::renameat(
            dir.raw(),
            from.as_ptr().cast(),
            dir.raw(),
            to.as_ptr().cast(),
        )
    } as libc::c_long)?;
    Ok(())
}

/// unlinkat(2) of `name` in `dir`.
pub fn unlink_in(dir: &Fd, name: &str) -> Result<()> {
    let name = c_string(name.as_bytes())?;
    // SAFETY: a directory descriptor of ours and a NUL-terminated name.
    check(unsafe { libc::unlinkat(dir.raw(), name.as_ptr().cast(), 0) } as libc::c_long)?;
    Ok(())
}

/// The file `name` in `dir`, opened without following a symbolic link,
/// with its status, for the caller to judge before reading.
pub fn open_in(dir: &Fd, name: &str) -> Result<(Fd, FileStatus)> {
    let name = c_string(name.as_bytes())?;
    // SAFETY: a directory descriptor of ours and a NUL-terminated name; the
    // result is a new descriptor. O_NONBLOCK: a FIFO put there must not
    // hang the open.
    let fd = check(unsafe {
        libc::openat(
            dir.raw(),
            name.as_ptr().cast(),
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    let fd = Fd(fd as RawFd);
    let status = status_of(&fd)?;
    Ok((fd, status))
}

/// Up to `limit` bytes of the open file `fd` from where it stands.
pub fn read_up_to(fd: &Fd, limit: usize) -> Result<Vec<u8>> {
    let mut contents = Vec::new();
    let mut chunk = [0u8; 4096];
    while contents.len() < limit {
        let want = chunk.len().min(limit - contents.len());
        // SAFETY: a read into a live buffer of at least `want` bytes.
        let result = unsafe { libc::read(fd.raw(), chunk.as_mut_ptr().cast(), want) };
        match check(result as libc::c_long) {
            Ok(0) => break,
            Ok(read) => contents.extend_from_slice(&chunk[..read as usize]),
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) => return Err(error),
        }
    }
    Ok(contents)
}

/// The socket file at `path` handed to `owner` (uid, gid) if given, and
/// its permission bits made `mode`. Only for a path in a directory nobody
/// else may write to: the link is not followed, yet chmod has no such
/// flag on older kernels.
pub fn give_socket(path: &str, owner: Option<(u32, u32)>, mode: u32) -> Result<()> {
    let c_path = c_string(path.as_bytes())?;
    if let Some((uid, gid)) = owner {
        // SAFETY: a NUL-terminated path and integers.
        check(unsafe {
            libc::fchownat(
                libc::AT_FDCWD,
                c_path.as_ptr().cast(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        } as libc::c_long)?;
    }
    // SAFETY: a NUL-terminated path and an integer.
    check(unsafe { libc::chmod(c_path.as_ptr().cast(), mode as libc::mode_t) } as libc::c_long)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of exactly the limit is read whole; one byte more, or an
    /// endless one, is refused as too large.
    #[test]
    fn read_file_reads_up_to_the_limit_and_refuses_more() {
        let path = std::env::temp_dir().join(format!("grace-read-{}", std::process::id()));
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let path_text = path.to_str().unwrap();
        assert_eq!(read_file(path_text, 10_000).unwrap(), bytes);
        assert_eq!(read_file(path_text, 20_000).unwrap(), bytes);
        assert!(is_too_large(&read_file(path_text, 9_999).unwrap_err()));
        assert!(is_too_large(&read_file(path_text, 0).unwrap_err()));
        assert!(is_too_large(&read_file("/dev/zero", 1 << 20).unwrap_err()));
        assert_eq!(read_file("/dev/null", 0).unwrap(), b"");
        std::fs::remove_file(&path).unwrap();
    }
}
