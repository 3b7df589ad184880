//! dumb-init 1.2: getopt_long `+hvVcr:`, the DUMB_INIT_ variables, and its
//! defaults: the command in a session of its own, forwarded signals to its
//! process group, job control.

use crate::base::prelude::*;

use super::{CommandLine, ForeignDoc, ForeignDocs};
use crate::base::environment::lookup;
use crate::base::signals::{self, Signal};
use crate::cli::lexer::{Long, Short, Tokens, Value};
use crate::cli::values::{ForwardTo, Rewrite};
use crate::cli::{Config, Invocation, Settings, UsageError};

pub const USAGE: &str =
    "usage: dumb-init [OPTIONS] [--] COMMAND [ARG]...  (grace, dumb-init-compatible)";

pub const DOCS: ForeignDocs = ForeignDocs {
    name: "dumb-init",
    #[cfg(test)]
    names: "dumb-init",
    options: &[
        ForeignDoc {
            label: "-c, --single-child",
            help: "no session of its own for the command, and forward signals to it alone \
                   (default: its own session, signals to its process group)",
        },
        ForeignDoc {
            label: "-r, --rewrite S:R",
            help: "pass received signal number S (1-31) on as R (0-31); R 0 drops it \
                   (repeatable)",
        },
        ForeignDoc {
            label: "-v, --verbose",
            help: "log every signal and reaped process",
        },
        ForeignDoc {
            label: "-h, --help",
            help: "show this help and exit",
        },
        ForeignDoc {
            label: "-V, --version",
            help: "show the version and exit",
        },
    ],
    environment: &[
        ForeignDoc {
            label: "DUMB_INIT_SETSID",
            help: "0: as -c",
        },
        ForeignDoc {
            label: "DUMB_INIT_DEBUG",
            help: "1: as -v",
        },
    ],
};

pub fn defaults() -> Settings {
    Settings {
        forward_to: Some(ForwardTo::Group),
        new_session: Some(true),
        job_control: Some(true),
        ..Settings::default()
    }
}

/// `-c`, `DUMB_INIT_SETSID=0`: the command stays in grace's session.
fn single_child(settings: &mut Settings) {
    settings.new_session = Some(false);
    settings.forward_to = Some(ForwardTo::Child);
}

pub fn parse(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<CommandLine, UsageError> {
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(CommandLine::Mode(Invocation::Help)),
            Short('V') | Long("version") => return Ok(CommandLine::Mode(Invocation::Version)),
            Short('v') | Long("verbose") => settings.verbose = Some(2),
            Short('c') | Long("single-child") => single_child(settings),
            Short('r') | Long("rewrite") => {
                let value = parser.value()?;
                let text = String::from_utf8_lossy(&value);
                let rule =
                    parse_rewrite(&text).map_err(|error| UsageError::of("--", "rewrite", error))?;
                settings.rewrites.get_or_insert_with(Vec::new).push(rule);
            }
            Value(command) => return Ok(CommandLine::Command(command, parser.raw_args())),
            _ => return Err(arg.unexpected()),
        }
    }
    Err(UsageError::new("no command given"))
}

pub fn environment(env: &[(Vec<u8>, Vec<u8>)]) -> Settings {
    let mut settings = Settings::default();
    if lookup(env, "DUMB_INIT_DEBUG").is_some_and(|v| v == b"1") {
        settings.verbose = Some(2);
    }
    if lookup(env, "DUMB_INIT_SETSID").is_some_and(|v| v == b"0") {
        single_child(&mut settings);
    }
    settings
}

/// In a session of its own the command's group is orphaned, where the
/// kernel ignores the terminal stop signals unless handled; SIGSTOP stops
/// it for sure.
pub fn rewrites(config: &Config) -> Vec<Rewrite> {
    if !config.new_session {
        return Vec::new();
    }
    [signals::SIGTSTP, signals::SIGTTIN, signals::SIGTTOU]
        .into_iter()
        .map(|from| Rewrite {
            from,
            to: Some(signals::SIGSTOP),
        })
        .collect()
}

/// dumb-init's `S:R`: numbers only, S from 1 to 31, R from 0 to 31.
fn parse_rewrite(text: &str) -> Result<Rewrite, String> {
    let error = || {
        format!(
            "invalid rewrite '{text}': expected S:R, signal numbers with S from 1 to 31 and R \
             from 0 to 31 (0 drops S)"
        )
    };
    let (from, to) = text.split_once(':').ok_or_else(error)?;
    let number = |part: &str, low: i32| -> Result<i32, String> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        part.parse::<i32>()
            .ok()
            .filter(|n| (low..=31).contains(n))
            .ok_or_else(error)
    };
    let from = Signal::new(number(from, 1)?).ok_or_else(error)?;
    let to = Signal::new(number(to, 0)?);
    Ok(Rewrite { from, to })
}

#[cfg(test)]
mod tests {
    use super::parse_rewrite;
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn dumb_init_command_line_and_variables() {
        let c = config_as(Personality::DumbInit, &["cmd", "-c"], &[]);
        assert!(c.new_session && c.job_control);
        assert_eq!(c.forward_to, ForwardTo::Group);
        assert_eq!(c.args, [b"-c"]);
        // The terminal stop signals become SIGSTOP in a session of its own.
        assert_eq!(c.rewrite(signals::SIGTSTP), Some(Some(signals::SIGSTOP)));

        let c = config_as(
            Personality::DumbInit,
            &[
                "-c",
                "--rewrite",
                "15:3",
                "-r2:0",
                "-r",
                "20:20",
                "-v",
                "cmd",
            ],
            &[],
        );
        assert!(!c.new_session && c.job_control);
        assert_eq!(c.forward_to, ForwardTo::Child);
        assert_eq!(
            c.rewrite(signals::SIGTERM),
            Some(Some(Signal::new(3).unwrap()))
        );
        assert_eq!(c.rewrite(signals::SIGINT), Some(None));
        assert_eq!(c.rewrite(signals::SIGTSTP), Some(Some(signals::SIGTSTP)));
        assert_eq!(c.rewrite(signals::SIGTTIN), None);
        assert_eq!(c.verbose, 2);

        // A rule of the user's wins over the SIGSTOP default.
        let c = config_as(Personality::DumbInit, &["-r", "20:20", "cmd"], &[]);
        assert_eq!(c.rewrite(signals::SIGTSTP), Some(Some(signals::SIGTSTP)));
        assert_eq!(c.rewrite(signals::SIGTTOU), Some(Some(signals::SIGSTOP)));

        let c = config_as(
            Personality::DumbInit,
            &["cmd"],
            &[("DUMB_INIT_SETSID", "0"), ("DUMB_INIT_DEBUG", "1")],
        );
        assert!(!c.new_session);
        assert_eq!((c.forward_to, c.verbose), (ForwardTo::Child, 2));
        let c = config_as(
            Personality::DumbInit,
            &["cmd"],
            &[("DUMB_INIT_SETSID", "1"), ("DUMB_INIT_DEBUG", "yes")],
        );
        assert!(c.new_session);
        assert_eq!(c.verbose, 0);

        modes(
            Personality::DumbInit,
            &[
                (&["--version"][..], Invocation::Version),
                (&["-V", "cmd"], Invocation::Version),
                (&["--help"], Invocation::Help),
            ],
        );
        refused(
            Personality::DumbInit,
            &[
                &[][..],
                &["-c"],
                &["-r", "15", "cmd"],
                &["-r", "32:1", "cmd"],
                &["--rewrite=TERM:QUIT", "cmd"],
                &["--bogus", "cmd"],
                &["-s", "cmd"],
            ],
        );
        assert_eq!(Personality::DumbInit.usage_exit_code(), 1);
        assert_eq!(Personality::Tini.usage_exit_code(), 1);
        assert_eq!(Personality::Grace.usage_exit_code(), 2);
    }

    #[test]
    fn parses_dumb_init_rewrites() {
        assert_eq!(parse_rewrite("15:3"), Ok(rule(15, 3)));
        assert_eq!(parse_rewrite("2:0"), Ok(rule(2, 0)));
        refused_by(
            parse_rewrite,
            &[
                "0:1",
                "32:1",
                "1:32",
                "TERM:QUIT",
                "15",
                "15:",
                "-1:2",
                "15:+3",
                " 15:3",
            ],
        );
    }
}
