//! tini 0.19, also installed as `tini-static` and `docker-init` (what
//! `docker run --init` starts): short options only, `--version` only as the
//! sole argument, and the TINI_ variables.

use core::str;

use crate::base::prelude::*;

use super::{CommandLine, ForeignDoc, ForeignDocs};
use crate::base::environment::lookup;
use crate::base::signals;
use crate::cli::lexer::{Short, Tokens, Value};
use crate::cli::options::Key;
use crate::cli::values::{ForwardTo, Input, Rewrite};
use crate::cli::{Invocation, Settings, UsageError};

pub const USAGE: &str = "usage: tini [OPTIONS] [--] COMMAND [ARG]...  (grace, tini-compatible)";

pub const DOCS: ForeignDocs = ForeignDocs {
    name: "tini",
    #[cfg(test)]
    names: "tini, tini-static, docker-init",
    options: &[
        ForeignDoc {
            label: "-s",
            help: "register as child subreaper (automatic when not PID 1)",
        },
        ForeignDoc {
            label: "-p SIGNAL",
            help: "have the kernel send SIGNAL to grace when its parent dies",
        },
        ForeignDoc {
            label: "-v",
            help: "log more (repeatable)",
        },
        ForeignDoc {
            label: "-w",
            help: "warn about every zombie reaped",
        },
        ForeignDoc {
            label: "-g",
            help: "forward signals to the command's whole process group",
        },
        ForeignDoc {
            label: "-e CODE",
            help: "exit 0 when the command exits with CODE (repeatable)",
        },
        ForeignDoc {
            label: "-l",
            help: "show the license and exit",
        },
        ForeignDoc {
            label: "-h",
            help: "show this help and exit",
        },
        ForeignDoc {
            label: "--version",
            help: "show the version and exit (only as the sole argument)",
        },
    ],
    environment: &[
        ForeignDoc {
            label: "TINI_SUBREAPER",
            help: "set to anything: as -s",
        },
        ForeignDoc {
            label: "TINI_KILL_PROCESS_GROUP",
            help: "set to anything: as -g",
        },
        ForeignDoc {
            label: "TINI_VERBOSITY",
            help: "0 errors only, 1 the default, 2 and up as many -v less one",
        },
    ],
};

/// Unlike tini, parsing stops at the first word that is not an option, so
/// the command's own flags are never taken for tini's.
pub fn parse(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<CommandLine, UsageError> {
    if args.len() == 1 && args[0] == b"--version" {
        return Ok(CommandLine::Mode(Invocation::Version));
    }
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') => return Ok(CommandLine::Mode(Invocation::Help)),
            Short('l') => return Ok(CommandLine::Mode(Invocation::License)),
            Short('g') => settings.forward_to = Some(ForwardTo::Group),
            Short(letter @ ('s' | 'v' | 'w' | 'p' | 'e')) => {
                let (key, input) = match letter {
                    's' => (Key::Subreaper, Input::Flag),
                    'v' => (Key::Verbose, Input::Flag),
                    'w' => (Key::WarnOnReap, Input::Flag),
                    'p' => (Key::Pdeathsig, Input::Typed(parser.value()?)),
                    _ => (Key::SuccessExit, Input::Typed(parser.value()?)),
                };
                key.set(settings, input)
                    .map_err(|error| UsageError::of("-", letter.encode_utf8(&mut [0; 4]), error))?;
            }
            Value(command) => return Ok(CommandLine::Command(command, parser.raw_args())),
            _ => return Err(arg.unexpected()),
        }
    }
    Err(UsageError::new("no command given"))
}

pub fn environment(env: &[(Vec<u8>, Vec<u8>)], warnings: &mut Vec<String>) -> Settings {
    let mut settings = Settings::default();
    // tini tests only whether these are set, whatever the value.
    if lookup(env, "TINI_SUBREAPER").is_some() {
        settings.subreaper = Some(true);
    }
    if lookup(env, "TINI_KILL_PROCESS_GROUP").is_some() {
        settings.forward_to = Some(ForwardTo::Group);
    }
    if let Some(value) = lookup(env, "TINI_VERBOSITY") {
        match str::from_utf8(value)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            // tini's levels: 0 fatal only, 1 warnings (default), 2 info,
            // 3 debug, 4 trace.
            Some(0) => settings.quiet = Some(true),
            Some(level) => {
                settings.verbose = Some(u8::try_from(level - 1).unwrap_or(u8::MAX));
            }
            None => warnings.push(format!(
                "ignoring TINI_VERBOSITY={}: not a number",
                String::from_utf8_lossy(value)
            )),
        }
    }
    settings
}

/// tini forwards SIGTSTP like any other signal (it ignores SIGTTIN and
/// SIGTTOU itself): a rule naming it passes it on.
pub fn rewrites() -> Vec<Rewrite> {
    vec![Rewrite {
        from: signals::SIGTSTP,
        to: Some(signals::SIGTSTP),
    }]
}

#[cfg(test)]
mod tests {
    use crate::cli::testing::*;

    #[test]
    fn tini_command_line_and_variables() {
        let c = config_as(
            Personality::Tini,
            &[
                "-s", "-g", "-w", "-vv", "-p", "SIGKILL", "-e", "3", "-e", "143", "--", "cmd", "-s",
            ],
            &[],
        );
        assert!(c.subreaper && c.warn_on_reap);
        assert_eq!(c.forward_to, ForwardTo::Group);
        assert_eq!(c.verbose, 2);
        assert_eq!(c.parent_death_signal, Some(signals::SIGKILL));
        assert_eq!(c.success_exits, [3, 143]);
        assert_eq!(c.args, [b"-s"]);
        assert!(!c.new_session && !c.job_control);
        // Like tini, SIGTSTP is passed on, SIGTTIN and SIGTTOU are not.
        assert_eq!(c.rewrite(signals::SIGTSTP), Some(Some(signals::SIGTSTP)));
        assert_eq!(c.rewrite(signals::SIGTTIN), None);

        let c = config_as(Personality::Tini, &["cmd"], &[]);
        assert_eq!(c.forward_to, ForwardTo::Child);
        assert!(!c.subreaper);

        let c = config_as(
            Personality::Tini,
            &["cmd"],
            &[
                ("TINI_SUBREAPER", ""),
                ("TINI_KILL_PROCESS_GROUP", "0"),
                ("TINI_VERBOSITY", "3"),
            ],
        );
        assert!(c.subreaper);
        assert_eq!(c.forward_to, ForwardTo::Group);
        assert_eq!(c.verbose, 2);
        assert!(config_as(Personality::Tini, &["cmd"], &[("TINI_VERBOSITY", "0")]).quiet);
        // grace's variables and command line win over tini's.
        let c = config_as(
            Personality::Tini,
            &["-v", "cmd"],
            &[
                ("TINI_VERBOSITY", "4"),
                ("GRACE_FORWARD_TO", "child"),
                ("TINI_KILL_PROCESS_GROUP", "1"),
            ],
        );
        assert_eq!((c.verbose, c.forward_to), (1, ForwardTo::Child));

        modes(
            Personality::Tini,
            &[
                (&["--version"][..], Invocation::Version),
                (&["-h"], Invocation::Help),
                (&["-l"], Invocation::License),
            ],
        );
        refused(
            Personality::Tini,
            &[
                &[][..],
                &["--"],
                &["--version", "cmd"],
                &["--help", "cmd"],
                &["-x", "cmd"],
                &["-p", "NOPE", "cmd"],
                &["-e", "256", "cmd"],
                &["-c", "cmd"],
            ],
        );
    }
}
