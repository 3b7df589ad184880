//! Starting the command so that it sees the world as if grace were not there:
//! grace's environment, working directory and inherited descriptors, the
//! signal mask and ignored signals grace was started with, in a process
//! group of its own that owns the terminal when there is one.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, IsTerminal};
use std::process::Command;

use crate::signals::SignalSet;
use crate::sys;

/// What grace inherited and must hand on to the command unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Inherited {
    pub signal_mask: SignalSet,
    pub sigpipe_ignored: bool,
}

/// A command that could not be started.
#[derive(Debug)]
pub struct SpawnError {
    program: OsString,
    error: io::Error,
}

impl SpawnError {
    /// A shell's codes: 127 when the command does not exist, 126 when it
    /// exists but cannot be executed.
    pub fn exit_code(&self) -> i32 {
        match self.error.raw_os_error() {
            Some(libc::ENOENT) => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = self.program.to_string_lossy();
        match self.error.raw_os_error() {
            Some(libc::ENOENT) => write!(f, "{program}: command not found"),
            _ => write!(f, "{program}: cannot execute: {}", self.error),
        }
    }
}

/// The started command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: i32,
    /// Whether the command was given the terminal's foreground, which grace
    /// takes back before it exits.
    pub owns_terminal: bool,
}

/// Starts `program`; with `may_take_terminal`, it gets the terminal's
/// foreground when stdin is one.
pub fn start(
    program: &OsStr,
    args: &[OsString],
    inherited: Inherited,
    may_take_terminal: bool,
) -> Result<Started, SpawnError> {
    let take_terminal = may_take_terminal && io::stdin().is_terminal();
    let mut command = Command::new(program);
    command.args(args);
    sys::restore_child_state(
        &mut command,
        inherited.signal_mask.bits(),
        inherited.sigpipe_ignored,
        take_terminal,
    );
    let child = command.spawn().map_err(|error| SpawnError {
        program: program.to_owned(),
        error,
    })?;
    let pid = child.id() as i32;
    // The child hands itself the terminal too; doing it here as well means
    // the handover is done whichever of the two runs first.
    let owns_terminal = take_terminal && sys::set_foreground_group(libc::STDIN_FILENO, pid).is_ok();
    // The Child handle is dropped without waiting: grace reaps with
    // waitpid(-1), which collects this child like any other.
    drop(child);
    Ok(Started { pid, owns_terminal })
}

/// Gives the terminal's foreground back to grace's own process group.
pub fn reclaim_terminal() {
    let _ = sys::set_foreground_group(libc::STDIN_FILENO, sys::process_group());
}
