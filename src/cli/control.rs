//! The control subcommands' command line and help: `grace restart`,
//! `stop`, `start` and `signal` (what they do is in
//! src/services/control.rs).

use core::time::Duration;

use crate::base::prelude::*;

use super::lexer::{Long, Short, Tokens, Value};
use super::{Invocation, UsageError, values};
use crate::base::signals::Signal;

pub const CONTROL_USAGE: &str = "usage: grace restart [--with-dependents] SERVICE | \
grace stop SERVICE | grace start SERVICE | grace signal SIGNAL SERVICE";

pub const CONTROL_HELP: &str = "\
grace restart, stop, start, signal: control one service while the
container runs.

usage: grace restart [--with-dependents] SERVICE
       grace stop SERVICE
       grace start SERVICE
       grace signal SIGNAL SERVICE
       (each also takes --run-dir DIR and --timeout DURATION)

Run it inside the container, as grace's user (docker exec CONTAINER grace
restart app). The command goes to the running grace through the control
socket in its run directory, which only grace's user may write to; grace
logs it with who asked (uid and pid). Then it waits until the state grace
publishes shows the result:
  restart   the service stopped (its stop_signal, its stop_timeout) and
            ready again as a new process, started once the services it
            starts after are ready. Nothing else restarts, unless
            --with-dependents: then the services that start after it are
            stopped first and started again after it, in order
  stop      the service stopped; it stays `stopped` (not restarted, not an
            essential exit) until `grace start`, and grace status exits 1
            meanwhile. The services that start after it keep running
  start     the service ready (a running one: at once)
  signal    SIGNAL (TERM, HUP, 10, RTMIN+3) sent to the service's process

Options:
      --with-dependents  restart: also restart the services that start
                         after SERVICE, directly or through others
      --timeout DURATION how long to wait for the result (default 90s)
      --run-dir DIR      where grace publishes, as for grace status
  -h, --help             show this help and exit

Exit status: 0 when the state shows the result; 1 when it does not, with
the reason: no running grace, an unknown service, a stop begun, a service
not running (signal), refused (another user), or the time out; 2 for a
usage error.
";

/// How long a command waits for its result when not told: a restart is a
/// stop (the grace period, 9 s by default) and a start (`start_timeout`,
/// 60 s by default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// What a control command asks of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlCommand {
    Start,
    Stop,
    /// With the services that start after it, or alone.
    Restart {
        dependents: bool,
    },
    Signal(Signal),
}

/// A control subcommand's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlOptions {
    pub command: ControlCommand,
    pub service: String,
    /// None: GRACE_RUN_DIR, else the places `services::rundir` names.
    pub run_dir: Option<String>,
    pub timeout: Duration,
}

/// A control subcommand's arguments, after its word `verb`.
pub fn parse(verb: &[u8], args: Vec<Vec<u8>>) -> Result<Invocation, UsageError> {
    let mut parser = Tokens::new(args);
    let mut words = Vec::new();
    let mut dependents = false;
    let mut run_dir = None;
    let mut timeout = DEFAULT_TIMEOUT;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::ControlHelp),
            Long("with-dependents") if verb == b"restart" => dependents = true,
            Long("timeout") => {
                let text = String::from_utf8_lossy(&parser.value()?).into_owned();
                timeout = values::parse_duration(&text)
                    .map_err(|why| UsageError::of("--", "timeout", why))?;
            }
            Long("run-dir") => run_dir = Some(super::status::run_dir(&mut parser)?),
            Value(word) => words.push(String::from_utf8_lossy(&word).into_owned()),
            _ => return Err(arg.unexpected()),
        }
    }
    let wanted = if verb == b"signal" { 2 } else { 1 };
    if words.len() != wanted {
        return Err(UsageError::new(if wanted == 2 {
            "give a SIGNAL and a SERVICE"
        } else {
            "give one SERVICE"
        }));
    }
    let service = words.pop().unwrap_or_default();
    let command = match verb {
        b"restart" => ControlCommand::Restart { dependents },
        b"stop" => ControlCommand::Stop,
        b"start" => ControlCommand::Start,
        _ => ControlCommand::Signal(
            values::parse_signal(&words[0]).map_err(|why| UsageError::of("", "SIGNAL", why))?,
        ),
    };
    Ok(Invocation::Control(ControlOptions {
        command,
        service,
        run_dir,
        timeout,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGHUP;
    use crate::cli::testing::*;

    fn control(words: &[&str]) -> ControlOptions {
        match parse_words(words) {
            Ok(Invocation::Control(options)) => options,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn each_control_command_takes_its_service_as_the_first_word_only() {
        let restart = control(&["restart", "--with-dependents", "app"]);
        assert_eq!(
            restart.command,
            ControlCommand::Restart { dependents: true }
        );
        assert_eq!(restart.service, "app");
        assert_eq!(restart.timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            control(&["restart", "app"]).command,
            ControlCommand::Restart { dependents: false }
        );
        assert_eq!(control(&["stop", "db"]).command, ControlCommand::Stop);
        assert_eq!(control(&["start", "db"]).command, ControlCommand::Start);
        let signal = control(&["signal", "HUP", "web", "--timeout", "2s", "--run-dir=/r"]);
        assert_eq!(signal.command, ControlCommand::Signal(SIGHUP));
        assert_eq!(signal.service, "web");
        assert_eq!(signal.timeout, Duration::from_secs(2));
        assert_eq!(signal.run_dir.as_deref(), Some("/r"));
        assert_eq!(parse_words(&["stop", "-h"]), Ok(Invocation::ControlHelp));
        refused(
            Personality::Grace,
            &[
                &["restart"][..],
                &["restart", "a", "b"],
                &["stop", "--with-dependents", "a"],
                &["signal", "app"],
                &["signal", "NOPE", "app"],
                &["start", "--timeout", "soon", "a"],
                &["start", "--run-dir", "", "a"],
            ],
        );
        assert_eq!(config(&["--", "stop"]).command, b"stop");
        assert_eq!(
            config_as(Personality::Tini, &["restart"], &[]).command,
            b"restart"
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["stop"])),
            (CONTROL_USAGE, "grace restart --help")
        );
        for line in CONTROL_HELP.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
