//! Signals: the mask, dispositions, the signalfd grace waits on, kill(2)
//! and pidfds. Signal sets cross this boundary as plain `u64` bit masks
//! (bit `n - 1` is signal `n`), which is exactly the kernel's own
//! representation on Linux and lets grace block and wait for all 64
//! signals, including the two that glibc's `sigset_t` helpers silently
//! drop (32 and 33).

use core::ffi::c_int;
use core::time::Duration;

use super::{Fd, RawFd, Result, check};
use crate::base::prelude::*;

/// The size of a kernel signal set in bytes (`_NSIG / 8` on Linux).
pub(super) const KERNEL_SIGSET_BYTES: usize = 8;

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
                Err(error) if error.code() == libc::EINTR => continue,
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

    /// Like `receive`, but also wakes up when one of `watched` exits: one
    /// ppoll(2) over the signalfd and every pidfd. Returns how many signals
    /// were read and whether any watched process has exited. With nothing
    /// watched this is `receive` itself, so the idle wait stays one read.
    pub fn receive_watching(
        &self,
        buffer: &mut [ReceivedSignal],
        timeout: Option<Duration>,
        watched: &[&PidFd],
    ) -> Result<(usize, bool)> {
        if watched.is_empty() {
            return self.receive(buffer, timeout).map(|count| (count, false));
        }
        let mut pollfds: Vec<libc::pollfd> = core::iter::once(self.fd.raw())
            .chain(watched.iter().map(|pidfd| pidfd.fd.raw()))
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if poll_all(&mut pollfds, timeout)? == 0 {
            return Ok((0, false));
        }
        let exited = pollfds[1..].iter().any(|p| p.revents != 0);
        let count = if pollfds[0].revents & libc::POLLIN != 0 {
            self.receive(buffer, None)?
        } else {
            0
        };
        Ok((count, exited))
    }

    /// As `receive`, while also waiting on `others` (descriptors of the
    /// caller's, with the events it wants): their `revents` are filled in.
    /// Returns how many signals were read. The event loop's one wait; the
    /// first without a timeout gives back the set-up's code pages
    /// (`release_code_pages`).
    pub fn receive_polling(
        &self,
        buffer: &mut [ReceivedSignal],
        timeout: Option<Duration>,
        others: &mut [libc::pollfd],
    ) -> Result<usize> {
        // The first wait with nothing scheduled is where the set-up ends
        // and idling begins: the set-up's code is not needed any more.
        if timeout.is_none() {
            super::image::release_code_pages();
        }
        if others.is_empty() {
            return self.receive(buffer, timeout);
        }
        let mut pollfds: Vec<libc::pollfd> = Vec::with_capacity(others.len() + 1);
        pollfds.push(libc::pollfd {
            fd: self.fd.raw(),
            events: libc::POLLIN,
            revents: 0,
        });
        pollfds.extend(others.iter().map(|p| libc::pollfd { revents: 0, ..*p }));
        if poll_all(&mut pollfds, timeout)? == 0 {
            for other in others.iter_mut() {
                other.revents = 0;
            }
            return Ok(0);
        }
        for (other, polled) in others.iter_mut().zip(&pollfds[1..]) {
            other.revents = polled.revents;
        }
        if pollfds[0].revents & libc::POLLIN != 0 {
            self.receive(buffer, None)
        } else {
            Ok(0)
        }
    }

    /// `ppoll(2)` on the signalfd: whether a signal is pending within
    /// `timeout`. No other thread reads the descriptor, so a read after a
    /// true answer does not block.
    fn poll(&self, timeout: Duration) -> Result<bool> {
        let mut pollfd = [libc::pollfd {
            fd: self.fd.raw(),
            events: libc::POLLIN,
            revents: 0,
        }];
        Ok(poll_all(&mut pollfd, Some(timeout))? > 0)
    }
}

/// `ppoll(2)` over `pollfds` for at most `timeout` (None: no limit), with
/// every signal kept blocked; how many descriptors are ready.
pub(super) fn poll_all(pollfds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize> {
    let timespec = timeout.map(|timeout| libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as _,
        tv_nsec: timeout.subsec_nanos() as _,
    });
    let timespec_ptr = timespec
        .as_ref()
        .map_or(core::ptr::null(), |t| t as *const libc::timespec);
    loop {
        // SAFETY: `pollfds` is a live array of the length we pass; the
        // timespec is live or null (wait without limit); a null sigmask
        // keeps every signal blocked during the wait.
        let result = unsafe {
            libc::ppoll(
                pollfds.as_mut_ptr(),
                pollfds.len() as libc::nfds_t,
                timespec_ptr,
                core::ptr::null(),
            )
        };
        match check(result as libc::c_long) {
            Ok(ready) => return Ok(ready as usize),
            Err(error) if error.code() == libc::EINTR => continue,
            Err(error) => return Err(error),
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

/// A pidfd: a handle on one process that stays valid (and never refers to
/// another process) even after its pid is reused.
pub struct PidFd {
    fd: Fd,
}

impl PidFd {
    /// The number, for a `pollfd`.
    pub fn raw(&self) -> RawFd {
        self.fd.raw()
    }
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

    /// Whether the process has exited: a pidfd polls readable from then on
    /// (Linux 5.3), for any process, child or not.
    pub fn has_exited(&self) -> bool {
        let mut pollfd = [libc::pollfd {
            fd: self.fd.raw(),
            events: libc::POLLIN,
            revents: 0,
        }];
        poll_all(&mut pollfd, Some(Duration::ZERO)).is_ok_and(|ready| ready > 0)
    }
}
