//! Every `unsafe` block and raw system call in grace lives here.
//!
//! The rest of the crate is safe Rust (`#![deny(unsafe_code)]` at the root).
//! Each wrapper names the system call it makes; each unsafe block says why it
//! is sound. Signal sets cross this boundary as plain `u64` bit masks (bit
//! `n - 1` is signal `n`), which is exactly the kernel's own representation on
//! Linux and lets grace block and wait for all 64 signals, including the two
//! that glibc's `sigset_t` helpers silently drop (32 and 33).

use core::ffi::{CStr, c_char, c_int};
use core::fmt;
use core::time::Duration;

use crate::prelude::*;

/// A descriptor number, as the kernel hands them out.
pub type RawFd = c_int;

/// The size of a kernel signal set in bytes (`_NSIG / 8` on Linux).
const KERNEL_SIGSET_BYTES: usize = 8;

/// The C entry point. grace has no Rust `main` (and no std) so that no
/// runtime set-up runs before grace has seen what its parent left: std's
/// would set SIGPIPE to SIG_IGN, and the command must inherit the original.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
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
            args.push(unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec());
        }
    }
    crate::run(args)
}

// Without std nothing else asks the linker for the C library.
#[cfg(not(test))]
#[link(name = "c")]
unsafe extern "C" {}

/// The prebuilt `core` and `alloc` are compiled to unwind, so their code
/// names the unwinder's entry points. grace aborts on panic: nothing ever
/// unwinds, and these are never called.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: abort takes no argument and does not return.
    unsafe { libc::abort() }
}

/// grace's heap is the C library's malloc: musl's is small, and it is in
/// the static binary anyway.
#[cfg(not(test))]
struct CAllocator;

/// What malloc guarantees without being asked (`alignof(max_align_t)`).
#[cfg(not(test))]
const MALLOC_ALIGNMENT: usize = 16;

// SAFETY: every method forwards to the C allocator, which returns null on
// failure (as GlobalAlloc requires) and memory aligned as asked: plain
// malloc for alignments it guarantees, aligned_alloc for larger ones.
#[cfg(not(test))]
unsafe impl core::alloc::GlobalAlloc for CAllocator {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: malloc accepts any size; Layout guarantees non-zero.
            unsafe { libc::malloc(layout.size()).cast() }
        } else {
            // SAFETY: the alignment is a power of two, as aligned_alloc needs;
            // the size is rounded up to a multiple of it.
            unsafe { libc::aligned_alloc(layout.align(), layout.pad_to_align().size()).cast() }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: calloc returns zeroed memory of the size asked.
            unsafe { libc::calloc(1, layout.size()).cast() }
        } else {
            // SAFETY: as alloc, then zeroing the block just allocated.
            unsafe {
                let block = self.alloc(layout);
                if !block.is_null() {
                    core::ptr::write_bytes(block, 0, layout.size());
                }
                block
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: `block` came from malloc, calloc, realloc or aligned_alloc.
        unsafe { libc::free(block.cast()) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: `block` came from malloc with a guaranteed alignment,
            // which realloc keeps.
            unsafe { libc::realloc(block.cast(), new_size).cast() }
        } else {
            // SAFETY: a new aligned block, the common prefix copied, the old
            // block freed, as GlobalAlloc's default does.
            unsafe {
                let new_layout =
                    core::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
                let new_block = self.alloc(new_layout);
                if !new_block.is_null() {
                    core::ptr::copy_nonoverlapping(block, new_block, layout.size().min(new_size));
                    self.dealloc(block, layout);
                }
                new_block
            }
        }
    }
}

#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: CAllocator = CAllocator;

/// A bug in grace: say where on stderr, without allocating, and abort.
/// The kernel then kills every process in the namespace, as it would for
/// any PID 1 that dies.
#[cfg(not(test))]
#[panic_handler]
fn on_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut stderr = FdWriter(libc::STDERR_FILENO);
    let _ = fmt::Write::write_fmt(&mut stderr, format_args!("grace: internal error: {info}\n"));
    // SAFETY: abort takes no argument and does not return.
    unsafe { libc::abort() }
}

/// Unbuffered `fmt::Write` straight to a descriptor; for the panic handler,
/// which must not allocate.
#[cfg(not(test))]
struct FdWriter(RawFd);

#[cfg(not(test))]
impl fmt::Write for FdWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_all(self.0, text.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// A failed system call: its errno, and for failures grace detects itself
/// (malformed /proc contents) what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    code: i32,
    detail: Option<&'static str>,
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// errno as the last failed call left it.
    pub fn last_os_error() -> Self {
        // SAFETY: __errno_location returns this thread's errno slot, always
        // valid to read.
        let code = unsafe { *libc::__errno_location() };
        Error::from_raw_os_error(code)
    }

    pub fn from_raw_os_error(code: i32) -> Self {
        Error { code, detail: None }
    }

    /// A failure grace found itself, reported with `code` and `detail`.
    pub fn with_detail(code: i32, detail: &'static str) -> Self {
        Error {
            code,
            detail: Some(detail),
        }
    }

    pub fn raw_os_error(&self) -> Option<i32> {
        Some(self.code)
    }
}

impl fmt::Display for Error {
    /// As the standard library words it: `No such file or directory (os
    /// error 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(detail) = self.detail {
            return f.write_str(detail);
        }
        // SAFETY: strerror returns a pointer to a static, NUL-terminated
        // message for any code (musl and glibc: "Unknown error" at worst);
        // grace is single-threaded, so no other call can overwrite it.
        let text = unsafe { CStr::from_ptr(libc::strerror(self.code)) };
        write!(f, "{} (os error {})", text.to_string_lossy(), self.code)
    }
}

/// A descriptor grace owns and closes when done with it.
pub struct Fd(RawFd);

impl Fd {
    fn raw(&self) -> RawFd {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

fn check(result: libc::c_long) -> Result<libc::c_long> {
    if result < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// `rt_sigprocmask(SIG_SETMASK)`: replaces this thread's signal mask and
/// returns the previous one. The kernel silently keeps SIGKILL and SIGSTOP
/// unblocked.
pub fn set_signal_mask(mask: u64) -> Result<u64> {
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
    let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a live sigaction.
    let result = unsafe { libc::sigaction(signal, core::ptr::null(), &mut old) };
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
    fd: Fd,
}

impl SignalFd {
    pub fn new(mask: u64) -> Result<Self> {
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
        // Just returned by the kernel: nothing else owns it.
        let fd = Fd(raw);
        Ok(Self { fd })
    }

    /// Reads the pending signals into `buffer`, waiting for at least one.
    /// With no timeout that is a single blocking read(2); with one, a ppoll(2)
    /// first. Returns how many were read: 0 when `timeout` passed.
    pub fn receive(
        &self,
        buffer: &mut [ReceivedSignal],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        if let Some(timeout) = timeout
            && !self.poll(timeout)?
        {
            return Ok(0);
        }
        const RECORD: usize = core::mem::size_of::<libc::signalfd_siginfo>();
        const BATCH: usize = 32;
        // Left uninitialised: zeroing 4 KB on every wake-up was most of
        // grace's own work per forwarded signal.
        let mut records =
            [const { core::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit() }; BATCH];
        let wanted = buffer.len().min(BATCH);
        let bytes = loop {
            // SAFETY: the buffer is `wanted` records long; the kernel writes
            // whole records into it.
            let result =
                unsafe { libc::read(self.fd.raw(), records.as_mut_ptr().cast(), wanted * RECORD) };
            match check(result as libc::c_long) {
                Ok(bytes) => break bytes as usize,
                Err(error) if error.code == libc::EINTR => continue,
                Err(error) => return Err(error),
            }
        };
        let count = (bytes / RECORD).min(wanted);
        for (slot, record) in buffer.iter_mut().zip(&records[..count]) {
            // SAFETY: read(2) filled the first `count` records.
            let record = unsafe { record.assume_init_ref() };
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
    fn poll(&self, timeout: Duration) -> Result<bool> {
        let mut pollfd = libc::pollfd {
            fd: self.fd.raw(),
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
            let result = unsafe { libc::ppoll(&mut pollfd, 1, &timespec, core::ptr::null()) };
            match check(result as libc::c_long) {
                Ok(ready) => return Ok(ready > 0),
                Err(error) if error.code == libc::EINTR => continue,
                Err(error) => return Err(error),
            }
        }
    }
}

/// `kill(2)`: `pid` > 0 is one process, < 0 a process group, -1 everyone
/// this process may signal.
pub fn kill(pid: i32, signal: i32) -> Result<()> {
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
pub fn reap_one() -> Result<Option<Reaped>> {
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

unsafe extern "C" {
    /// The C runtime's environment: a NULL-terminated array of
    /// NUL-terminated `NAME=value` strings.
    static environ: *const *const c_char;
}

/// A NUL-terminated copy of `bytes` for a C call; EINVAL when `bytes`
/// holds a NUL itself, which no C string can carry.
fn c_string(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.contains(&0) {
        return Err(Error::from_raw_os_error(libc::EINVAL));
    }
    let mut owned = Vec::with_capacity(bytes.len() + 1);
    owned.extend_from_slice(bytes);
    owned.push(0);
    Ok(owned)
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

/// A pidfd: a handle on one process that stays valid (and never refers to
/// another process) even after its pid is reused.
pub struct PidFd {
    fd: Fd,
}

impl PidFd {
    /// `pidfd_open(pid, 0)`.
    pub fn open(pid: i32) -> Result<Self> {
        // SAFETY: integer arguments only; the result is a new descriptor.
        let result = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as c_int) };
        let raw = check(result)? as RawFd;
        // Just returned by the kernel: nothing else owns it. pidfds are
        // always close-on-exec.
        let fd = Fd(raw);
        Ok(Self { fd })
    }

    /// `pidfd_send_signal(fd, signal, NULL, 0)`: like kill(2), but to exactly
    /// the process this pidfd was opened on.
    pub fn send_signal(&self, signal: i32) -> Result<()> {
        // SAFETY: a live descriptor, a null siginfo (the kernel fills in
        // what kill(2) would) and no flags.
        let result = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.raw(),
                signal,
                core::ptr::null::<libc::siginfo_t>(),
                0 as c_int,
            )
        };
        check(result).map(drop)
    }
}

/// `getpid(2)`.
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail and touches no memory.
    unsafe { libc::getpid() }
}

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
            Err(error) if error.code == libc::EINTR => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
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

/// The whole contents of the file at `path`.
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    let fd = open_read_only(path, 0)?;
    let mut contents = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: a read into a live buffer of the length passed.
        let result = unsafe { libc::read(fd.raw(), chunk.as_mut_ptr().cast(), chunk.len()) };
        match check(result as libc::c_long) {
            Ok(0) => return Ok(contents),
            Ok(read) => contents.extend_from_slice(&chunk[..read as usize]),
            Err(error) if error.code == libc::EINTR => {}
            Err(error) => return Err(error),
        }
    }
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
            Err(error) if error.code == libc::EINTR => continue,
            Err(error) => return Err(error),
        };
        let mut at = 0;
        while at + NAME_OFFSET <= filled {
            let length = usize::from(u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]));
            if length == 0 || at + length > filled {
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

/// The process's environment as it was at start, `NAME=value` entries.
pub fn environment() -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    // SAFETY: the C runtime sets `environ` before main to a NULL-terminated
    // array of NUL-terminated strings; grace never changes it, and is
    // single-threaded.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            entries.push(CStr::from_ptr(*entry).to_bytes().to_vec());
            entry = entry.add(1);
        }
    }
    entries
}

/// clock_gettime(2) of `clock`, as time since its epoch.
fn clock(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a live timespec for the kernel to fill; these clocks always
    // exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// CLOCK_MONOTONIC: for deadlines, immune to the wall clock being set.
pub fn monotonic_now() -> Duration {
    clock(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME: for timestamps in logs.
pub fn wall_clock_now() -> Duration {
    clock(libc::CLOCK_REALTIME)
}
