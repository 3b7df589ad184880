//! The `inspect` subcommand's command line and help (what inspect does is
//! in src/inspect/).

use core::str;

use crate::base::prelude::*;

use super::lexer::{Long, Short, Tokens, Value};
use super::values::parse_signal;
use super::{Invocation, UsageError};
use crate::base::signals::{self, Signal};

pub const INSPECT_USAGE: &str = "usage: grace inspect [--json] [--signal SIGNAL] [PID]";

pub const INSPECT_HELP: &str = "\
grace inspect: show every process's signal dispositions and what a stop will
do to each of them.

usage: grace inspect [--json] [--signal SIGNAL] [PID]

Without PID: every process in this PID namespace (in a container:
docker exec CONTAINER grace inspect). With PID: that process and its
descendants (on the host, against a container's PID 1).

The stop is the signal a runtime sends to PID 1 (docker stop, podman stop,
Kubernetes); the prediction knows grace, tini, docker-init, dumb-init,
catatonit and shells as PID 1, and grace's own options from its command line.

Options:
  --json             print JSON (schema in docs/inspect.md) instead of a tree
  --signal SIGNAL    the stop signal to predict for (default TERM; use the
                     image's STOPSIGNAL)
  -h, --help         show this help and exit

Colour only on a terminal, and never when NO_COLOR is set.
Exit status: 0, 1 when PID does not exist or /proc cannot be read, 2 for a
usage error.
";

/// The `inspect` subcommand's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectOptions {
    pub json: bool,
    pub signal: Signal,
    /// A process and its descendants; None: every process in /proc.
    pub pid: Option<i32>,
}

/// `inspect`'s arguments, after the word `inspect`.
pub fn parse(args: Vec<Vec<u8>>) -> Result<Invocation, UsageError> {
    let mut parser = Tokens::new(args);
    let mut options = InspectOptions {
        json: false,
        signal: signals::SIGTERM,
        pid: None,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::InspectHelp),
            Long("json") => options.json = true,
            Long("signal") => {
                let value = parser.value()?;
                options.signal = str::from_utf8(&value)
                    .map_err(|_| "not UTF-8".to_string())
                    .and_then(parse_signal)
                    .map_err(|error| UsageError::of("--", "signal", error))?;
            }
            Value(word) if options.pid.is_none() => {
                let text = String::from_utf8_lossy(&word);
                match text.parse::<i32>() {
                    Ok(pid) if pid > 0 => options.pid = Some(pid),
                    _ => {
                        return Err(UsageError::new(format!(
                            "invalid PID '{text}': expected a process id, a number from 1 up"
                        )));
                    }
                }
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Invocation::Inspect(options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn inspect_is_a_subcommand_only_as_the_first_word() {
        let inspect = |words: &[&str]| match parse_words(words) {
            Ok(Invocation::Inspect(options)) => options,
            other => panic!("{words:?} gave {other:?}"),
        };
        assert_eq!(
            inspect(&["inspect"]),
            InspectOptions {
                json: false,
                signal: crate::base::signals::SIGTERM,
                pid: None
            }
        );
        let o = inspect(&["inspect", "--json", "--signal", "QUIT", "42"]);
        assert_eq!((o.json, o.signal.number(), o.pid), (true, 3, Some(42)));
        assert_eq!(
            inspect(&["inspect", "--signal=RTMIN+3", "--", "7"]).pid,
            Some(7)
        );
        assert_eq!(
            parse_words(&["inspect", "--help"]),
            Ok(Invocation::InspectHelp)
        );
        assert_eq!(
            parse_words(&["inspect", "1", "-h"]),
            Ok(Invocation::InspectHelp)
        );

        // Anywhere else, inspect is a command to run.
        assert_eq!(config(&["--", "inspect"]).command, b"inspect");
        assert_eq!(config(&["-v", "inspect", "--json"]).args, [b"--json"]);
        assert_eq!(config(&["inspectx"]).command, b"inspectx");
        // And in a personality, always.
        assert_eq!(
            config_as(Personality::Tini, &["inspect"], &[]).command,
            b"inspect"
        );

        refused(
            Personality::Grace,
            &[
                &["inspect", "--bogus"][..],
                &["inspect", "--signal"],
                &["inspect", "--signal", "NOPE"],
                &["inspect", "1", "2"],
                &["inspect", "0"],
                &["inspect", "-1"],
                &["inspect", "abc"],
                &["inspect", "99999999999"],
                &["inspect", "--json=yes"],
            ],
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["inspect", "-x"])).0,
            INSPECT_USAGE
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["--", "inspect"])).0,
            USAGE
        );
    }
}
