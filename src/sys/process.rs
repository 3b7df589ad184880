//! Processes: reaping, the subreaper and parent-death settings, the
//! terminal's foreground, and starting the command (fork, the child's
//! set-up, exec).

use core::ffi::{c_char, c_int};

use super::runtime::environ;
use super::signal::KERNEL_SIGSET_BYTES;
use super::{Error, Fd, RawFd, Result, c_string, check};
use crate::prelude::*;

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
            Err(error) if error.code == libc::EINTR => continue,
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
#[derive(Debug, Clone, Default)]
pub struct ChildSetup {
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
    pub credentials: Option<ChildCredentials>,
    /// prctl(PR_SET_NO_NEW_PRIVS).
    pub no_new_privs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildCredentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// A NULL-terminated array of pointers into `strings`, which must outlive
/// it.
fn pointer_array(strings: &[Vec<u8>]) -> Vec<*const c_char> {
    let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr().cast()).collect();
    pointers.push(core::ptr::null());
    pointers
}

/// fork(2), then in the child everything `setup` asks for, then
/// execvpe(3) of `program` (searched in PATH unless it holds a slash) with
/// `args` (argv[0] included) and `environment` (`NAME=value` entries), or
/// grace's own environment as it is when there is none to replace it.
/// Returns the child's pid once it has exec'd; if the set-up or the exec
/// failed, the child is reaped and its errno returned, as the standard
/// library's Command does through the same close-on-exec pipe.
pub fn spawn(
    program: &[u8],
    args: &[Vec<u8>],
    environment: Option<&[Vec<u8>]>,
    setup: &ChildSetup,
) -> Result<i32> {
    // Everything the child touches is allocated here, before the fork: the
    // child only makes system calls.
    let program = c_string(program)?;
    let args = args
        .iter()
        .map(|a| c_string(a))
        .collect::<Result<Vec<_>>>()?;
    let argv = pointer_array(&args);
    let replaced = match environment {
        Some(entries) => Some(
            entries
                .iter()
                .map(|e| c_string(e))
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let replaced_envp = replaced.as_deref().map(pointer_array);
    let envp = match &replaced_envp {
        Some(pointers) => pointers.as_ptr(),
        // SAFETY: reading the pointer the C runtime set before main; grace
        // never changes its environment.
        None => unsafe { environ },
    };

    let mut pipe: [c_int; 2] = [-1, -1];
    // SAFETY: `pipe` is a live array of two ints for the kernel to fill.
    check(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)?;
    let (report_read, report_write) = (Fd(pipe[0]), Fd(pipe[1]));

    // SAFETY: grace is single-threaded, so the child is a full copy with no
    // lock held by a thread that does not exist there.
    let pid = check(unsafe { libc::fork() } as libc::c_long)? as i32;
    if pid == 0 {
        let errno = match prepare_child(setup) {
            // SAFETY: `program`, `argv` and `envp` are NUL-terminated and
            // NULL-terminated arrays allocated before the fork.
            Ok(()) => unsafe {
                libc::execvpe(program.as_ptr().cast(), argv.as_ptr(), envp);
                Error::last_os_error().code
            },
            Err(error) => error.code,
        };
        let bytes = errno.to_ne_bytes();
        // SAFETY: a write of a live 4-byte buffer, then _exit, which runs
        // nothing of the parent's (no atexit handlers, no buffers flushed).
        unsafe {
            libc::write(report_write.raw(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
    }
    drop(report_write);

    let mut report = [0u8; 4];
    let received = loop {
        // SAFETY: a read into a live 4-byte buffer.
        let result =
            unsafe { libc::read(report_read.raw(), report.as_mut_ptr().cast(), report.len()) };
        match check(result as libc::c_long) {
            Err(error) if error.code == libc::EINTR => continue,
            other => break other,
        }
    };
    match received {
        // End of file: the pipe closed on a successful exec.
        Ok(0) => Ok(pid),
        Ok(_) => {
            let mut status: c_int = 0;
            // SAFETY: `status` is a live int; the child is exiting.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            Err(Error::from_raw_os_error(i32::from_ne_bytes(report)))
        }
        Err(error) => Err(error),
    }
}

/// What the child does between fork and exec, so that it starts as if
/// grace were not there: in its own process group (or session), with the
/// signal mask grace was started with, SIGPIPE ignored again if it was,
/// owning the terminal when asked, and as another user when asked. Only
/// async-signal-safe system calls; nothing is allocated.
fn prepare_child(setup: &ChildSetup) -> Result<()> {
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
    if let Some(credentials) = &setup.credentials {
        // Raw system calls: they change this (only) thread at once, with
        // none of libc's cross-thread machinery. Groups first, then the gid,
        // then the uid, while still allowed to.
        // SAFETY: the pointer and length describe a live Vec<u32> allocated
        // before the fork; gid_t is u32 on Linux.
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
