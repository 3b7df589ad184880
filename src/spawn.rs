//! Starting the command so that it sees the world as if grace were not there:
//! grace's environment, working directory and inherited descriptors, the
//! signal mask and ignored signals grace was started with, in a process
//! group of its own that owns the terminal when there is one.
//!
//! Asked to, the command runs in a session of its own (dumb-init's way), or
//! as another user (`--user`), with no way to gain privileges
//! (`--no-new-privs`): everything the child needs for that is prepared here,
//! before the fork.

use core::fmt;

use crate::prelude::*;
use crate::signals::SignalSet;
use crate::sys::{self, ChildCredentials, ChildSetup};
use crate::user::Credentials;

/// What grace inherited and must hand on to the command unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Inherited {
    pub signal_mask: SignalSet,
    pub sigpipe_ignored: bool,
}

/// A command that could not be started.
#[derive(Debug)]
pub struct SpawnError {
    program: Vec<u8>,
    error: sys::Error,
    /// The user it was to run as, when one was asked for.
    user: Option<u32>,
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
        let program = String::from_utf8_lossy(&self.program);
        match (self.error.raw_os_error(), self.user) {
            (Some(libc::ENOENT), _) => write!(f, "{program}: command not found"),
            (Some(libc::EPERM | libc::EINVAL), Some(uid)) => {
                write!(f, "{program}: cannot run as uid {uid}: {}", self.error)
            }
            (_, _) => write!(f, "{program}: cannot execute: {}", self.error),
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

/// How to start a process beyond what it inherits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Give it the terminal when stdin is one (the main command only).
    pub may_take_terminal: bool,
    /// A session of its own rather than a process group of its own.
    pub new_session: bool,
    /// Run as this user, with HOME set to the user's home.
    pub credentials: Option<&'a Credentials>,
    pub no_new_privs: bool,
}

/// Starts `program` with `args` and grace's own `environment` (`NAME=value`
/// entries).
pub fn start(
    program: &[u8],
    args: &[Vec<u8>],
    environment: &[Vec<u8>],
    inherited: Inherited,
    options: Options<'_>,
) -> Result<Started, SpawnError> {
    let take_terminal = options.may_take_terminal && sys::is_terminal(libc::STDIN_FILENO);
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(program.to_vec());
    argv.extend(args.iter().cloned());
    // Unchanged unless HOME must follow --user: then a copy with it set.
    let replaced = options
        .credentials
        .map(|credentials| with_variable(environment, b"HOME", credentials.home.as_bytes()));
    let setup = ChildSetup {
        original_mask: inherited.signal_mask.bits(),
        sigpipe_ignored: inherited.sigpipe_ignored,
        take_terminal,
        new_session: options.new_session,
        credentials: options.credentials.map(|c| ChildCredentials {
            uid: c.uid,
            gid: c.gid,
            groups: c.groups.clone(),
        }),
        no_new_privs: options.no_new_privs,
    };
    let foreground_before = if take_terminal && !options.new_session {
        sys::foreground_group(libc::STDIN_FILENO).ok()
    } else {
        None
    };
    let pid = match sys::spawn(program, &argv, replaced.as_deref(), &setup) {
        Ok(pid) => pid,
        Err(error) => {
            // The child took the foreground before its exec failed: give it
            // back, or whoever ran grace is left in the background of its
            // own terminal.
            if let Some(group) = foreground_before {
                let _ = sys::set_foreground_group(libc::STDIN_FILENO, group);
            }
            return Err(SpawnError {
                program: program.to_owned(),
                error,
                user: options.credentials.map(|c| c.uid),
            });
        }
    };
    // The child hands itself the terminal too; doing it here as well means
    // the handover is done whichever of the two runs first. A child in a
    // session of its own takes its terminal itself.
    let owns_terminal = take_terminal
        && !options.new_session
        && sys::set_foreground_group(libc::STDIN_FILENO, pid).is_ok();
    Ok(Started { pid, owns_terminal })
}

/// `environment` with `name` set to `value`: replaced where it was, added
/// at the end otherwise.
fn with_variable(environment: &[Vec<u8>], name: &[u8], value: &[u8]) -> Vec<Vec<u8>> {
    let mut entry = name.to_vec();
    entry.push(b'=');
    entry.extend_from_slice(value);
    let is_it = |e: &Vec<u8>| e.len() > name.len() && e.starts_with(name) && e[name.len()] == b'=';
    let mut result: Vec<Vec<u8>> = environment.iter().filter(|e| !is_it(e)).cloned().collect();
    result.push(entry);
    result
}

/// Gives the terminal's foreground back to grace's own process group.
pub fn reclaim_terminal() {
    let _ = sys::set_foreground_group(libc::STDIN_FILENO, sys::process_group());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_is_replaced_or_added() {
        let env = vec![
            b"HOME=/root".to_vec(),
            b"HOMER=x".to_vec(),
            b"PATH=/bin".to_vec(),
        ];
        assert_eq!(
            with_variable(&env, b"HOME", b"/home/app"),
            vec![
                b"HOMER=x".to_vec(),
                b"PATH=/bin".to_vec(),
                b"HOME=/home/app".to_vec()
            ]
        );
        assert_eq!(with_variable(&[], b"HOME", b"/"), vec![b"HOME=/".to_vec()]);
    }
}
