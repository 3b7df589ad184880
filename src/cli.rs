//! The command line: what was typed, checked and turned into a `Config`.
//!
//! Parsing stops at `--` or at the first word that is not an option; that
//! word and everything after it belong to the command and are passed through
//! untouched as raw OS strings, so the command's own flags are never read
//! and arguments need not be UTF-8.

use std::ffi::OsString;
use std::fmt;

use crate::signals::Signal;

pub const USAGE: &str = "usage: grace [OPTIONS] [--] COMMAND [ARG]...";

pub const HELP: &str = "\
grace: a container init that starts COMMAND, forwards signals to it and reaps
every zombie, then exits with COMMAND's status.

usage: grace [OPTIONS] [--] COMMAND [ARG]...

Options:
  --forward-to child|group  send forwarded signals to the command alone
                            (default) or to its whole process group
  -s, --subreaper           register as child subreaper (automatic when grace
                            is not PID 1 of its PID namespace)
  -p, --pdeathsig SIGNAL    have the kernel send SIGNAL to grace when grace's
                            parent dies
  -e, --success-exit CODE   exit 0 when the command exits with CODE
                            (repeatable)
  -v, --verbose             log more (repeatable)
  -q, --quiet               log errors only
  -h, --help                show this help and exit
  -V, --version             show the version and exit

SIGNAL is a name or number: TERM, SIGTERM, sigterm, 15, RTMIN+3, SIGRTMAX-1.

Exit status: the command's exit code, or 128+N when signal N killed it;
127 when COMMAND is not found, 126 when it cannot be executed, 2 for a usage
error.
";

/// Where forwarded signals go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardTo {
    /// The command's process only.
    Child,
    /// The command's process group (the command leads its own group).
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub command: OsString,
    pub args: Vec<OsString>,
    pub forward_to: ForwardTo,
    pub subreaper: bool,
    pub parent_death_signal: Option<Signal>,
    pub success_exits: Vec<u8>,
    pub verbose: u8,
    pub quiet: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Config),
    Help,
    Version,
}

/// A command line grace cannot run: shown with the usage line, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for UsageError {
    fn from(error: lexopt::Error) -> Self {
        UsageError(error.to_string())
    }
}

/// Parses grace's arguments, without the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    let mut parser = lexopt::Parser::from_args(args);
    let mut forward_to = ForwardTo::Child;
    let mut subreaper = false;
    let mut parent_death_signal = None;
    let mut success_exits = Vec::new();
    let mut verbose: u8 = 0;
    let mut quiet = false;

    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::Help),
            Short('V') | Long("version") => return Ok(Invocation::Version),
            Short('s') | Long("subreaper") => subreaper = true,
            Short('v') | Long("verbose") => verbose = verbose.saturating_add(1),
            Short('q') | Long("quiet") => quiet = true,
            Short('p') | Long("pdeathsig") => {
                parent_death_signal = Some(parse_value(&mut parser, "--pdeathsig")?);
            }
            Short('e') | Long("success-exit") => {
                let code: u8 = parse_value(&mut parser, "--success-exit")?;
                success_exits.push(code);
            }
            Long("forward-to") => {
                forward_to = match value_string(&mut parser, "--forward-to")?.as_str() {
                    "child" => ForwardTo::Child,
                    "group" => ForwardTo::Group,
                    other => {
                        return Err(UsageError(format!(
                            "invalid value '{other}' for --forward-to: expected child or group"
                        )));
                    }
                };
            }
            Value(command) => {
                let args = parser.raw_args()?.collect();
                return Ok(Invocation::Run(Config {
                    command,
                    args,
                    forward_to,
                    subreaper,
                    parent_death_signal,
                    success_exits,
                    verbose,
                    quiet,
                }));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Err(UsageError("no command given".into()))
}

fn value_string(parser: &mut lexopt::Parser, option: &str) -> Result<String, UsageError> {
    let value = parser.value()?;
    value
        .into_string()
        .map_err(|raw| UsageError(format!("invalid value {raw:?} for {option}: not UTF-8")))
}

fn parse_value<T>(parser: &mut lexopt::Parser, option: &str) -> Result<T, UsageError>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let text = value_string(parser, option)?;
    text.parse::<T>()
        .map_err(|error| UsageError(format!("{option}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Result<Invocation, UsageError> {
        parse(words.iter().map(OsString::from))
    }

    fn config(words: &[&str]) -> Config {
        match run(words) {
            Ok(Invocation::Run(config)) => config,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn command_and_its_flags_pass_through_untouched() {
        let c = config(&["-v", "--", "ls", "-v", "--grace", "3", "--"]);
        assert_eq!(c.command, "ls");
        assert_eq!(c.args, ["-v", "--grace", "3", "--"]);
        assert_eq!(c.verbose, 1);

        let c = config(&["ls", "-s", "--help"]);
        assert_eq!(c.command, "ls");
        assert_eq!(c.args, ["-s", "--help"]);
        assert!(!c.subreaper);
    }

    #[test]
    fn non_utf8_arguments_survive() {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(vec![b'a', 0xff, b'b']);
        let parsed = parse([OsString::from("--"), OsString::from("echo"), raw.clone()]);
        match parsed {
            Ok(Invocation::Run(c)) => assert_eq!(c.args, [raw]),
            other => panic!("{other:?}"),
        }
    }

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
        assert_eq!(c.parent_death_signal, Some(crate::signals::SIGKILL));
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
    fn help_and_version_are_modes_not_errors() {
        assert_eq!(run(&["--help"]), Ok(Invocation::Help));
        assert_eq!(run(&["-h", "cmd"]), Ok(Invocation::Help));
        assert_eq!(run(&["-V"]), Ok(Invocation::Version));
        assert_eq!(run(&["--version"]), Ok(Invocation::Version));
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for words in [
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
        ] {
            assert!(run(words).is_err(), "{words:?} must be refused");
        }
        let message = run(&["-p", "NOPE", "x"]).unwrap_err().to_string();
        assert!(
            message.contains("--pdeathsig") && message.contains("RTMIN+N"),
            "{message}"
        );
    }
}
