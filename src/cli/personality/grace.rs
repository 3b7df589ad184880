//! grace's own command line: the options of the table in `options.rs`,
//! short and long.

use crate::base::prelude::*;

use super::CommandLine;
use crate::cli::lexer::{Long, Short, Tokens, Value};
use crate::cli::options::{self, Action};
use crate::cli::values::Input;
use crate::cli::{Invocation, Settings, UsageError};

pub const USAGE: &str = "usage: grace [OPTIONS] [--] COMMAND [ARG]...";

pub fn parse(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<CommandLine, UsageError> {
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        let option = match &arg {
            Short(short) => options::find(Some(*short), None),
            Long(long) => options::find(None, Some(long)),
            Value(_) => None,
        };
        if let Value(command) = arg {
            return Ok(CommandLine::Command(command, parser.raw_args()));
        }
        let Some(option) = option else {
            return Err(arg.unexpected());
        };
        let key = match option.action {
            Action::Help => return Ok(CommandLine::Mode(Invocation::Help)),
            Action::Version => return Ok(CommandLine::Mode(Invocation::Version)),
            Action::Set(key) => key,
        };
        let input = match option.value {
            Some(_) => Input::Typed(parser.value()?),
            None => Input::Flag,
        };
        key.set(settings, input)
            .map_err(|error| UsageError::of("--", option.long, error))?;
    }
    // With --config the services may be the whole job; whether one was
    // given is known once the environment is read too.
    Ok(CommandLine::NoCommand)
}

#[cfg(test)]
mod tests {
    use crate::cli::testing::*;

    #[test]
    fn options_take_their_values() {
        let c = config(&[
            "-s",
            "-p",
            "KILL",
            "-e",
            "3",
            "--success-exit=143",
            "-vv",
            "--forward-to",
            "group",
            "cmd",
        ]);
        assert!(c.subreaper);
        assert_eq!(c.parent_death_signal, Some(crate::base::signals::SIGKILL));
        assert_eq!(c.success_exits, [3, 143]);
        assert_eq!(c.verbose, 2);
        assert_eq!(c.forward_to, ForwardTo::Group);
        assert_eq!(
            config(&["-pSIGUSR1", "x"])
                .parent_death_signal
                .map(|s| s.number()),
            Some(10)
        );
    }

    #[test]
    fn new_options_take_their_values() {
        let c = config(&[
            "--rewrite",
            "TERM:QUIT",
            "--rewrite=USR1:0",
            "-u",
            "app:staff",
            "--no-new-privs",
            "--log-format",
            "json",
            "-w",
            "cmd",
        ]);
        assert_eq!(
            c.rewrite(signals::SIGTERM),
            Some(Some(Signal::new(3).unwrap()))
        );
        assert_eq!(c.rewrite(Signal::new(10).unwrap()), Some(None));
        assert_eq!(c.rewrite(signals::SIGINT), None);
        assert_eq!(
            c.user,
            Some(UserSpec {
                user: "app".into(),
                group: Some("staff".into())
            })
        );
        assert!(c.no_new_privs && c.warn_on_reap);
        assert_eq!(c.log_format, Format::Json);
        assert!(!c.new_session && !c.job_control);
        // A later rule for the same signal wins.
        let c = config(&["--rewrite", "TERM:QUIT", "--rewrite", "TERM:INT", "cmd"]);
        assert_eq!(c.rewrite(signals::SIGTERM), Some(Some(signals::SIGINT)));
    }

    #[test]
    fn shutdown_options_have_container_friendly_defaults() {
        let c = config(&["cmd"]);
        assert_eq!(c.stop_on.bits(), 1 << 14 | 1 << 1);
        assert_eq!(c.stop_signal.number(), 15);
        assert_eq!(c.stop_order, StopOrder::Auto);
        assert_eq!(c.grace_period, Duration::from_secs(9));
        assert_eq!(c.stop_delay, Duration::ZERO);
        assert_eq!(c.pre_stop, None);
        assert_eq!(c.log_format, Format::Text);
        assert_eq!(c.personality, Personality::Grace);
        assert!(c.rewrites.is_empty());

        let c = config(&[
            "--stop-on",
            "QUIT,term",
            "--stop-signal",
            "SIGUSR2",
            "--stop-order",
            "main-first",
            "--grace-period",
            "2m",
            "--stop-delay",
            "500ms",
            "--pre-stop",
            "echo bye",
            "cmd",
        ]);
        assert_eq!(c.stop_on.bits(), 1 << 2 | 1 << 14);
        assert_eq!(c.stop_signal.number(), 12);
        assert_eq!(c.stop_order, StopOrder::MainFirst);
        assert_eq!(c.grace_period, Duration::from_secs(120));
        assert_eq!(c.stop_delay, Duration::from_millis(500));
        assert_eq!(c.pre_stop, Some(os("echo bye")));
    }

    #[test]
    fn help_and_version_are_modes_not_errors() {
        modes(
            Personality::Grace,
            &[
                (&["--help"], Invocation::Help),
                (&["-h", "cmd"], Invocation::Help),
                (&["-V"], Invocation::Version),
                (&["--version"], Invocation::Version),
            ],
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        refused(
            Personality::Grace,
            &[
                &[][..],
                &["-v"],
                &["--"],
                &["--bogus", "cmd"],
                &["-x", "cmd"],
                &["-p", "NOPE", "cmd"],
                &["-p"],
                &["-e", "256", "cmd"],
                &["-e", "-1", "cmd"],
                &["-e", "x", "cmd"],
                &["--forward-to", "everyone", "cmd"],
                &["--subreaper=yes", "cmd"],
                &["--stop-order", "random", "cmd"],
                &["--grace-period", "10 seconds", "cmd"],
                &["--stop-delay", "-1s", "cmd"],
                &["--stop-on", "", "cmd"],
                &["--stop-signal", "RTMIN+40", "cmd"],
                &["--stop-signal", "STOP", "cmd"],
                &["--stop-on", "TERM,KILL", "cmd"],
                &["--pre-stop"],
                &["--rewrite", "TERM", "cmd"],
                &["--user", "", "cmd"],
                &["--user", "a:b:c", "cmd"],
                &["--log-format", "xml", "cmd"],
                &["--no-new-privs=1", "cmd"],
            ],
        );
        let message = parse_words(&["-p", "NOPE", "x"]).unwrap_err().to_string();
        assert!(
            message.contains("--pdeathsig") && message.contains("RTMIN+N"),
            "{message}"
        );
    }
}
