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

use crate::base::environment;
use crate::base::prelude::*;
use crate::base::signals::SignalSet;
use crate::cli::Config;
use crate::process::user::Credentials;
use crate::sys::{self, ChildCredentials, ChildSetup};
use crate::{debug, error, warn};

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
    cause: Cause,
    /// The user it was to run as, when one was asked for.
    user: Option<u32>,
}

#[derive(Debug)]
enum Cause {
    /// The exec (or what prepares it) failed with this.
    Failed(sys::Error),
    /// The program exists; the interpreter it names does not: the one on
    /// its `#!` line when it has one.
    MissingInterpreter(Option<Vec<u8>>),
    /// A script with no `#!` line, and no /bin/sh to run it with.
    NoShell(sys::Error),
}

impl SpawnError {
    /// A shell's codes: 127 when the command (or its interpreter) does not
    /// exist, 126 when it exists but cannot be executed.
    pub fn exit_code(&self) -> i32 {
        match &self.cause {
            Cause::MissingInterpreter(_) => 127,
            Cause::Failed(error) | Cause::NoShell(error)
                if error.raw_os_error() == Some(libc::ENOENT) =>
            {
                127
            }
            Cause::Failed(_) | Cause::NoShell(_) => 126,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = String::from_utf8_lossy(&self.program);
        let error = match &self.cause {
            Cause::MissingInterpreter(Some(interpreter)) => {
                let interpreter = String::from_utf8_lossy(interpreter);
                return write!(
                    f,
                    "{program}: its interpreter {interpreter} (on its #! line) was not found"
                );
            }
            Cause::MissingInterpreter(None) => {
                return write!(
                    f,
                    "{program}: its interpreter (a binary's dynamic loader) was not found"
                );
            }
            Cause::NoShell(error) => {
                return write!(
                    f,
                    "{program}: has no #! line, and /bin/sh to run it with cannot be executed: {error}"
                );
            }
            Cause::Failed(error) => error,
        };
        match (error.raw_os_error(), self.user) {
            (Some(libc::ENOENT), _) => write!(f, "{program}: command not found"),
            (Some(libc::EPERM | libc::EINVAL), Some(uid)) => {
                write!(f, "{program}: cannot run as uid {uid}: {error}")
            }
            (Some(libc::ENOEXEC), _) => write!(f, "{program}: cannot execute binary file: {error}"),
            (_, _) => write!(f, "{program}: cannot execute: {error}"),
        }
    }
}

/// Where execvp(3) looks when PATH is unset (musl's choice, which the
/// static binary always had).
pub const DEFAULT_PATH: &str = "/usr/local/bin:/bin:/usr/bin";

/// The PATH search, for a start and for `grace check` alike: the files to
/// try, in order, for `program`: itself when it names a path (holds a
/// slash), else `program` in each directory of `path` (None: the default;
/// an empty entry is the working directory, as POSIX has it). None never
/// start with `-`, so that /bin/sh, given one to run, cannot take it for an
/// option.
pub fn candidates(program: &[u8], path: Option<&[u8]>) -> Vec<Vec<u8>> {
    let in_directory = |directory: &[u8]| {
        let mut candidate = if directory.is_empty() {
            b".".to_vec()
        } else {
            directory.to_vec()
        };
        candidate.push(b'/');
        candidate.extend_from_slice(program);
        candidate
    };
    if program.is_empty() {
        Vec::new()
    } else if program.contains(&b'/') {
        if program.starts_with(b"-") {
            vec![in_directory(b"")]
        } else {
            vec![program.to_vec()]
        }
    } else {
        path.unwrap_or(DEFAULT_PATH.as_bytes())
            .split(|&byte| byte == b':')
            .map(in_directory)
            .collect()
    }
}

/// The interpreter a script's first bytes name on a `#!` line.
fn interpreter_of(head: &[u8]) -> Option<Vec<u8>> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|&byte| byte == b'\n').next().unwrap_or_default();
    let interpreter: Vec<u8> = line
        .iter()
        .copied()
        .skip_while(|byte| matches!(byte, b' ' | b'\t'))
        .take_while(|byte| !matches!(byte, b' ' | b'\t' | b'\r'))
        .collect();
    (!interpreter.is_empty()).then_some(interpreter)
}

/// The interpreter the file at `path` names, if it can be read and has a
/// `#!` line.
fn interpreter_named_by(path: &[u8]) -> Option<Vec<u8>> {
    // The kernel reads no more of a #! line than this either.
    let mut head = [0u8; 256];
    let read = sys::read_head(path, &mut head).ok()?;
    interpreter_of(&head[..read])
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
    /// (grace's descriptor, the child's number) to hand over.
    pub descriptors: &'a [(i32, i32)],
    /// Where it starts (a service's working_directory).
    pub directory: Option<&'a str>,
    /// `environment` is its own (a service's), not grace's: passed even
    /// when nothing in it had to change.
    pub own_environment: bool,
}

/// Starts the main command: as grace's first act, or (with services) once
/// every service is ready. Err: the exit code of a command that could not
/// start.
pub fn start_main(
    config: &Config,
    environment: &[Vec<u8>],
    inherited: Inherited,
    credentials: Option<&Credentials>,
) -> Result<Started, i32> {
    let options = Options {
        may_take_terminal: true,
        new_session: config.new_session,
        credentials,
        no_new_privs: config.no_new_privs,
        ..Default::default()
    };
    let started = match start(
        &config.command,
        &config.args,
        environment,
        inherited,
        options,
    ) {
        Ok(started) => started,
        Err(error) => {
            error!(
                "exec_failed",
                [command = String::from_utf8_lossy(&config.command).into_owned()],
                "{error}"
            );
            return Err(error.exit_code());
        }
    };
    debug!(
        "main_started",
        [pid = started.pid],
        "started main process {} (signal mask {:#x})",
        started.pid,
        inherited.signal_mask.bits()
    );
    // As dumb-init does, so that PID 1 keeps no directory in use (which
    // would keep its filesystem from being unmounted). The command keeps the
    // working directory it got at the fork; a --pre-stop command, started
    // later, runs in / as well.
    if config.personality.leaves_working_directory()
        && let Err(error) = sys::change_directory("/")
    {
        warn!(
            "setup",
            "cannot leave the working directory for /: {error}; it stays in use"
        );
    }
    Ok(started)
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
    // Unchanged unless HOME must follow --user: then a copy with it set.
    let with_home;
    let replaced = match options.credentials {
        Some(credentials) => {
            with_home = environment::with(environment, "HOME", credentials.home.as_bytes());
            Some(with_home.as_slice())
        }
        None if options.own_environment => Some(environment),
        None => None,
    };
    let setup = ChildSetup {
        original_mask: inherited.signal_mask.bits(),
        sigpipe_ignored: inherited.sigpipe_ignored,
        take_terminal,
        new_session: options.new_session,
        credentials: options.credentials.map(|c| ChildCredentials {
            uid: c.uid,
            gid: c.gid,
            groups: &c.groups,
        }),
        no_new_privs: options.no_new_privs,
        descriptors: options.descriptors,
        directory: options.directory.map(str::as_bytes),
    };
    let foreground_before = if take_terminal && !options.new_session {
        sys::foreground_group(libc::STDIN_FILENO).ok()
    } else {
        None
    };
    let path = environment::lookup_entry(environment.iter().map(Vec::as_slice), "PATH");
    let candidates = candidates(program, path);
    let pid = match sys::spawn(&candidates, program, args, replaced, &setup) {
        Ok(pid) => pid,
        Err(failure) => {
            // The child took the foreground before its exec failed: give it
            // back, or whoever ran grace is left in the background of its
            // own terminal.
            if let Some(group) = foreground_before {
                let _ = sys::set_foreground_group(libc::STDIN_FILENO, group);
            }
            let named = |index: usize| candidates.get(index).and_then(|c| interpreter_named_by(c));
            let cause = match failure {
                sys::SpawnFailure::Failed(error) => Cause::Failed(error),
                sys::SpawnFailure::MissingInterpreter(index) => {
                    Cause::MissingInterpreter(named(index))
                }
                sys::SpawnFailure::NoShell(_, error) => Cause::NoShell(error),
            };
            return Err(SpawnError {
                program: program.to_owned(),
                cause,
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

/// Gives the terminal's foreground back to grace's own process group.
pub fn reclaim_terminal() {
    let _ = sys::set_foreground_group(libc::STDIN_FILENO, sys::process_group());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|item| item.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_path_is_tried_as_it_is_and_a_name_in_each_path_directory() {
        assert_eq!(candidates(b"./run", Some(b"/bin")), strings(&["./run"]));
        assert_eq!(candidates(b"/bin/sh", None), strings(&["/bin/sh"]));
        assert_eq!(
            candidates(b"app", Some(b"/opt/bin:/usr/bin/")),
            strings(&["/opt/bin/app", "/usr/bin//app"])
        );
        assert_eq!(
            candidates(b"app", None),
            strings(&["/usr/local/bin/app", "/bin/app", "/usr/bin/app"])
        );
        assert!(candidates(b"", Some(b"/bin")).is_empty());
    }

    #[test]
    fn no_candidate_starts_with_a_dash() {
        // An empty PATH entry is the working directory.
        assert_eq!(
            candidates(b"-app", Some(b":/bin")),
            strings(&["./-app", "/bin/-app"])
        );
        assert_eq!(candidates(b"-dir/app", None), strings(&["./-dir/app"]));
    }

    #[test]
    fn the_interpreter_is_read_off_the_shebang_line() {
        let of =
            |head: &str| interpreter_of(head.as_bytes()).map(|i| String::from_utf8(i).unwrap());
        assert_eq!(of("#!/bin/bash\necho"), Some("/bin/bash".into()));
        assert_eq!(
            of("#! /usr/bin/env python3 -u\n"),
            Some("/usr/bin/env".into())
        );
        assert_eq!(of("#!/bin/sh\r\n"), Some("/bin/sh".into()));
        assert_eq!(of("#!\n"), None);
        assert_eq!(of("echo no shebang\n"), None);
        assert_eq!(of("\x7fELF"), None);
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        let error = |cause| SpawnError {
            program: b"x".to_vec(),
            cause,
            user: None,
        };
        let os = sys::Error::from_raw_os_error;
        assert_eq!(error(Cause::Failed(os(libc::ENOENT))).exit_code(), 127);
        assert_eq!(error(Cause::Failed(os(libc::EACCES))).exit_code(), 126);
        assert_eq!(error(Cause::Failed(os(libc::ENOEXEC))).exit_code(), 126);
        assert_eq!(error(Cause::MissingInterpreter(None)).exit_code(), 127);
        assert_eq!(error(Cause::NoShell(os(libc::ENOENT))).exit_code(), 127);
        assert_eq!(error(Cause::NoShell(os(libc::EACCES))).exit_code(), 126);
    }
}
