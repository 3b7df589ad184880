//! Every `unsafe` block and raw system call in grace lives here.
//!
//! The rest of the crate is safe Rust (`#![deny(unsafe_code)]` at the root).
//! Each wrapper names the system call it makes; each unsafe block says why it
//! is sound. Signal sets cross this boundary as plain `u64` bit masks (bit
//! `n - 1` is signal `n`), which is exactly the kernel's own representation on
//! Linux and lets grace block and wait for all 64 signals, including the two
//! that glibc's `sigset_t` helpers silently drop (32 and 33).

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// The size of a kernel signal set in bytes (`_NSIG / 8` on Linux).
const KERNEL_SIGSET_BYTES: usize = 8;

/// The C entry point. grace has no Rust `main` so that std's runtime set-up
/// does not run: it would set SIGPIPE to SIG_IGN before grace could see what
/// its parent left there, and the command must inherit the original.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: c_int, argv: *const *const std::ffi::c_char) -> c_int {
    use std::ffi::{CStr, OsString};
    use std::os::unix::ffi::OsStringExt;

    let mut args = Vec::new();
    if !argv.is_null() {
        for index in 0..usize::try_from(argc).unwrap_or(0) {
            // SAFETY: the C runtime passes `argc` valid pointers in `argv`.
            let arg = unsafe { *argv.add(index) };
            if arg.is_null() {
                break;
            }
            // SAFETY: each argv entry is a NUL-terminated string that lives
            // for the whole process.
            let bytes = unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec();
            args.push(OsString::from_vec(bytes));
        }
    }
    crate::run(args)
}

fn check(result: libc::c_long) -> io::Result<libc::c_long> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// `rt_sigprocmask(SIG_SETMASK)`: replaces this thread's signal mask and
/// returns the previous one. The kernel silently keeps SIGKILL and SIGSTOP
/// unblocked.
pub fn set_signal_mask(mask: u64) -> io::Result<u64> {
    let mut old: u64 = 0;
    // SAFETY: both pointers refer to live 8-byte masks, the size we pass.
    let result = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const u64,
            &mut old as *mut u64,
            KERNEL_SIGSET_BYTES,
        )
    };
    check(result)?;
    Ok(old)
}

/// `rt_sigaction(sig, NULL, &old)`: whether `signal` is currently ignored.
pub fn is_ignored(signal: i32) -> bool {
    // SAFETY: an all-zero sigaction is a valid value to be overwritten.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a live sigaction.
    let result = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
    result == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// One signal as the kernel reports it through a signalfd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceivedSignal {
    pub number: i32,
    /// `si_code`: SI_USER for kill(2), SI_QUEUE, SI_KERNEL, CLD_* …
    pub code: i32,
    /// The sender's PID as seen from grace's PID namespace (0 when it lives
    /// outside it, e.g. the container runtime).
    pub sender: i32,
}

/// A blocking `signalfd4` descriptor, close-on-exec so the command never
/// inherits it.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    pub fn new(mask: u64) -> io::Result<Self> {
        // SAFETY: `mask` is a live 8-byte mask, the size we pass; -1 asks for
        // a new descriptor.
        let result = unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1 as c_int,
                &mask as *const u64,
                KERNEL_SIGSET_BYTES,
                libc::SFD_CLOEXEC,
            )
        };
        let raw = check(result)? as RawFd;
        // SAFETY: the kernel just returned this descriptor and nothing else
        // owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd })
    }

    /// Reads the pending signals into `buffer`, waiting for at least one.
    /// With no timeout that is a single blocking read(2); with one, a ppoll(2)
    /// first. Returns how many were read: 0 when `timeout` passed.
    pub fn receive(
        &self,
        buffer: &mut [ReceivedSignal],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        if let Some(timeout) = timeout
            && !self.poll(timeout)?
        {
            return Ok(0);
        }
        const RECORD: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        const BATCH: usize = 32;
        // SAFETY: signalfd_siginfo is plain old data; all-zero is valid.
        let mut records: [libc::signalfd_siginfo; BATCH] = unsafe { std::mem::zeroed() };
        let wanted = buffer.len().min(BATCH);
        let bytes = loop {
            // SAFETY: the buffer is `wanted` live records long.
            let result = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    records.as_mut_ptr().cast(),
                    wanted * RECORD,
                )
            };
            match check(result as libc::c_long) {
                Ok(bytes) => break bytes as usize,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        let count = bytes / RECORD;
        for (slot, record) in buffer.iter_mut().zip(&records[..count]) {
            *slot = ReceivedSignal {
                number: record.ssi_signo as i32,
                code: record.ssi_code,
                sender: record.ssi_pid as i32,
            };
        }
        Ok(count)
    }

    /// `ppoll(2)` on the signalfd: whether a signal is pending within
    /// `timeout`. No other thread reads the descriptor, so a read after a
    /// true answer does not block.
    fn poll(&self, timeout: Duration) -> io::Result<bool> {
        let mut pollfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timespec = libc::timespec {
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        loop {
            // SAFETY: one live pollfd and a live timespec; a null sigmask
            // keeps every signal blocked during the wait.
            let result = unsafe { libc::ppoll(&mut pollfd, 1, &timespec, std::ptr::null()) };
            match check(result as libc::c_long) {
                Ok(ready) => return Ok(ready > 0),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }
}

/// `kill(2)`: `pid` > 0 is one process, < 0 a process group, -1 everyone
/// this process may signal.
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    let result = unsafe { libc::kill(pid, signal) };
    check(result as libc::c_long).map(drop)
}

/// What `waitpid` reported for one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    /// The raw wait status, decoded by `reap::WaitStatus`.
    pub status: i32,
}

/// `waitpid(-1, WNOHANG)`: reaps one exited child if there is one.
/// `Ok(None)` means children exist but none has exited; ECHILD means none.
pub fn reap_one() -> io::Result<Option<Reaped>> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a live int for the kernel to fill.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match check(pid as libc::c_long) {
            Ok(0) => return Ok(None),
            Ok(pid) => {
                return Ok(Some(Reaped {
                    pid: pid as i32,
                    status,
                }));
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants are re-parented
/// to this process instead of to the namespace's PID 1.
pub fn become_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    check(result as libc::c_long).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, signal)`: the kernel sends `signal` to this
/// process when its parent dies.
pub fn set_parent_death_signal(signal: i32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let result = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) };
    check(result as libc::c_long).map(drop)
}

/// `getpgrp(2)`.
pub fn process_group() -> i32 {
    // SAFETY: getpgrp cannot fail and touches no memory.
    unsafe { libc::getpgrp() }
}

/// `tcsetpgrp(3)` on `fd`: makes `group` the terminal's foreground group.
/// The caller keeps SIGTTOU blocked, which the kernel requires of a
/// background process doing this.
pub fn set_foreground_group(fd: RawFd, group: i32) -> io::Result<()> {
    // SAFETY: plain integers; an invalid fd is reported as an error.
    let result = unsafe { libc::tcsetpgrp(fd, group) };
    check(result as libc::c_long).map(drop)
}

/// `ioctl(fd, TIOCNOTTY)`: gives up `fd` as this process's controlling
/// terminal, so that a child in a new session can take it. Returns whether
/// this process was the session leader, in which case the kernel has just
/// sent SIGHUP and SIGCONT to the terminal's foreground group.
pub fn detach_controlling_terminal(fd: RawFd) -> io::Result<bool> {
    // SAFETY: getsid(0) takes no pointer.
    let leader = unsafe { libc::getsid(0) } == std::process::id() as libc::pid_t;
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
    /// SIGPIPE was ignored when grace started (std resets it to SIG_DFL).
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

/// Prepares `command` to start as if grace were not there: in its own
/// process group (or session), with the signal mask grace was started with,
/// SIGPIPE ignored again if it was, owning the terminal when asked, and
/// running as another user when asked.
pub fn restore_child_state(command: &mut Command, setup: ChildSetup) {
    if !setup.new_session {
        command.process_group(0);
    }
    let ChildSetup {
        original_mask,
        sigpipe_ignored,
        take_terminal,
        new_session,
        credentials,
        no_new_privs,
    } = setup;
    let hook = move || -> io::Result<()> {
        if new_session {
            // SAFETY: setsid takes no argument and is async-signal-safe.
            check(unsafe { libc::setsid() } as libc::c_long)?;
        }
        if take_terminal {
            // Still fully blocked here, so SIGTTOU cannot stop us. A
            // terminal that is not ours to take is simply not taken.
            if new_session {
                // SAFETY: an integer ioctl on stdin; 0 never steals the
                // terminal from another session.
                unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0) };
            } else {
                // SAFETY: plain integer system calls, async-signal-safe.
                unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid()) };
            }
        }
        if sigpipe_ignored {
            // SAFETY: signal(2) with SIG_IGN is async-signal-safe.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        }
        if let Some(credentials) = &credentials {
            // Raw system calls: they change this (only) thread at once,
            // with none of libc's cross-thread machinery. Groups first,
            // then the gid, then the uid, while still allowed to.
            // SAFETY: the pointer and length describe a live Vec<u32>
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
            // SAFETY: integer arguments only; real, effective and saved
            // ids all change, so root cannot be regained.
            check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) })?;
            // SAFETY: as above.
            check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) })?;
        }
        if no_new_privs {
            // SAFETY: prctl with integer arguments only.
            let result =
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) };
            check(result as libc::c_long)?;
        }
        // The mask comes last: from here on signals reach the command.
        // SAFETY: a raw system call on a live stack mask, async-signal-safe.
        let result = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &original_mask as *const u64,
                std::ptr::null_mut::<u64>(),
                KERNEL_SIGSET_BYTES,
            )
        };
        check(result).map(drop)
    };
    // SAFETY: the hook runs between fork and exec and makes only
    // async-signal-safe system calls; it allocates nothing and takes no lock
    // (the group list was allocated before the fork and is only read).
    unsafe { command.pre_exec(hook) };
}

/// A pidfd: a handle on one process that stays valid (and never refers to
/// another process) even after its pid is reused.
pub struct PidFd {
    fd: OwnedFd,
}

impl PidFd {
    /// `pidfd_open(pid, 0)`.
    pub fn open(pid: i32) -> io::Result<Self> {
        // SAFETY: integer arguments only; the result is a new descriptor.
        let result = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as c_int) };
        let raw = check(result)? as RawFd;
        // SAFETY: the kernel just returned this descriptor and nothing else
        // owns it; pidfds are always close-on-exec.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd })
    }

    /// `pidfd_send_signal(fd, signal, NULL, 0)`: like kill(2), but to exactly
    /// the process this pidfd was opened on.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: a live descriptor, a null siginfo (the kernel fills in
        // what kill(2) would) and no flags.
        let result = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0 as c_int,
            )
        };
        check(result).map(drop)
    }
}
