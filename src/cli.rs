//! The command line: what was typed, checked and turned into a `Config`, or
//! into the options of the `inspect` subcommand.
//!
//! Parsing stops at `--` or at the first word that is not an option; that
//! word and everything after it belong to the command and are passed through
//! untouched as raw OS strings, so the command's own flags are never read
//! and arguments need not be UTF-8. `inspect` is a subcommand only as the
//! very first word: `grace -- inspect` runs a command named inspect.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use crate::signals::{self, Signal, SignalSet};

/// Under `docker stop`'s default 10 s, grace's own deadline must come first
/// so that grace, not the runtime, does the final kill and names the
/// stragglers; one second is left for that.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(9);

/// Longer durations are certainly typos, and would overflow clock arithmetic
/// long before they made sense.
const MAX_DURATION: Duration = Duration::from_secs(100 * 24 * 3600);

pub const USAGE: &str = "usage: grace [OPTIONS] [--] COMMAND [ARG]...";

pub const HELP: &str = "\
grace: a container init that starts COMMAND, forwards signals to it and reaps
every zombie, then exits with COMMAND's status.

usage: grace [OPTIONS] [--] COMMAND [ARG]...

Options:
  --forward-to child|group  send forwarded signals to the command alone
                            (default) or to its whole process group
Stopping (on a stop signal, or when the command exits while other processes
remain):
  --stop-on SIGNAL[,SIGNAL...]
                            signals that start the shutdown (default TERM,INT)
  --stop-signal SIGNAL      what every other process gets (default TERM),
                            followed by SIGCONT; the command itself gets the
                            very signal grace received
  --stop-order all|main-first
                            signal everyone at once (default), or the command
                            first and the rest once it exited or at half the
                            grace period
  --grace-period DURATION   deadline after which remaining processes are
                            SIGKILLed and named (default 9s)
  --stop-delay DURATION     keep everything running this long before
                            signalling (counts against the grace period)
  --pre-stop COMMAND        run COMMAND with /bin/sh -c and wait for it (at
                            most half the grace period) before signalling

Other options:
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
DURATION is a number with a unit: 500ms, 9s, 1.5s, 2m, 1h (no unit: seconds).

Exit status: the command's exit code, or 128+N when signal N killed it;
127 when COMMAND is not found, 126 when it cannot be executed, 2 for a usage
error.
";

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

/// Who is signalled first when stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOrder {
    /// Everyone at once.
    All,
    /// The main process first; the rest once it exited or at half the
    /// grace period, for masters that stop their own workers.
    MainFirst,
}

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
    pub stop_on: SignalSet,
    pub stop_signal: Signal,
    pub stop_order: StopOrder,
    pub grace_period: Duration,
    pub stop_delay: Duration,
    pub pre_stop: Option<OsString>,
    pub verbose: u8,
    pub quiet: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Config),
    Help,
    Version,
    Inspect(InspectOptions),
    InspectHelp,
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

/// Whether the arguments (without the program name) ask for `inspect`: the
/// very first word, before any option.
pub fn is_inspect(args: &[OsString]) -> bool {
    args.first().is_some_and(|first| first == "inspect")
}

/// The usage line and the help command to show with a usage error in `args`.
pub fn usage_for(args: &[OsString]) -> (&'static str, &'static str) {
    if is_inspect(args) {
        (INSPECT_USAGE, "grace inspect --help")
    } else {
        (USAGE, "grace --help")
    }
}

/// Parses grace's arguments, without the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    let args: Vec<OsString> = args.into_iter().collect();
    if is_inspect(&args) {
        return parse_inspect(args.into_iter().skip(1));
    }
    let mut parser = lexopt::Parser::from_args(args);
    let mut forward_to = ForwardTo::Child;
    let mut subreaper = false;
    let mut parent_death_signal = None;
    let mut success_exits = Vec::new();
    let mut verbose: u8 = 0;
    let mut quiet = false;
    let mut stop_on = SignalSet::EMPTY
        .with(signals::SIGTERM)
        .with(signals::SIGINT);
    let mut stop_signal = signals::SIGTERM;
    let mut stop_order = StopOrder::All;
    let mut grace_period = DEFAULT_GRACE_PERIOD;
    let mut stop_delay = Duration::ZERO;
    let mut pre_stop = None;

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
            Long("stop-on") => {
                let list = value_string(&mut parser, "--stop-on")?;
                stop_on = parse_signal_list(&list)
                    .map_err(|error| UsageError(format!("--stop-on: {error}")))?;
            }
            Long("stop-signal") => stop_signal = parse_value(&mut parser, "--stop-signal")?,
            Long("stop-order") => {
                stop_order = match value_string(&mut parser, "--stop-order")?.as_str() {
                    "all" => StopOrder::All,
                    "main-first" => StopOrder::MainFirst,
                    other => {
                        return Err(UsageError(format!(
                            "invalid value '{other}' for --stop-order: expected all or main-first"
                        )));
                    }
                };
            }
            Long("grace-period") => {
                grace_period = parse_with(&mut parser, "--grace-period", parse_duration)?;
            }
            Long("stop-delay") => {
                stop_delay = parse_with(&mut parser, "--stop-delay", parse_duration)?;
            }
            Long("pre-stop") => pre_stop = Some(parser.value()?),
            Value(command) => {
                let args = parser.raw_args()?.collect();
                return Ok(Invocation::Run(Config {
                    command,
                    args,
                    forward_to,
                    subreaper,
                    parent_death_signal,
                    success_exits,
                    stop_on,
                    stop_signal,
                    stop_order,
                    grace_period,
                    stop_delay,
                    pre_stop,
                    verbose,
                    quiet,
                }));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Err(UsageError("no command given".into()))
}

/// `inspect`'s arguments, after the word `inspect`.
fn parse_inspect(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    let mut parser = lexopt::Parser::from_args(args);
    let mut options = InspectOptions {
        json: false,
        signal: signals::SIGTERM,
        pid: None,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::InspectHelp),
            Long("json") => options.json = true,
            Long("signal") => options.signal = parse_value(&mut parser, "--signal")?,
            Value(word) if options.pid.is_none() => {
                let text = word.to_string_lossy();
                match text.parse::<i32>() {
                    Ok(pid) if pid > 0 => options.pid = Some(pid),
                    _ => {
                        return Err(UsageError(format!(
                            "invalid PID '{text}': expected a process id, a number from 1 up"
                        )));
                    }
                }
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Invocation::Inspect(options))
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
    parse_with(parser, option, |text| {
        text.parse::<T>().map_err(|error| error.to_string())
    })
}

fn parse_with<T>(
    parser: &mut lexopt::Parser,
    option: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, UsageError> {
    let text = value_string(parser, option)?;
    parse(&text).map_err(|error| UsageError(format!("{option}: {error}")))
}

/// `TERM,INT,QUIT`: at least one signal, each in any accepted form.
pub fn parse_signal_list(text: &str) -> Result<SignalSet, String> {
    text.split(',').try_fold(SignalSet::EMPTY, |set, name| {
        let signal: Signal = name
            .trim()
            .parse()
            .map_err(|e: signals::SignalParseError| e.to_string())?;
        Ok(set.with(signal))
    })
}

/// `500ms`, `9s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = || {
        format!(
            "invalid duration '{text}': expected a number with a unit, such as 500ms, 9s, 1.5s, 2m or 1h"
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_nanos: u128 = match unit {
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(error()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error());
    }
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole) || !digits_only(fraction) || fraction.len() > 9 {
        return Err(error());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| error())?
    };
    let fraction_nanos: u128 = if fraction.is_empty() {
        0
    } else {
        let value: u128 = fraction.parse().map_err(|_| error())?;
        value * unit_nanos / 10u128.pow(fraction.len() as u32)
    };
    let nanos = whole
        .checked_mul(unit_nanos)
        .and_then(|n| n.checked_add(fraction_nanos))
        .ok_or_else(error)?;
    if nanos > MAX_DURATION.as_nanos() {
        return Err(format!("duration '{text}' is longer than 100 days"));
    }
    Ok(Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    ))
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
    fn shutdown_options_have_container_friendly_defaults() {
        let c = config(&["cmd"]);
        assert_eq!(c.stop_on.bits(), 1 << 14 | 1 << 1);
        assert_eq!(c.stop_signal.number(), 15);
        assert_eq!(c.stop_order, StopOrder::All);
        assert_eq!(c.grace_period, Duration::from_secs(9));
        assert_eq!(c.stop_delay, Duration::ZERO);
        assert_eq!(c.pre_stop, None);

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
        assert_eq!(c.pre_stop, Some(OsString::from("echo bye")));
    }

    #[test]
    fn parses_durations() {
        let ok = |text: &str| parse_duration(text).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("9s"), Duration::from_secs(9));
        assert_eq!(ok("9"), Duration::from_secs(9));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".25s"), Duration::from_millis(250));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("0.001ms"), Duration::from_nanos(1000));
        assert_eq!(ok("2400h"), Duration::from_secs(2400 * 3600));
        for bad in [
            "",
            "s",
            "ms",
            ".",
            "1.2.3s",
            "-1s",
            "1 s",
            "1sec",
            "1d",
            "5x",
            "1e3",
            "2401h",
            "99999999999999999999999999999999999999999999s",
            "1.0000000001s",
            "+1s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn parses_signal_lists() {
        assert_eq!(parse_signal_list("TERM").unwrap().bits(), 1 << 14);
        assert_eq!(
            parse_signal_list("TERM,INT,RTMIN").unwrap().bits(),
            1 << 14 | 1 << 1 | 1 << 33
        );
        assert!(parse_signal_list("").is_err());
        assert!(parse_signal_list("TERM,").is_err());
        assert!(parse_signal_list("TERM,NOPE").is_err());
    }

    #[test]
    fn help_and_version_are_modes_not_errors() {
        assert_eq!(run(&["--help"]), Ok(Invocation::Help));
        assert_eq!(run(&["-h", "cmd"]), Ok(Invocation::Help));
        assert_eq!(run(&["-V"]), Ok(Invocation::Version));
        assert_eq!(run(&["--version"]), Ok(Invocation::Version));
    }

    #[test]
    fn inspect_is_a_subcommand_only_as_the_first_word() {
        let inspect = |words: &[&str]| match run(words) {
            Ok(Invocation::Inspect(options)) => options,
            other => panic!("{words:?} gave {other:?}"),
        };
        assert_eq!(
            inspect(&["inspect"]),
            InspectOptions {
                json: false,
                signal: crate::signals::SIGTERM,
                pid: None
            }
        );
        let o = inspect(&["inspect", "--json", "--signal", "QUIT", "42"]);
        assert_eq!((o.json, o.signal.number(), o.pid), (true, 3, Some(42)));
        assert_eq!(
            inspect(&["inspect", "--signal=RTMIN+3", "--", "7"]).pid,
            Some(7)
        );
        assert_eq!(run(&["inspect", "--help"]), Ok(Invocation::InspectHelp));
        assert_eq!(run(&["inspect", "1", "-h"]), Ok(Invocation::InspectHelp));

        // Anywhere else, inspect is a command to run.
        assert_eq!(config(&["--", "inspect"]).command, "inspect");
        assert_eq!(config(&["-v", "inspect", "--json"]).args, ["--json"]);
        assert_eq!(config(&["inspectx"]).command, "inspectx");

        for words in [
            &["inspect", "--bogus"][..],
            &["inspect", "--signal"],
            &["inspect", "--signal", "NOPE"],
            &["inspect", "1", "2"],
            &["inspect", "0"],
            &["inspect", "-1"],
            &["inspect", "abc"],
            &["inspect", "99999999999"],
            &["inspect", "--json=yes"],
        ] {
            assert!(run(words).is_err(), "{words:?} must be refused");
        }
        let to_os = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(usage_for(&to_os(&["inspect", "-x"])).0, INSPECT_USAGE);
        assert_eq!(usage_for(&to_os(&["--", "inspect"])).0, USAGE);
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
            &["--stop-order", "random", "cmd"],
            &["--grace-period", "10 seconds", "cmd"],
            &["--stop-delay", "-1s", "cmd"],
            &["--stop-on", "", "cmd"],
            &["--stop-signal", "RTMIN+40", "cmd"],
            &["--pre-stop"],
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
