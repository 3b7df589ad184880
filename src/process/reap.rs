//! Reaping: collecting every child that has exited, and what its wait status
//! means for grace's own exit code.
//!
//! SIGCHLD coalesces (a thousand exits may raise it once), so each SIGCHLD
//! drains `waitpid(-1, WNOHANG)` until nothing more has exited.

use crate::base::prelude::*;

use crate::base::signals::Signal;
use crate::sys;

/// How a process ended, decoded from a raw wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(u8),
    Signaled(i32),
}

impl WaitStatus {
    pub fn from_raw(status: i32) -> Self {
        let signal = status & 0x7f;
        if signal == 0 {
            WaitStatus::Exited(((status >> 8) & 0xff) as u8)
        } else {
            WaitStatus::Signaled(signal)
        }
    }

    /// The code a shell or Docker reports: the exit code, or 128+N when
    /// signal N ended the process. A code listed in `success_exits` becomes 0.
    pub fn exit_code(self, success_exits: &[u8]) -> i32 {
        match self {
            WaitStatus::Exited(code) if success_exits.contains(&code) => 0,
            WaitStatus::Exited(code) => i32::from(code),
            WaitStatus::Signaled(signal) if success_exits.contains(&(128 + signal as u8)) => 0,
            WaitStatus::Signaled(signal) => 128 + signal,
        }
    }

    /// As log fields: the exit code, or the signal that killed (None for
    /// a number that names no signal).
    pub fn log_fields(self) -> (Option<u8>, Option<Signal>) {
        match self {
            WaitStatus::Exited(code) => (Some(code), None),
            WaitStatus::Signaled(number) => (None, Signal::new(number)),
        }
    }

    pub fn describe(self) -> String {
        match self {
            WaitStatus::Exited(code) => format!("exited with code {code}"),
            WaitStatus::Signaled(number) => match Signal::new(number) {
                Some(signal) => format!("killed by {signal}"),
                None => format!("killed by signal {number}"),
            },
        }
    }
}

/// One reaped process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub pid: i32,
    pub status: WaitStatus,
}

/// Whether any child is left after a drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remaining {
    SomeChildren,
    NoChildren,
}

/// Reaps every child that has exited so far, handing each to `on_exit`.
pub fn reap_all(mut on_exit: impl FnMut(Exit)) -> sys::Result<Remaining> {
    loop {
        match sys::reap_one() {
            Ok(Some(reaped)) => on_exit(Exit {
                pid: reaped.pid,
                status: WaitStatus::from_raw(reaped.status),
            }),
            Ok(None) => return Ok(Remaining::SomeChildren),
            Err(error) if error.raw_os_error() == Some(libc::ECHILD) => {
                return Ok(Remaining::NoChildren);
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_raw_statuses() {
        assert_eq!(WaitStatus::from_raw(0), WaitStatus::Exited(0));
        assert_eq!(WaitStatus::from_raw(3 << 8), WaitStatus::Exited(3));
        assert_eq!(WaitStatus::from_raw(255 << 8), WaitStatus::Exited(255));
        assert_eq!(WaitStatus::from_raw(9), WaitStatus::Signaled(9));
        // A core dump sets bit 7; the signal is still the low seven bits.
        assert_eq!(WaitStatus::from_raw(0x80 | 11), WaitStatus::Signaled(11));
        // Real-time signals must survive decoding (nix lost them).
        assert_eq!(WaitStatus::from_raw(37), WaitStatus::Signaled(37));
        assert_eq!(WaitStatus::from_raw(64), WaitStatus::Signaled(64));
    }

    #[test]
    fn maps_to_shell_exit_codes() {
        assert_eq!(WaitStatus::Exited(0).exit_code(&[]), 0);
        assert_eq!(WaitStatus::Exited(3).exit_code(&[]), 3);
        assert_eq!(WaitStatus::Exited(255).exit_code(&[]), 255);
        assert_eq!(WaitStatus::Signaled(9).exit_code(&[]), 137);
        assert_eq!(WaitStatus::Signaled(15).exit_code(&[]), 143);
        assert_eq!(WaitStatus::Signaled(64).exit_code(&[]), 192);
    }

    #[test]
    fn success_exit_codes_become_zero() {
        assert_eq!(WaitStatus::Exited(3).exit_code(&[3]), 0);
        assert_eq!(WaitStatus::Exited(4).exit_code(&[3]), 4);
        assert_eq!(WaitStatus::Signaled(15).exit_code(&[143]), 0);
        assert_eq!(WaitStatus::Signaled(15).exit_code(&[15]), 143);
    }

    #[test]
    fn describes_in_words() {
        assert_eq!(WaitStatus::Exited(3).describe(), "exited with code 3");
        assert_eq!(WaitStatus::Signaled(15).describe(), "killed by SIGTERM");
        assert_eq!(WaitStatus::Signaled(37).describe(), "killed by SIGRTMIN+3");
    }
}
