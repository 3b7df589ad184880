//! The `status` subcommand's command line and help (what status does is in
//! src/services/show.rs).

use crate::base::prelude::*;

use super::lexer::{Long, Short, Tokens};
use super::{Invocation, UsageError};

pub const STATUS_USAGE: &str = "usage: grace status [--json] [--run-dir DIR]";

pub const STATUS_HELP: &str = "\
grace status: show the state of the services the running grace supervises.

usage: grace status [--json] [--run-dir DIR]

Run it where grace runs its services: inside the container (docker exec
CONTAINER grace status). It reads the state that grace publishes in its run
directory on every change; grace itself answers nothing. One line per
service, in start order: its state (waiting, starting, ready, stopping,
exited and how, restarting in N s), pid, restarts and uptime.

Options:
  --json             print JSON (schema in docs/services.md) instead of a
                     table
  --run-dir DIR      where grace publishes (default: GRACE_RUN_DIR, else
                     the places grace's own --run-dir tries, in its order:
                     /run/grace, $XDG_RUNTIME_DIR/grace, /tmp/grace-UID,
                     /dev/shm/grace-UID, for this user and PID 1's)
  -h, --help         show this help and exit

Exit status: 0 when every service is ready and no stop has begun (a
HEALTHCHECK or readiness probe), 1 otherwise, or when no running grace
publishes there; 2 for a usage error. A state is read only from a directory
and file that root, this user or PID 1's user owns and nobody else may write.
";

/// The `status` subcommand's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusOptions {
    pub json: bool,
    /// None: GRACE_RUN_DIR, else the places `services::rundir` names.
    pub run_dir: Option<String>,
}

/// `status`'s arguments, after the word `status`.
pub fn parse(args: Vec<Vec<u8>>) -> Result<Invocation, UsageError> {
    let mut parser = Tokens::new(args);
    let mut options = StatusOptions {
        json: false,
        run_dir: None,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::StatusHelp),
            Long("json") => options.json = true,
            Long("run-dir") => options.run_dir = Some(run_dir(&mut parser)?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Invocation::Status(options))
}

/// `--run-dir DIR`'s value, for `status` and the control commands.
pub fn run_dir(parser: &mut Tokens) -> Result<String, UsageError> {
    let dir = String::from_utf8(parser.value()?)
        .map_err(|_| UsageError::new("--run-dir: the path is not UTF-8"))?;
    if dir.is_empty() {
        return Err(UsageError::new("--run-dir: the path is empty"));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn status_is_a_subcommand_only_as_the_first_word() {
        assert_eq!(
            parse_words(&["status"]),
            Ok(Invocation::Status(StatusOptions {
                json: false,
                run_dir: None
            }))
        );
        assert_eq!(
            parse_words(&["status", "--run-dir=/tmp/r", "--json"]),
            Ok(Invocation::Status(StatusOptions {
                json: true,
                run_dir: Some("/tmp/r".into())
            }))
        );
        assert_eq!(
            parse_words(&["status", "--json", "-h"]),
            Ok(Invocation::StatusHelp)
        );
        refused(
            Personality::Grace,
            &[
                &["status", "db"][..],
                &["status", "--run-dir"],
                &["status", "--run-dir", ""],
                &["status", "--json=yes"],
                &["status", "-x"],
            ],
        );
        assert_eq!(config(&["--", "status"]).command, b"status");
        assert_eq!(
            config_as(Personality::Tini, &["status"], &[]).command,
            b"status"
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["status", "-x"])),
            (STATUS_USAGE, "grace status --help")
        );
        for line in STATUS_HELP.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
