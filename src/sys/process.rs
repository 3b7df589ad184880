//! Processes: reaping, the subreaper and parent-death settings, the
//! terminal's foreground, and starting the command (fork, the child's
//! set-up, exec).

use core::ffi::{c_char, c_int};

use super::runtime::environ;
use super::signal::KERNEL_SIGSET_BYTES;
use super::{Error, Fd, RawFd, Result, c_string, check};
use crate::base::prelude::*;

/// What `waitpid` reported for one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    /// The raw wait status, decoded by `reap::WaitStatus`.
    pub status: i32,
}

/// `waitpid(-1, WNOHANG)`: reaps one exited child if there is one.
/// `Ok(None)` means children exist but none has exited; ECHILD means none.
pub fn reap_one() -> Result<Option<Reaped>> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a live int for the kernel to fill.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match check(pid as libc::c_long) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(Reaped { pid, status })),
            Err(error) if error.code() == libc::EINTR => continue,
            Err(error) => return Err(error),
        }
    }
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants are re-parented
/// to this process instead of to the namespace's PID 1.
pub fn become_child_subreaper() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    check(result as libc::c_long).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, signal)`: the kernel sends `signal` to this
/// process when its parent dies.
pub fn set_parent_death_signal(signal: i32) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    check(result as libc::c_long).map(drop)
}

/// `getpgrp(2)`.
pub fn process_group() -> i32 {
    // SAFETY: getpgrp cannot fail and touches no memory.
    unsafe { libc::getpgrp() }
}

/// `tcgetpgrp(3)` on `fd`: the terminal's foreground group.
pub fn foreground_group(fd: RawFd) -> Result<i32> {
    // SAFETY: an integer argument; a descriptor that is not a terminal is
    // reported as an error.
    let result = unsafe { libc::tcgetpgrp(fd) };
    check(result as libc::c_long).map(|_| result)
}

/// `tcsetpgrp(3)` on `fd`: makes `group` the terminal's foreground group.
/// The caller keeps SIGTTOU blocked, which the kernel requires of a
/// background process doing this.
pub fn set_foreground_group(fd: RawFd, group: i32) -> Result<()> {
    // SAFETY: plain integers; an invalid fd is reported as an error.
    let result = unsafe { libc::tcsetpgrp(fd, group) };
    check(result as libc::c_long).map(drop)
}

/// `ioctl(fd, TIOCNOTTY)`: gives up `fd` as this process's controlling
/// terminal, so that a child in a new session can take it. Returns whether
/// this process was the session leader, in which case the kernel has just
/// sent SIGHUP and SIGCONT to the terminal's foreground group.
pub fn detach_controlling_terminal(fd: RawFd) -> Result<bool> {
    // SAFETY: getsid(0) takes no pointer.
    let leader = unsafe { libc::getsid(0) } == getpid();
    // SAFETY: TIOCNOTTY takes no argument; an fd that is not a terminal is
    // reported as an error.
    let result = unsafe { libc::ioctl(fd, libc::TIOCNOTTY) };
    check(result as libc::c_long).map(|_| leader)
}

/// What the command's process must be given between fork and exec, all of
/// it prepared before the fork: the hook only makes system calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChildSetup<'a> {
    /// The signal mask grace was started with.
    pub original_mask: u64,
    /// SIGPIPE was ignored when grace started.
    pub sigpipe_ignored: bool,
    /// Make stdin's terminal the command's: its group in the foreground, or
    /// with `new_session` its session's controlling terminal.
    pub take_terminal: bool,
    /// setsid(2) instead of a new process group in grace's session.
    pub new_session: bool,
    /// setgroups, setgid and setuid to these, in that order.
    pub credentials: Option<ChildCredentials<'a>>,
    /// prctl(PR_SET_NO_NEW_PRIVS).
    pub no_new_privs: bool,
    /// (grace's descriptor, the child's number): a service's output pipes
    /// and its notification fd. Each source stays open in grace until the
    /// spawn returns.
    pub descriptors: &'a [(RawFd, RawFd)],
    /// chdir(2) here before the exec (a service's working_directory).
    pub directory: Option<&'a [u8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildCredentials<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
}

/// NUL-terminated copies of `strings` (see `c_string`), made before the
/// fork.
fn c_strings<'a>(
    strings: impl IntoIterator<Item = &'a [u8]>,
) -> core::result::Result<Vec<Vec<u8>>, SpawnFailure> {
    let mut copies = Vec::new();
    for bytes in strings {
        copies.push(c_string(bytes).map_err(SpawnFailure::Failed)?);
    }
    Ok(copies)
}

/// A NULL-terminated array of pointers into `strings`, which must outlive
/// it.
fn pointer_array(strings: &[Vec<u8>]) -> Vec<*const c_char> {
    let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr().cast()).collect();
    pointers.push(core::ptr::null());
    pointers
}

/// Why the command did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnFailure {
    /// The fork, the child's set-up or the exec failed with this; ENOENT
    /// when no candidate exists.
    Failed(Error),
    /// The candidate at this index exists, yet its exec reported ENOENT:
    /// what it names as its interpreter (a `#!` line, a binary's dynamic
    /// loader) does not.
    MissingInterpreter(usize),
    /// The candidate at this index is text with no `#!` line, and /bin/sh,
    /// which was to run it, could not be executed.
    NoShell(usize, Error),
}

/// The shell that runs an executable text file with no `#!` line, as
/// execvp(3) does in POSIX.
const SHELL: &[u8] = b"/bin/sh\0";

/// How the child reports a failure over the pipe: three native-endian
/// i32s, the errno, one of these, and a candidate's index (or -1).
const REPORT_FAILED: i32 = 0;
const REPORT_MISSING_INTERPRETER: i32 = 1;
const REPORT_NO_SHELL: i32 = 2;
type Report = [i32; 3];

/// fork(2), then in the child everything `setup` asks for, then execve(2)
/// of each of `candidates` in turn (the program itself, or where a PATH
/// search would look for it), as execvp(3) does: with `program` as argv[0]
/// and `args` after it and `environment` (`NAME=value` entries), or grace's own
/// environment as it is when there is none to replace it.
/// Returns the child's pid once it has exec'd; if the set-up or the exec
/// failed, the child is reaped and why returned, as the standard library's
/// Command does through the same close-on-exec pipe.
pub fn spawn(
    candidates: &[Vec<u8>],
    program: &[u8],
    args: &[Vec<u8>],
    environment: Option<&[Vec<u8>]>,
    setup: &ChildSetup<'_>,
) -> core::result::Result<i32, SpawnFailure> {
    // Everything the child touches is allocated here, before the fork: the
    // child only makes system calls.
    let candidates = c_strings(candidates.iter().map(Vec::as_slice))?;
    let args = c_strings(core::iter::once(program).chain(args.iter().map(Vec::as_slice)))?;
    let argv = pointer_array(&args);
    // /bin/sh FILE ARGS...: FILE is filled in by the child, with the
    // candidate that turned out to need the shell.
    let mut shell_argv = Vec::with_capacity(argv.len() + 1);
    shell_argv.push(SHELL.as_ptr().cast::<c_char>());
    shell_argv.push(core::ptr::null());
    shell_argv.extend(argv.iter().skip(1));
    let replaced = match environment {
        Some(entries) => Some(c_strings(entries.iter().map(Vec::as_slice))?),
        None => None,
    };
    let replaced_envp = replaced.as_deref().map(pointer_array);
    let envp = match &replaced_envp {
        Some(pointers) => pointers.as_ptr(),
        // SAFETY: reading the pointer the C runtime set before main; grace
        // never changes its environment.
        None => unsafe { environ },
    };
    if setup.descriptors.len() > 8 {
        return Err(SpawnFailure::Failed(Error::from_raw_os_error(libc::EINVAL)));
    }
    let directory = match setup.directory {
        Some(path) => Some(c_string(path).map_err(SpawnFailure::Failed)?),
        None => None,
    };

    let mut pipe: [c_int; 2] = [-1, -1];
    // SAFETY: `pipe` is a live array of two ints for the kernel to fill.
    check(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)
        .map_err(SpawnFailure::Failed)?;
    let (report_read, report_write) = (Fd(pipe[0]), Fd(pipe[1]));

    // SAFETY: grace is single-threaded, so the child is a full copy with no
    // lock held by a thread that does not exist there.
    let pid = check(unsafe { libc::fork() } as libc::c_long).map_err(SpawnFailure::Failed)? as i32;
    if pid == 0 {
        let report = match prepare_child(setup, directory.as_deref()) {
            Ok(()) => exec_first(&candidates, &argv, &mut shell_argv, envp),
            Err(error) => [error.code(), REPORT_FAILED, -1],
        };
        let mut bytes = [0u8; 12];
        for (chunk, value) in bytes.chunks_exact_mut(4).zip(report) {
            chunk.copy_from_slice(&value.to_ne_bytes());
        }
        // SAFETY: a write of a live 12-byte buffer (atomic on a pipe), then
        // _exit, which runs nothing of the parent's (no atexit handlers, no
        // buffers flushed).
        unsafe {
            libc::write(report_write.raw(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
    }
    drop(report_write);

    let mut bytes = [0u8; 12];
    let received = loop {
        // SAFETY: a read into a live 12-byte buffer.
        let result =
            unsafe { libc::read(report_read.raw(), bytes.as_mut_ptr().cast(), bytes.len()) };
        match check(result as libc::c_long) {
            Err(error) if error.code() == libc::EINTR => continue,
            other => break other,
        }
    };
    let received = match received {
        // End of file: the pipe closed on a successful exec.
        Ok(0) => return Ok(pid),
        Ok(received) => received as usize,
        Err(error) => return Err(SpawnFailure::Failed(error)),
    };
    let mut status: c_int = 0;
    // SAFETY: `status` is a live int; the child is exiting.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut report: Report = [libc::EIO, REPORT_FAILED, -1];
    if received == bytes.len() {
        for (value, chunk) in report.iter_mut().zip(bytes.chunks_exact(4)) {
            let mut word = [0u8; 4];
            word.copy_from_slice(chunk);
            *value = i32::from_ne_bytes(word);
        }
    }
    let [code, kind, index] = report;
    let error = Error::from_raw_os_error(code);
    Err(match (kind, usize::try_from(index)) {
        (REPORT_MISSING_INTERPRETER, Ok(index)) => SpawnFailure::MissingInterpreter(index),
        (REPORT_NO_SHELL, Ok(index)) => SpawnFailure::NoShell(index, error),
        _ => SpawnFailure::Failed(error),
    })
}

/// In the child: execve(2) each candidate until one runs, as execvp(3)
/// does, with the two things musl's execvp leaves out: a text file with no
/// `#!` line is run by /bin/sh (POSIX asks it of execvp; glibc, tini and
/// dumb-init through it, and shells do it), and an existing file whose
/// interpreter is missing is told apart from a missing file. Returns only
/// when nothing ran, with the report for the parent. No allocation.
fn exec_first(
    candidates: &[Vec<u8>],
    argv: &[*const c_char],
    shell_argv: &mut [*const c_char],
    envp: *const *const c_char,
) -> Report {
    let mut denied = false;
    let mut missing_interpreter = None;
    for (index, candidate) in candidates.iter().enumerate() {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        // SAFETY: a NUL-terminated path and NULL-terminated arrays, all
        // allocated before the fork; execve returns only on failure.
        unsafe { libc::execve(candidate.as_ptr().cast(), argv.as_ptr(), envp) };
        match Error::last_os_error().code() {
            libc::ENOEXEC if looks_binary(candidate) => {
                return [libc::ENOEXEC, REPORT_FAILED, index];
            }
            libc::ENOEXEC => {
                shell_argv[1] = candidate.as_ptr().cast();
                // SAFETY: as above; `shell_argv` is NULL-terminated and now
                // holds no null before its end.
                unsafe { libc::execve(SHELL.as_ptr().cast(), shell_argv.as_ptr(), envp) };
                return [Error::last_os_error().code(), REPORT_NO_SHELL, index];
            }
            // SAFETY: access with a NUL-terminated path.
            libc::ENOENT if unsafe { libc::access(candidate.as_ptr().cast(), libc::F_OK) } == 0 => {
                missing_interpreter.get_or_insert(index);
            }
            // Not in this PATH directory (or not allowed here): the search
            // goes on, as execvp's does.
            libc::ENOENT | libc::ENOTDIR => {}
            libc::EACCES => denied = true,
            code => return [code, REPORT_FAILED, index],
        }
    }
    match missing_interpreter {
        Some(index) => [libc::ENOENT, REPORT_MISSING_INTERPRETER, index],
        None if denied => [libc::EACCES, REPORT_FAILED, -1],
        None => [libc::ENOENT, REPORT_FAILED, -1],
    }
}

/// Whether the file at `path` (NUL-terminated) is binary rather than a
/// script: a NUL byte before the end of its first line, as shells judge
/// it. A binary the kernel cannot run (another architecture) must not be
/// fed to /bin/sh. A file that cannot be read counts as binary: the shell
/// could not read it either. No allocation.
fn looks_binary(path: &[u8]) -> bool {
    let mut head = [0u8; 80];
    match super::file::read_head_raw(path, &mut head) {
        Ok(read) => head[..read]
            .iter()
            .take_while(|&&byte| byte != b'\n')
            .any(|&byte| byte == 0),
        Err(_) => true,
    }
}

/// What the child does between fork and exec, so that it starts as if
/// grace were not there: in its own process group (or session), with the
/// signal mask grace was started with, SIGPIPE ignored again if it was,
/// owning the terminal when asked, and as another user when asked. Only
/// async-signal-safe system calls; nothing is allocated.
fn prepare_child(setup: &ChildSetup<'_>, directory: Option<&[u8]>) -> Result<()> {
    // First out of the way of every target number, then onto the targets:
    // a source may sit where another target goes. dup2 leaves the target
    // without close-on-exec; the moved copies keep it and vanish at exec.
    let mut moved = [-1 as c_int; 8];
    for (slot, &(source, _)) in moved.iter_mut().zip(setup.descriptors) {
        // SAFETY: fcntl with integer arguments; the source is open.
        *slot = check(unsafe { libc::fcntl(source, libc::F_DUPFD_CLOEXEC, 64) } as libc::c_long)?
            as c_int;
    }
    for (&from, &(_, target)) in moved.iter().zip(setup.descriptors) {
        // SAFETY: integer arguments only.
        check(unsafe { libc::dup2(from, target) } as libc::c_long)?;
    }
    if let Some(directory) = directory {
        // SAFETY: a NUL-terminated path allocated before the fork.
        check(unsafe { libc::chdir(directory.as_ptr().cast()) } as libc::c_long)?;
    }
    if setup.new_session {
        // SAFETY: setsid takes no argument.
        check(unsafe { libc::setsid() } as libc::c_long)?;
    } else {
        // SAFETY: integer arguments only: a group of its own.
        check(unsafe { libc::setpgid(0, 0) } as libc::c_long)?;
    }
    if setup.take_terminal {
        // Still fully blocked here, so SIGTTOU cannot stop us. A terminal
        // that is not ours to take is simply not taken.
        if setup.new_session {
            // SAFETY: an integer ioctl on stdin; 0 never steals the terminal
            // from another session.
            unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0) };
        } else {
            // SAFETY: plain integer system calls.
            unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid()) };
        }
    }
    if setup.sigpipe_ignored {
        // SAFETY: signal(2) with SIG_IGN.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
    if let Some(credentials) = setup.credentials {
        // Raw system calls: they change this (only) thread at once, with
        // none of libc's cross-thread machinery. Groups first, then the gid,
        // then the uid, while still allowed to.
        // SAFETY: the pointer and length describe a live slice of u32,
        // allocated before the fork; gid_t is u32 on Linux.
        let result = unsafe {
            libc::syscall(
                libc::SYS_setgroups,
                credentials.groups.len(),
                credentials.groups.as_ptr(),
            )
        };
        check(result)?;
        let (uid, gid) = (credentials.uid, credentials.gid);
        // SAFETY: integer arguments only; real, effective and saved ids all
        // change, so root cannot be regained.
        check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) })?;
        // SAFETY: as above.
        check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) })?;
    }
    if setup.no_new_privs {
        // SAFETY: prctl with integer arguments only.
        let result = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) };
        check(result as libc::c_long)?;
    }
    // The mask comes last: from here on signals reach the command.
    // SAFETY: a raw system call on a live stack mask.
    let result = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &setup.original_mask as *const u64,
            core::ptr::null_mut::<u64>(),
            KERNEL_SIGSET_BYTES,
        )
    };
    check(result).map(drop)
}

/// `getpid(2)`.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail and touches no memory.
    unsafe { libc::getpid() }
}

/// Gives the CPU to whoever is waiting for it on this one, such as a
/// process just signalled.
pub fn yield_cpu() {
    // SAFETY: no arguments; it cannot fail on Linux.
    unsafe { libc::sched_yield() };
}
