//! The command line and the environment: what was typed, checked and turned
//! into a `Config`, or into the options of the `inspect` subcommand.
//!
//! Three layers, lowest first: the personality's defaults, the environment
//! (`GRACE_<OPTION>`, and in a personality that tool's own variables), the
//! command line. Each layer is parsed into `Settings` whose fields are all
//! optional; the higher layer wins field by field.
//!
//! One table, `OPTIONS`, describes grace's options: the parser looks options
//! up in it, and `--help`, the man page (man/grace.1) and the environment
//! table in docs/configuration.md are all generated from it, so they cannot
//! drift. A unit test fails when a generated file differs from the source;
//! `UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'` rewrites them.
//!
//! Installed or linked as `tini`, `docker-init` or `dumb-init`, grace reads
//! that tool's command line instead (a *personality*); see docs/compat.md.
//!
//! Parsing stops at `--` or at the first word that is not an option; that
//! word and everything after it belong to the command and are passed through
//! untouched as raw bytes, so the command's own flags are never read and
//! arguments need not be UTF-8. `inspect` is a subcommand only as the
//! very first word: `grace -- inspect` runs a command named inspect.

use core::fmt;
use core::mem;
use core::str;
use core::time::Duration;

use crate::prelude::*;

use crate::log::Format;
use crate::signals::{self, Signal, SignalSet};
use crate::user::UserSpec;

/// Under `docker stop`'s default 10 s, grace's own deadline must come first
/// so that grace, not the runtime, does the final kill and names the
/// stragglers; one second is left for that.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(9);

/// Longer durations are certainly typos, and would overflow clock arithmetic
/// long before they made sense.
const MAX_DURATION: Duration = Duration::from_secs(100 * 24 * 3600);

pub const USAGE: &str = "usage: grace [OPTIONS] [--] COMMAND [ARG]...";
const TINI_USAGE: &str = "usage: tini [OPTIONS] [--] COMMAND [ARG]...  (grace, tini-compatible)";
const DUMB_INIT_USAGE: &str =
    "usage: dumb-init [OPTIONS] [--] COMMAND [ARG]...  (grace, dumb-init-compatible)";

/// The prefix of grace's own environment variables.
pub const ENV_PREFIX: &str = "GRACE_";

const SUMMARY: &str = "a container init that stops every process gracefully";

const DESCRIPTION: &str = "grace starts COMMAND, forwards signals to it, reaps every zombie \
and exits with COMMAND's status. On a stop signal (TERM or INT), or when COMMAND exits while \
other processes remain, every process gets the stop signal and time to finish; grace exits \
the moment the last one is gone, and SIGKILLs and names the stragglers at its deadline.";

const VALUES: &[&str] = &[
    "SIGNAL is a name or number: TERM, SIGTERM, sigterm, 15, RTMIN+3, SIGRTMAX-1.",
    "DURATION is a number with a unit: 500ms, 9s, 1.5s, 2m, 1h (no unit: seconds).",
];

const ENVIRONMENT: &[&str] = &[
    "Every option can also be set with an environment variable: GRACE_ and the long \
     option's name in capitals, with _ for - (GRACE_GRACE_PERIOD=29s, GRACE_SUBREAPER=1). \
     The command line wins. A flag takes 1, true, yes or on (0, false, no, off: not set); a \
     repeatable option takes a comma-separated list; an empty value counts as unset.",
    "The command gets grace's environment unchanged, GRACE_ variables included; with --user, \
     HOME is set to the user's home directory.",
];

const PERSONALITIES: &str = "Installed or linked under the name tini, docker-init or \
dumb-init, grace reads that tool's command line and environment variables, with that tool's \
defaults for where forwarded signals go and its exit code for usage errors (1). The stop still \
reaches every process.";

const EXIT_STATUS: &[(&str, &str)] = &[
    ("N", "the command exited with N (0 if N is given to -e)"),
    (
        "128+N",
        "the command was killed by signal N (143 for SIGTERM, 137 for SIGKILL)",
    ),
    ("127", "the command was not found"),
    ("126", "the command exists but cannot be executed"),
    (
        "2",
        "bad option, bad value, no command (1 in the tini and dumb-init personalities)",
    ),
    (
        "125",
        "grace itself could not set up (signals, the --user to run as)",
    ),
];

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

/// Whose command line grace reads, chosen by the name it was started as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Personality {
    #[default]
    Grace,
    /// `tini`, `tini-static` or `docker-init` (what `docker run --init`
    /// starts).
    Tini,
    DumbInit,
}

impl Personality {
    /// From argv[0]: its base name decides.
    pub fn from_program(program: &[u8]) -> Self {
        let base = program.rsplit(|&b| b == b'/').next().unwrap_or(program);
        match base {
            b"tini" | b"tini-static" | b"docker-init" => Personality::Tini,
            b"dumb-init" => Personality::DumbInit,
            _ => Personality::Grace,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Personality::Grace => "grace",
            Personality::Tini => "tini",
            Personality::DumbInit => "dumb-init",
        }
    }

    /// What a command line that cannot run exits with: grace's own 2, or
    /// the original tool's 1.
    pub fn usage_exit_code(self) -> i32 {
        match self {
            Personality::Grace => 2,
            Personality::Tini | Personality::DumbInit => 1,
        }
    }

    pub fn usage(self) -> &'static str {
        match self {
            Personality::Grace => USAGE,
            Personality::Tini => TINI_USAGE,
            Personality::DumbInit => DUMB_INIT_USAGE,
        }
    }

    fn help_command(self) -> &'static str {
        match self {
            Personality::Grace => "grace --help",
            Personality::Tini => "tini -h",
            Personality::DumbInit => "dumb-init --help",
        }
    }
}

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

/// `--rewrite FROM:TO`: a received FROM is passed on as TO; no TO (0)
/// drops FROM altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub from: Signal,
    pub to: Option<Signal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub personality: Personality,
    pub command: Vec<u8>,
    pub args: Vec<Vec<u8>>,
    pub forward_to: ForwardTo,
    pub subreaper: bool,
    pub parent_death_signal: Option<Signal>,
    pub success_exits: Vec<u8>,
    pub stop_on: SignalSet,
    pub stop_signal: Signal,
    pub stop_order: StopOrder,
    pub grace_period: Duration,
    pub stop_delay: Duration,
    pub pre_stop: Option<Vec<u8>>,
    pub verbose: u8,
    pub quiet: bool,
    pub rewrites: Vec<Rewrite>,
    pub log_format: Format,
    pub user: Option<UserSpec>,
    pub no_new_privs: bool,
    pub warn_on_reap: bool,
    /// The command gets a session of its own (dumb-init's default).
    pub new_session: bool,
    /// SIGTSTP, SIGTTIN and SIGTTOU are passed on and grace suspends itself
    /// after them, as dumb-init does.
    pub job_control: bool,
}

impl Config {
    /// What a received signal is passed on as: `None` when no rule names
    /// it, `Some(None)` when it is dropped. The last rule for a signal wins.
    pub fn rewrite(&self, signal: Signal) -> Option<Option<Signal>> {
        self.rewrites
            .iter()
            .rev()
            .find(|rule| rule.from == signal)
            .map(|rule| rule.to)
    }
}

// Parsed once per run: the size of the Run variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Config),
    Help,
    Version,
    /// tini's `-l`.
    License,
    Inspect(InspectOptions),
    InspectHelp,
}

/// A command line (or environment) grace cannot run: shown with the usage
/// line, exit 2 (1 in a personality).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    /// The log format asked for before the error, so that the error is
    /// written the way the rest would have been.
    pub log_format: Format,
}

impl UsageError {
    fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            log_format: Format::Text,
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What parsing gave, and remarks worth a warning once logging is set up
/// (such as a GRACE_ variable that names no option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub invocation: Invocation,
    pub warnings: Vec<String>,
}

// ---------------------------------------------------------------------------
// The option table
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    StopOn,
    StopSignal,
    StopOrder,
    GracePeriod,
    StopDelay,
    PreStop,
    ForwardTo,
    Rewrite,
    User,
    NoNewPrivs,
    LogFormat,
    Verbose,
    Quiet,
    WarnOnReap,
    Subreaper,
    Pdeathsig,
    SuccessExit,
    Help,
    Version,
}

/// One of grace's options, as parsed and as documented.
#[derive(Debug, Clone, Copy)]
pub struct OptionDoc {
    key: Key,
    pub short: Option<char>,
    pub long: &'static str,
    /// The value's name (`SIGNAL`), or None for a flag.
    pub value: Option<&'static str>,
    pub section: &'static str,
    pub help: &'static str,
    /// An example value for the environment table (None: no variable).
    pub env_example: Option<&'static str>,
}

impl OptionDoc {
    /// `GRACE_GRACE_PERIOD` for `--grace-period`.
    pub fn env_name(&self) -> Option<String> {
        self.env_example?;
        Some(format!(
            "{ENV_PREFIX}{}",
            self.long.to_ascii_uppercase().replace('-', "_")
        ))
    }

    fn label(&self) -> String {
        let mut label = match self.short {
            Some(short) => format!("-{short}, --{}", self.long),
            None => format!("--{}", self.long),
        };
        if let Some(value) = self.value {
            label.push(' ');
            label.push_str(value);
        }
        label
    }
}

const STOPPING: &str = "Stopping (on a stop signal, or when the command exits while other \
processes remain)";
const SIGNALS: &str = "Signals";
const PRIVILEGES: &str = "Privileges";
const LOGGING: &str = "Logging";
const OTHER: &str = "Other options";

/// grace's options, in the order `--help` shows them.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        key: Key::StopOn,
        short: None,
        long: "stop-on",
        value: Some("SIGNAL[,SIGNAL...]"),
        section: STOPPING,
        help: "signals that start the stop (default TERM,INT)",
        env_example: Some("TERM,INT,QUIT"),
    },
    OptionDoc {
        key: Key::StopSignal,
        short: None,
        long: "stop-signal",
        value: Some("SIGNAL"),
        section: STOPPING,
        help: "what every other process gets (default TERM), followed by SIGCONT; the \
               command itself gets the very signal grace received",
        env_example: Some("INT"),
    },
    OptionDoc {
        key: Key::StopOrder,
        short: None,
        long: "stop-order",
        value: Some("all|main-first"),
        section: STOPPING,
        help: "signal everyone at once (default), or the command first and the rest once \
               it exited or at half the grace period",
        env_example: Some("main-first"),
    },
    OptionDoc {
        key: Key::GracePeriod,
        short: None,
        long: "grace-period",
        value: Some("DURATION"),
        section: STOPPING,
        help: "deadline after which remaining processes are SIGKILLed and named (default 9s)",
        env_example: Some("29s"),
    },
    OptionDoc {
        key: Key::StopDelay,
        short: None,
        long: "stop-delay",
        value: Some("DURATION"),
        section: STOPPING,
        help: "keep everything running this long before signalling (counts against the \
               grace period)",
        env_example: Some("5s"),
    },
    OptionDoc {
        key: Key::PreStop,
        short: None,
        long: "pre-stop",
        value: Some("COMMAND"),
        section: STOPPING,
        help: "run COMMAND with /bin/sh -c and wait for it (at most half the grace period) \
               before signalling",
        env_example: Some("nginx -s quit"),
    },
    OptionDoc {
        key: Key::ForwardTo,
        short: None,
        long: "forward-to",
        value: Some("child|group"),
        section: SIGNALS,
        help: "send forwarded signals to the command alone (default) or to its whole \
               process group",
        env_example: Some("group"),
    },
    OptionDoc {
        key: Key::Rewrite,
        short: None,
        long: "rewrite",
        value: Some("FROM:TO"),
        section: SIGNALS,
        help: "pass a received FROM on as TO, to the command and as the command's stop \
               signal; TO 0 drops FROM altogether (repeatable)",
        env_example: Some("TERM:QUIT,USR1:0"),
    },
    OptionDoc {
        key: Key::User,
        short: Some('u'),
        long: "user",
        value: Some("USER[:GROUP]"),
        section: PRIVILEGES,
        help: "run the command (and --pre-stop) as USER, a name from /etc/passwd or a \
               number, with its groups and HOME; grace itself stays root",
        env_example: Some("app:app"),
    },
    OptionDoc {
        key: Key::NoNewPrivs,
        short: None,
        long: "no-new-privs",
        value: None,
        section: PRIVILEGES,
        help: "the command (and --pre-stop) can never gain privileges, not even through \
               setuid binaries",
        env_example: Some("1"),
    },
    OptionDoc {
        key: Key::LogFormat,
        short: None,
        long: "log-format",
        value: Some("text|json"),
        section: LOGGING,
        help: "lines prefixed grace: (default), or one JSON object per line, the stop's \
               timeline included",
        env_example: Some("json"),
    },
    OptionDoc {
        key: Key::Verbose,
        short: Some('v'),
        long: "verbose",
        value: None,
        section: LOGGING,
        help: "log more (repeatable: the stop's timeline, then every signal and reaped \
               process)",
        env_example: Some("2"),
    },
    OptionDoc {
        key: Key::Quiet,
        short: Some('q'),
        long: "quiet",
        value: None,
        section: LOGGING,
        help: "log errors only",
        env_example: Some("1"),
    },
    OptionDoc {
        key: Key::WarnOnReap,
        short: Some('w'),
        long: "warn-on-reap",
        value: None,
        section: LOGGING,
        help: "warn about every process reaped other than the command (zombies)",
        env_example: Some("1"),
    },
    OptionDoc {
        key: Key::Subreaper,
        short: Some('s'),
        long: "subreaper",
        value: None,
        section: OTHER,
        help: "register as child subreaper (automatic when grace is not PID 1 of its PID \
               namespace)",
        env_example: Some("1"),
    },
    OptionDoc {
        key: Key::Pdeathsig,
        short: Some('p'),
        long: "pdeathsig",
        value: Some("SIGNAL"),
        section: OTHER,
        help: "have the kernel send SIGNAL to grace when grace's parent dies",
        env_example: Some("KILL"),
    },
    OptionDoc {
        key: Key::SuccessExit,
        short: Some('e'),
        long: "success-exit",
        value: Some("CODE"),
        section: OTHER,
        help: "exit 0 when the command exits with CODE (repeatable)",
        env_example: Some("143,130"),
    },
    OptionDoc {
        key: Key::Help,
        short: Some('h'),
        long: "help",
        value: None,
        section: OTHER,
        help: "show this help and exit",
        env_example: None,
    },
    OptionDoc {
        key: Key::Version,
        short: Some('V'),
        long: "version",
        value: None,
        section: OTHER,
        help: "show the version and exit",
        env_example: None,
    },
];

/// An option of a personality, for its help and the man page.
pub struct ForeignDoc {
    pub label: &'static str,
    pub help: &'static str,
}

const TINI_OPTIONS: &[ForeignDoc] = &[
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
];

const TINI_ENVIRONMENT: &[ForeignDoc] = &[
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
];

const DUMB_INIT_OPTIONS: &[ForeignDoc] = &[
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
];

const DUMB_INIT_ENVIRONMENT: &[ForeignDoc] = &[
    ForeignDoc {
        label: "DUMB_INIT_SETSID",
        help: "0: as -c",
    },
    ForeignDoc {
        label: "DUMB_INIT_DEBUG",
        help: "1: as -v",
    },
];

// ---------------------------------------------------------------------------
// Settings: one layer of configuration
// ---------------------------------------------------------------------------

/// One layer: what the personality, the environment or the command line
/// said; None where it said nothing.
#[derive(Debug, Clone, Default)]
struct Settings {
    forward_to: Option<ForwardTo>,
    subreaper: Option<bool>,
    pdeathsig: Option<Signal>,
    success_exits: Option<Vec<u8>>,
    stop_on: Option<SignalSet>,
    stop_signal: Option<Signal>,
    stop_order: Option<StopOrder>,
    grace_period: Option<Duration>,
    stop_delay: Option<Duration>,
    pre_stop: Option<Vec<u8>>,
    verbose: Option<u8>,
    quiet: Option<bool>,
    rewrites: Option<Vec<Rewrite>>,
    log_format: Option<Format>,
    user: Option<UserSpec>,
    no_new_privs: Option<bool>,
    warn_on_reap: Option<bool>,
    new_session: Option<bool>,
    job_control: Option<bool>,
}

impl Settings {
    /// This layer over `lower`: each field that this one sets wins.
    fn over(self, lower: Settings) -> Settings {
        Settings {
            forward_to: self.forward_to.or(lower.forward_to),
            subreaper: self.subreaper.or(lower.subreaper),
            pdeathsig: self.pdeathsig.or(lower.pdeathsig),
            success_exits: self.success_exits.or(lower.success_exits),
            stop_on: self.stop_on.or(lower.stop_on),
            stop_signal: self.stop_signal.or(lower.stop_signal),
            stop_order: self.stop_order.or(lower.stop_order),
            grace_period: self.grace_period.or(lower.grace_period),
            stop_delay: self.stop_delay.or(lower.stop_delay),
            pre_stop: self.pre_stop.or(lower.pre_stop),
            verbose: self.verbose.or(lower.verbose),
            quiet: self.quiet.or(lower.quiet),
            rewrites: self.rewrites.or(lower.rewrites),
            log_format: self.log_format.or(lower.log_format),
            user: self.user.or(lower.user),
            no_new_privs: self.no_new_privs.or(lower.no_new_privs),
            warn_on_reap: self.warn_on_reap.or(lower.warn_on_reap),
            new_session: self.new_session.or(lower.new_session),
            job_control: self.job_control.or(lower.job_control),
        }
    }

    fn defaults(personality: Personality) -> Settings {
        match personality {
            Personality::Grace | Personality::Tini => Settings::default(),
            Personality::DumbInit => Settings {
                forward_to: Some(ForwardTo::Group),
                new_session: Some(true),
                job_control: Some(true),
                ..Settings::default()
            },
        }
    }

    fn config(self, personality: Personality, command: Vec<u8>, args: Vec<Vec<u8>>) -> Config {
        let new_session = self.new_session.unwrap_or(false);
        let mut rewrites = Vec::new();
        if new_session {
            // dumb-init: in a session of its own the command's group is
            // orphaned, where the kernel ignores the terminal stop signals
            // unless handled; SIGSTOP stops it for sure. A rule of the
            // user's comes later and wins.
            for signal in [signals::SIGTSTP, signals::SIGTTIN, signals::SIGTTOU] {
                rewrites.push(Rewrite {
                    from: signal,
                    to: Some(signals::SIGSTOP),
                });
            }
        }
        if personality == Personality::Tini {
            // tini forwards SIGTSTP like any other signal (it ignores
            // SIGTTIN and SIGTTOU itself): a rule naming it passes it on.
            rewrites.push(Rewrite {
                from: signals::SIGTSTP,
                to: Some(signals::SIGTSTP),
            });
        }
        rewrites.extend(self.rewrites.unwrap_or_default());
        Config {
            personality,
            command,
            args,
            forward_to: self.forward_to.unwrap_or(ForwardTo::Child),
            subreaper: self.subreaper.unwrap_or(false),
            parent_death_signal: self.pdeathsig,
            success_exits: self.success_exits.unwrap_or_default(),
            stop_on: self.stop_on.unwrap_or(
                SignalSet::EMPTY
                    .with(signals::SIGTERM)
                    .with(signals::SIGINT),
            ),
            stop_signal: self.stop_signal.unwrap_or(signals::SIGTERM),
            stop_order: self.stop_order.unwrap_or(StopOrder::All),
            grace_period: self.grace_period.unwrap_or(DEFAULT_GRACE_PERIOD),
            stop_delay: self.stop_delay.unwrap_or(Duration::ZERO),
            pre_stop: self.pre_stop,
            verbose: self.verbose.unwrap_or(0),
            quiet: self.quiet.unwrap_or(false),
            rewrites,
            log_format: self.log_format.unwrap_or_default(),
            user: self.user,
            no_new_privs: self.no_new_privs.unwrap_or(false),
            warn_on_reap: self.warn_on_reap.unwrap_or(false),
            new_session,
            job_control: self.job_control.unwrap_or(false),
        }
    }

    /// Sets `key` from a value given on the command line (`from_env`
    /// false: one more item of a repeatable option) or in its environment
    /// variable (a whole comma-separated list; a flag's truth value).
    fn set(&mut self, key: Key, value: Vec<u8>, from_env: bool) -> Result<(), String> {
        if key == Key::PreStop {
            self.pre_stop = Some(value);
            return Ok(());
        }
        let text = str::from_utf8(&value)
            .map_err(|_| format!("invalid value {}: not UTF-8", quoted(&value)))?;
        let list = || text.split(',').map(str::trim);
        match key {
            Key::StopOn => self.stop_on = Some(parse_signal_list(text)?),
            Key::StopSignal => self.stop_signal = Some(parse_signal(text)?),
            Key::Pdeathsig => self.pdeathsig = Some(parse_signal(text)?),
            Key::StopOrder => {
                self.stop_order = Some(match text {
                    "all" => StopOrder::All,
                    "main-first" => StopOrder::MainFirst,
                    other => {
                        return Err(format!(
                            "invalid value '{other}': expected all or main-first"
                        ));
                    }
                });
            }
            Key::ForwardTo => {
                self.forward_to = Some(match text {
                    "child" => ForwardTo::Child,
                    "group" => ForwardTo::Group,
                    other => {
                        return Err(format!("invalid value '{other}': expected child or group"));
                    }
                });
            }
            Key::GracePeriod => self.grace_period = Some(parse_duration(text)?),
            Key::StopDelay => self.stop_delay = Some(parse_duration(text)?),
            Key::Rewrite => {
                let rules = if from_env {
                    list().map(parse_rewrite).collect::<Result<Vec<_>, _>>()?
                } else {
                    vec![parse_rewrite(text)?]
                };
                extend_or_replace(&mut self.rewrites, rules, from_env);
            }
            Key::SuccessExit => {
                let codes = if from_env {
                    list().map(parse_code).collect::<Result<Vec<_>, _>>()?
                } else {
                    vec![parse_code(text)?]
                };
                extend_or_replace(&mut self.success_exits, codes, from_env);
            }
            Key::User => self.user = Some(text.parse()?),
            Key::LogFormat => self.log_format = Some(text.parse()?),
            Key::Verbose => {
                self.verbose = Some(text.parse::<u8>().map_err(|_| {
                    format!("invalid level '{text}': expected a number from 0 to 255")
                })?);
            }
            Key::Quiet => self.quiet = Some(parse_bool(text)?),
            Key::NoNewPrivs => self.no_new_privs = Some(parse_bool(text)?),
            Key::WarnOnReap => self.warn_on_reap = Some(parse_bool(text)?),
            Key::Subreaper => self.subreaper = Some(parse_bool(text)?),
            Key::PreStop | Key::Help | Key::Version => {
                return Err("not a setting".into());
            }
        }
        Ok(())
    }

    /// A flag given on the command line.
    fn flag(&mut self, key: Key) {
        match key {
            Key::Verbose => self.verbose = Some(self.verbose.unwrap_or(0).saturating_add(1)),
            Key::Quiet => self.quiet = Some(true),
            Key::NoNewPrivs => self.no_new_privs = Some(true),
            Key::WarnOnReap => self.warn_on_reap = Some(true),
            Key::Subreaper => self.subreaper = Some(true),
            _ => {}
        }
    }
}

fn extend_or_replace<T>(slot: &mut Option<Vec<T>>, items: Vec<T>, replace: bool) {
    match slot {
        Some(existing) if !replace => existing.extend(items),
        _ => *slot = Some(items),
    }
}

fn parse_signal(text: &str) -> Result<Signal, String> {
    text.parse::<Signal>().map_err(|error| error.to_string())
}

fn parse_code(text: &str) -> Result<u8, String> {
    text.parse::<u8>()
        .map_err(|_| format!("invalid exit code '{text}': expected a number from 0 to 255"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "invalid value '{text}': expected 1, true, yes or on (0, false, no or off)"
        )),
    }
}

/// `FROM:TO` for grace's own `--rewrite`: signals in any accepted form; TO
/// may be 0 (drop). FROM cannot be a signal grace never passes on.
pub fn parse_rewrite(text: &str) -> Result<Rewrite, String> {
    let error =
        || format!("invalid rewrite '{text}': expected FROM:TO, such as TERM:QUIT or USR1:0");
    let (from, to) = text.split_once(':').ok_or_else(error)?;
    let from = parse_signal(from.trim())?;
    if [signals::SIGKILL, signals::SIGSTOP, signals::SIGCHLD].contains(&from) {
        return Err(format!(
            "invalid rewrite '{text}': {from} is never passed on (grace cannot catch it, or reaps on it)"
        ));
    }
    let to = match to.trim() {
        "0" => None,
        other => Some(parse_signal(other)?),
    };
    Ok(Rewrite { from, to })
}

/// dumb-init's `S:R`: numbers only, S from 1 to 31, R from 0 to 31.
fn parse_dumb_init_rewrite(text: &str) -> Result<Rewrite, String> {
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

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Whether the arguments (without the program name) ask for `inspect`: the
/// very first word, before any option.
pub fn is_inspect(args: &[Vec<u8>]) -> bool {
    args.first().is_some_and(|first| first == b"inspect")
}

/// The usage line and the help command to show with a usage error in `args`.
pub fn usage_for(personality: Personality, args: &[Vec<u8>]) -> (&'static str, &'static str) {
    if personality == Personality::Grace && is_inspect(args) {
        (INSPECT_USAGE, "grace inspect --help")
    } else {
        (personality.usage(), personality.help_command())
    }
}

/// Parses grace's own arguments, without the program name and without
/// looking at the environment (as `inspect` reads another grace's command
/// line).
pub fn parse(args: impl IntoIterator<Item = Vec<u8>>) -> Result<Invocation, UsageError> {
    parse_with(Personality::Grace, args, &[]).map(|parsed| parsed.invocation)
}

/// Parses the arguments (without the program name) of `personality` over
/// the environment `env`.
pub fn parse_with(
    personality: Personality,
    args: impl IntoIterator<Item = Vec<u8>>,
    env: &[(Vec<u8>, Vec<u8>)],
) -> Result<Parsed, UsageError> {
    let mut args: Vec<Vec<u8>> = args.into_iter().collect();
    if personality == Personality::Grace && is_inspect(&args) {
        args.remove(0);
        return Ok(Parsed {
            invocation: parse_inspect(args)?,
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    // The log format asked for, so that an error is written the way the
    // rest would have been: the command line's, else the environment's.
    let env_format = lookup(env, "GRACE_LOG_FORMAT")
        .and_then(|value| str::from_utf8(value).ok())
        .and_then(|value| value.parse::<Format>().ok());
    let grace_env = grace_environment(env, &mut warnings);
    let tool_env = tool_environment(personality, env, &mut warnings);
    let mut command_line = Settings::default();
    let parsed = match personality {
        Personality::Grace => parse_grace(args, &mut command_line),
        Personality::Tini => parse_tini(args, &mut command_line),
        Personality::DumbInit => parse_dumb_init(args, &mut command_line),
    };
    let format = command_line.log_format.or(env_format).unwrap_or_default();
    let with_format = |mut error: UsageError| {
        error.log_format = format;
        error
    };
    let (command, rest) = match parsed {
        Ok(Parsed2::Command(command, rest)) => (command, rest),
        Ok(Parsed2::Mode(invocation)) => {
            return Ok(Parsed {
                invocation,
                warnings,
            });
        }
        Err(error) => return Err(with_format(error)),
    };
    let grace_env = grace_env.map_err(with_format)?;
    let settings = command_line
        .over(grace_env)
        .over(tool_env)
        .over(Settings::defaults(personality));
    Ok(Parsed {
        invocation: Invocation::Run(settings.config(personality, command, rest)),
        warnings,
    })
}

/// What a command line parser found: a command to run, or a mode such as
/// help.
enum Parsed2 {
    Command(Vec<u8>, Vec<Vec<u8>>),
    Mode(Invocation),
}

fn find_option(short: Option<char>, long: Option<&str>) -> Option<&'static OptionDoc> {
    OPTIONS.iter().find(|option| match (short, long) {
        (Some(short), _) => option.short == Some(short),
        (None, Some(long)) => option.long == long,
        (None, None) => false,
    })
}

// ---------------------------------------------------------------------------
// Splitting the command line into options and values
// ---------------------------------------------------------------------------

/// One item of a command line: `-x`, `--name`, or a word that is not an
/// option (after `--`, anything).
#[derive(Debug, PartialEq, Eq)]
enum Arg<'a> {
    Short(char),
    Long(&'a str),
    Value(Vec<u8>),
}

use Arg::{Long, Short, Value};

impl Arg<'_> {
    /// The error for an item the parser has no use for.
    fn unexpected(self) -> UsageError {
        match self {
            Short(short) => UsageError::new(format!("invalid option '-{short}'")),
            Long(long) => UsageError::new(format!("invalid option '--{long}'")),
            Value(value) => UsageError::new(format!("unexpected argument {}", quoted(&value))),
        }
    }
}

/// A word for a message, as Rust's debug format shows a string: in double
/// quotes, escaped, and bytes that are not UTF-8 as `\xFF`.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for letter in chunk.valid().chars() {
            match letter {
                '\'' => out.push(letter),
                _ => out.extend(letter.escape_debug()),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out.push('"');
    out
}

/// The command line as options and values, for the parsers below. Options
/// come first; a value ends them, and the parser takes the rest untouched
/// with `raw_args`.
struct Tokens {
    /// The arguments not yet looked at, last first (so that taking one is a
    /// pop).
    rest: Vec<Vec<u8>>,
    /// `-abc` while its letters are being read, and where the next one is.
    shorts: Option<(Vec<u8>, usize)>,
    /// The `value` of `--name=value`: the option must take it, or it is an
    /// error at the next item.
    attached: Option<Vec<u8>>,
    /// The last option as typed (`-p`, `--name`), for messages; `Long`
    /// borrows its name from here.
    last: String,
    /// After `--`: every word is a value.
    only_values: bool,
}

impl Tokens {
    fn new(mut args: Vec<Vec<u8>>) -> Self {
        args.reverse();
        Tokens {
            rest: args,
            shorts: None,
            attached: None,
            last: String::new(),
            only_values: false,
        }
    }

    fn next(&mut self) -> Result<Option<Arg<'_>>, UsageError> {
        if let Some(value) = self.attached.take() {
            return Err(self.unwanted_value(&value));
        }
        if let Some((word, at)) = self.shorts.take()
            && at < word.len()
        {
            // `-s=x`: a value for a flag. (A lone `-=` is option `=`.)
            if word[at] == b'=' && at > 1 {
                return Err(self.unwanted_value(&word[at + 1..]));
            }
            let (letter, len) = first_char(&word[at..]);
            self.shorts = Some((word, at + len));
            self.last = format!("-{letter}");
            return Ok(Some(Short(letter)));
        }
        let Some(word) = self.rest.pop() else {
            return Ok(None);
        };
        if self.only_values {
            return Ok(Some(Value(word)));
        }
        if word == b"--" {
            self.only_values = true;
            return self.next();
        }
        if let Some(name) = word.strip_prefix(b"--") {
            let name = match name.iter().position(|&b| b == b'=') {
                Some(equals) => {
                    self.attached = Some(name[equals + 1..].to_vec());
                    &name[..equals]
                }
                None => name,
            };
            self.last = format!("--{}", String::from_utf8_lossy(name));
            return Ok(Some(Long(&self.last[2..])));
        }
        if word.len() > 1 && word[0] == b'-' {
            self.shorts = Some((word, 1));
            return self.next();
        }
        Ok(Some(Value(word)))
    }

    /// The value of the option just returned: the rest of `-pVALUE` (or
    /// `-p=VALUE`), `--name=VALUE`'s, or else the next argument whatever
    /// it looks like.
    fn value(&mut self) -> Result<Vec<u8>, UsageError> {
        if let Some(value) = self.attached.take() {
            return Ok(value);
        }
        if let Some((mut word, mut at)) = self.shorts.take()
            && at < word.len()
        {
            if word[at] == b'=' {
                at += 1;
            }
            word.drain(..at);
            return Ok(word);
        }
        self.rest
            .pop()
            .ok_or_else(|| UsageError::new(format!("missing argument for option '{}'", self.last)))
    }

    /// Everything after the value just returned, untouched.
    fn raw_args(&mut self) -> Vec<Vec<u8>> {
        let mut rest = mem::take(&mut self.rest);
        rest.reverse();
        rest
    }

    fn unwanted_value(&self, value: &[u8]) -> UsageError {
        UsageError::new(format!(
            "unexpected argument for option '{}': {}",
            self.last,
            quoted(value)
        ))
    }
}

/// The first character of a short option cluster's rest and its length in
/// bytes; a byte that does not start valid UTF-8 is U+FFFD, so that it can
/// be refused as an option like any other.
fn first_char(bytes: &[u8]) -> (char, usize) {
    // No character is longer than 4 bytes.
    let head = &bytes[..bytes.len().min(4)];
    let valid = match str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(letter) => (letter, letter.len_utf8()),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

fn parse_grace(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<Parsed2, UsageError> {
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        let option = match &arg {
            Short(short) => find_option(Some(*short), None),
            Long(long) => find_option(None, Some(long)),
            Value(_) => None,
        };
        if let Value(command) = arg {
            return Ok(Parsed2::Command(command, parser.raw_args()));
        }
        let Some(option) = option else {
            return Err(arg.unexpected());
        };
        match option.key {
            Key::Help => return Ok(Parsed2::Mode(Invocation::Help)),
            Key::Version => return Ok(Parsed2::Mode(Invocation::Version)),
            key if option.value.is_some() => {
                let value = parser.value()?;
                settings
                    .set(key, value, false)
                    .map_err(|error| UsageError::new(format!("--{}: {error}", option.long)))?;
            }
            key => settings.flag(key),
        }
    }
    Err(UsageError::new("no command given"))
}

/// tini 0.19's command line: short options only, `--version` only as the
/// sole argument. Unlike tini, parsing stops at the first word that is not
/// an option, so the command's own flags are never taken for tini's.
fn parse_tini(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<Parsed2, UsageError> {
    if args.len() == 1 && args[0] == b"--version" {
        return Ok(Parsed2::Mode(Invocation::Version));
    }
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') => return Ok(Parsed2::Mode(Invocation::Help)),
            Short('l') => return Ok(Parsed2::Mode(Invocation::License)),
            Short('s') => settings.subreaper = Some(true),
            Short('v') => settings.flag(Key::Verbose),
            Short('w') => settings.warn_on_reap = Some(true),
            Short('g') => settings.forward_to = Some(ForwardTo::Group),
            Short(letter @ ('p' | 'e')) => {
                let key = if letter == 'p' {
                    Key::Pdeathsig
                } else {
                    Key::SuccessExit
                };
                let value = parser.value()?;
                settings
                    .set(key, value, false)
                    .map_err(|error| UsageError::new(format!("-{letter}: {error}")))?;
            }
            Value(command) => return Ok(Parsed2::Command(command, parser.raw_args())),
            _ => return Err(arg.unexpected()),
        }
    }
    Err(UsageError::new("no command given"))
}

/// dumb-init 1.2's command line (getopt_long `+hvVcr:`).
fn parse_dumb_init(args: Vec<Vec<u8>>, settings: &mut Settings) -> Result<Parsed2, UsageError> {
    let mut parser = Tokens::new(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed2::Mode(Invocation::Help)),
            Short('V') | Long("version") => return Ok(Parsed2::Mode(Invocation::Version)),
            Short('v') | Long("verbose") => settings.verbose = Some(2),
            Short('c') | Long("single-child") => {
                settings.new_session = Some(false);
                settings.forward_to = Some(ForwardTo::Child);
            }
            Short('r') | Long("rewrite") => {
                let value = parser.value()?;
                let text = String::from_utf8_lossy(&value);
                let rule = parse_dumb_init_rewrite(&text)
                    .map_err(|error| UsageError::new(format!("--rewrite: {error}")))?;
                extend_or_replace(&mut settings.rewrites, vec![rule], false);
            }
            Value(command) => return Ok(Parsed2::Command(command, parser.raw_args())),
            _ => return Err(arg.unexpected()),
        }
    }
    Err(UsageError::new("no command given"))
}

fn lookup<'a>(env: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    env.iter()
        .rev()
        .find(|(key, _)| key == name.as_bytes())
        .map(|(_, value)| value.as_slice())
}

/// The GRACE_ variables. An empty one counts as unset; one that names no
/// option is a warning (a typo would otherwise go unnoticed).
fn grace_environment(
    env: &[(Vec<u8>, Vec<u8>)],
    warnings: &mut Vec<String>,
) -> Result<Settings, UsageError> {
    let mut settings = Settings::default();
    for option in OPTIONS {
        let Some(name) = option.env_name() else {
            continue;
        };
        let Some(value) = lookup(env, &name) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        settings
            .set(option.key, value.to_vec(), true)
            .map_err(|error| UsageError::new(format!("{name}: {error}")))?;
    }
    for (key, _) in env {
        let Ok(key) = str::from_utf8(key) else {
            continue;
        };
        if key.starts_with(ENV_PREFIX)
            && !OPTIONS
                .iter()
                .any(|option| option.env_name().as_deref() == Some(key))
        {
            warnings.push(format!(
                "ignoring {key}: no such option (grace --help lists them)"
            ));
        }
    }
    Ok(settings)
}

/// The personality's own variables, with the original tool's meanings.
fn tool_environment(
    personality: Personality,
    env: &[(Vec<u8>, Vec<u8>)],
    warnings: &mut Vec<String>,
) -> Settings {
    let mut settings = Settings::default();
    match personality {
        Personality::Grace => {}
        Personality::Tini => {
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
                    // tini's levels: 0 fatal only, 1 warnings (default),
                    // 2 info, 3 debug, 4 trace.
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
        }
        Personality::DumbInit => {
            if lookup(env, "DUMB_INIT_DEBUG").is_some_and(|v| v == b"1") {
                settings.verbose = Some(2);
            }
            if lookup(env, "DUMB_INIT_SETSID").is_some_and(|v| v == b"0") {
                settings.new_session = Some(false);
                settings.forward_to = Some(ForwardTo::Child);
            }
        }
    }
    settings
}

/// `inspect`'s arguments, after the word `inspect`.
fn parse_inspect(args: Vec<Vec<u8>>) -> Result<Invocation, UsageError> {
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
                    .map_err(|error| UsageError::new(format!("--signal: {error}")))?;
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

// ---------------------------------------------------------------------------
// Generated documentation: --help, the man page, the environment table
// ---------------------------------------------------------------------------

const WIDTH: usize = 80;
const LABEL_WIDTH: usize = 28;

/// Greedy word wrap: lines of at most `width` characters after `indent`.
fn wrap(text: &str, indent: usize, first_indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = first_indent;
    let mut first_word = true;
    for word in text.split_whitespace() {
        if !first_word && line_len + 1 + word.len() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_len = indent;
            first_word = true;
        }
        if !first_word {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
        first_word = false;
    }
    out
}

fn help_entry(out: &mut String, label: &str, help: &str) {
    let label = format!("  {label}");
    out.push_str(&label);
    if label.len() + 2 > LABEL_WIDTH {
        out.push('\n');
        out.push_str(&" ".repeat(LABEL_WIDTH));
    } else {
        out.push_str(&" ".repeat(LABEL_WIDTH - label.len()));
    }
    out.push_str(&wrap(help, LABEL_WIDTH, LABEL_WIDTH, WIDTH));
    out.push('\n');
}

fn paragraph(out: &mut String, text: &str) {
    out.push_str(&wrap(text, 0, 0, WIDTH));
    out.push('\n');
}

/// `--help` for `personality`.
pub fn help(personality: Personality) -> String {
    let mut out = String::new();
    match personality {
        Personality::Grace => {
            paragraph(&mut out, &format!("grace: {SUMMARY}."));
            out.push('\n');
            out.push_str(USAGE);
            out.push_str("\n\n");
            paragraph(&mut out, DESCRIPTION);
            let mut section = "";
            for option in OPTIONS {
                if option.section != section {
                    section = option.section;
                    out.push('\n');
                    paragraph(&mut out, &format!("{section}:"));
                }
                help_entry(&mut out, &option.label(), option.help);
            }
            out.push('\n');
            for line in VALUES {
                paragraph(&mut out, line);
            }
            out.push('\n');
            paragraph(&mut out, ENVIRONMENT[0]);
            out.push('\n');
            paragraph(&mut out, PERSONALITIES);
        }
        Personality::Tini | Personality::DumbInit => {
            let (name, options, environment) = foreign(personality);
            paragraph(
                &mut out,
                &format!("grace ({SUMMARY}), installed as {name}: it reads {name}'s command line."),
            );
            out.push('\n');
            out.push_str(personality.usage());
            out.push_str("\n\nOptions:\n");
            for option in options {
                help_entry(&mut out, option.label, option.help);
            }
            out.push_str("\nEnvironment:\n");
            for variable in environment {
                help_entry(&mut out, variable.label, variable.help);
            }
            out.push('\n');
            paragraph(
                &mut out,
                "grace's own GRACE_ variables apply too (GRACE_GRACE_PERIOD=29s); the \
                 command line wins. Unlike the original, a stop signal reaches every process, \
                 which gets time to finish before the deadline (default 9s).",
            );
        }
    }
    out.push_str("\nExit status:\n");
    for (code, meaning) in EXIT_STATUS {
        match (personality, *code) {
            (Personality::Grace, _) => help_entry(&mut out, code, meaning),
            (_, "2") => help_entry(&mut out, "1", "bad option, bad value, no command"),
            _ => help_entry(&mut out, code, meaning),
        }
    }
    out
}

fn foreign(
    personality: Personality,
) -> (&'static str, &'static [ForeignDoc], &'static [ForeignDoc]) {
    match personality {
        Personality::DumbInit => ("dumb-init", DUMB_INIT_OPTIONS, DUMB_INIT_ENVIRONMENT),
        _ => ("tini", TINI_OPTIONS, TINI_ENVIRONMENT),
    }
}

#[cfg(test)]
/// Text for troff: backslashes and hyphens escaped, no line starting with
/// a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
fn roff_label(label: &str) -> String {
    // Option names bold, value names italic.
    label
        .split(' ')
        .map(|word| {
            if word.starts_with('-') || word.chars().all(|c| c.is_ascii_digit() || c == '+') {
                format!("\\fB{}\\fR", roff(word))
            } else if word.chars().any(|c| c.is_ascii_uppercase()) && !word.contains('_') {
                format!("\\fI{}\\fR", roff(word))
            } else {
                format!("\\fB{}\\fR", roff(word))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
fn roff_paragraph(out: &mut String, text: &str) {
    out.push_str(".PP\n");
    out.push_str(&roff(text));
    out.push('\n');
}

#[cfg(test)]
fn roff_entry(out: &mut String, label: &str, text: &str) {
    out.push_str(".TP\n");
    out.push_str(&roff_label(label));
    out.push('\n');
    out.push_str(&roff(text));
    out.push('\n');
}

#[cfg(test)]
/// grace(1), in troff, from the same tables as `--help`.
pub fn man_page() -> String {
    let mut out = String::new();
    out.push_str(
        ".\\\" Generated from src/cli.rs; do not edit. Regenerate with:\n\
         .\\\" UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'\n",
    );
    out.push_str(".TH GRACE 1 \"\" \"grace\" \"User Commands\"\n");
    out.push_str(".SH NAME\n");
    out.push_str(&format!("grace \\- {}\n", roff(SUMMARY)));
    out.push_str(".SH SYNOPSIS\n");
    out.push_str(
        ".B grace\n[\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARG\\fR]...\n.br\n\
         .B grace inspect\n[\\fB\\-\\-json\\fR] [\\fB\\-\\-signal\\fR \\fISIGNAL\\fR] \
         [\\fIPID\\fR]\n",
    );
    out.push_str(".SH DESCRIPTION\n");
    out.push_str(&roff(DESCRIPTION));
    out.push('\n');
    roff_paragraph(
        &mut out,
        "Option parsing stops at -- or at the first word that is not an option: the command \
         and its arguments are passed on untouched.",
    );
    out.push_str(".SH OPTIONS\n");
    let mut section = "";
    for option in OPTIONS {
        if option.section != section {
            section = option.section;
            out.push_str(&format!(".SS \"{}\"\n", roff(section)));
        }
        let mut text = option.help.to_string();
        if let Some(name) = option.env_name() {
            text.push_str(&format!(". Environment: {name}."));
        }
        roff_entry(&mut out, &option.label(), &text);
    }
    for line in VALUES {
        roff_paragraph(&mut out, line);
    }
    out.push_str(".SH ENVIRONMENT\n");
    for text in ENVIRONMENT {
        roff_paragraph(&mut out, text);
    }
    for option in OPTIONS {
        if let (Some(name), Some(example)) = (option.env_name(), option.env_example) {
            roff_entry(
                &mut out,
                &name,
                &format!("as --{} (example: {name}={example})", option.long),
            );
        }
    }
    out.push_str(".SH PERSONALITIES\n");
    out.push_str(&roff(PERSONALITIES));
    out.push('\n');
    for personality in [Personality::Tini, Personality::DumbInit] {
        let (name, options, environment) = foreign(personality);
        let title = match personality {
            Personality::Tini => "tini, tini-static, docker-init",
            _ => name,
        };
        out.push_str(&format!(".SS \"{title}\"\n"));
        for option in options {
            roff_entry(&mut out, option.label, option.help);
        }
        for variable in environment {
            roff_entry(&mut out, variable.label, variable.help);
        }
    }
    out.push_str(".SH \"INSPECT\"\n.nf\n");
    for line in INSPECT_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        roff_entry(&mut out, code, meaning);
    }
    out.push_str(".SH FILES\n");
    roff_entry(
        &mut out,
        "/etc/passwd, /etc/group",
        "read for --user (no NSS: names come from these files only)",
    );
    out.push_str(".SH \"SEE ALSO\"\n");
    out.push_str(
        "docs/configuration.md, docs/compat.md, docs/logging.md and docs/recipes.md in \
         grace's source.\n",
    );
    out
}

#[cfg(test)]
/// The Markdown table of GRACE_ variables in docs/configuration.md.
pub fn env_table_markdown() -> String {
    let mut out = String::from("| variable | same as | example |\n| --- | --- | --- |\n");
    for option in OPTIONS {
        if let (Some(name), Some(example)) = (option.env_name(), option.env_example) {
            let mut flag = format!("--{}", option.long);
            if let Some(value) = option.value {
                flag.push(' ');
                flag.push_str(value);
            }
            out.push_str(&format!(
                "| `{name}` | `{}` | `{name}={example}` |\n",
                flag.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(word: &str) -> Vec<u8> {
        word.as_bytes().to_vec()
    }

    fn os_all(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|word| os(word)).collect()
    }

    fn run(words: &[&str]) -> Result<Invocation, UsageError> {
        parse(os_all(words))
    }

    fn config(words: &[&str]) -> Config {
        match run(words) {
            Ok(Invocation::Run(config)) => config,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (os(k), os(v))).collect()
    }

    fn as_personality(
        personality: Personality,
        words: &[&str],
        environment: &[(&str, &str)],
    ) -> Result<Parsed, UsageError> {
        parse_with(personality, os_all(words), &env(environment))
    }

    fn config_as(personality: Personality, words: &[&str], environment: &[(&str, &str)]) -> Config {
        match as_personality(personality, words, environment) {
            Ok(Parsed {
                invocation: Invocation::Run(config),
                ..
            }) => config,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    #[test]
    fn command_and_its_flags_pass_through_untouched() {
        let c = config(&["-v", "--", "ls", "-v", "--grace", "3", "--"]);
        assert_eq!(c.command, b"ls");
        assert_eq!(c.args, os_all(&["-v", "--grace", "3", "--"]));
        assert_eq!(c.verbose, 1);

        let c = config(&["ls", "-s", "--help"]);
        assert_eq!(c.command, b"ls");
        assert_eq!(c.args, os_all(&["-s", "--help"]));
        assert!(!c.subreaper);
    }

    #[test]
    fn non_utf8_arguments_survive() {
        let raw = vec![b'a', 0xff, b'b'];
        let parsed = parse([os("--"), b"echo".to_vec(), raw.clone()]);
        match parsed {
            Ok(Invocation::Run(c)) => assert_eq!(c.args, [raw]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_are_attached_or_the_next_word_whatever_it_looks_like() {
        for words in [
            &["-pTERM", "x"][..],
            &["-p=TERM", "x"],
            &["-p", "TERM", "x"],
            &["-sp", "TERM", "x"],
            &["-spTERM", "x"],
            &["--pdeathsig=TERM", "x"],
            &["--pdeathsig", "TERM", "x"],
        ] {
            let c = config(words);
            assert_eq!(c.parent_death_signal, Some(signals::SIGTERM), "{words:?}");
            assert_eq!(c.command, b"x", "{words:?}");
        }
        assert!(config(&["-sp", "TERM", "x"]).subreaper);
        assert_eq!(
            config(&["--pre-stop", "-v", "cmd"]).pre_stop,
            Some(os("-v"))
        );
        assert_eq!(config(&["--pre-stop=", "cmd"]).pre_stop, Some(os("")));
        assert_eq!(config(&["-vvv", "-qv", "cmd"]).verbose, 4);
        // A lone - is a word, not an option; after --, so is anything.
        let c = config(&["-v", "-", "-v"]);
        assert_eq!(
            (c.command, c.args, c.verbose),
            (os("-"), os_all(&["-v"]), 1)
        );
        let c = config(&["--", "-v", "--"]);
        assert_eq!(
            (c.command, c.args, c.verbose),
            (os("-v"), os_all(&["--"]), 0)
        );
    }

    #[test]
    fn usage_errors_name_the_option_or_word() {
        let message = |words: &[&str]| run(words).unwrap_err().message;
        assert_eq!(message(&["-x", "cmd"]), "invalid option '-x'");
        assert_eq!(message(&["-vx", "cmd"]), "invalid option '-x'");
        assert_eq!(message(&["--bogus=1", "cmd"]), "invalid option '--bogus'");
        assert_eq!(
            message(&["--grace-period"]),
            "missing argument for option '--grace-period'"
        );
        assert_eq!(message(&["-vp"]), "missing argument for option '-p'");
        assert_eq!(
            message(&["--subreaper=yes", "cmd"]),
            "unexpected argument for option '--subreaper': \"yes\""
        );
        assert_eq!(
            message(&["-s=1", "cmd"]),
            "unexpected argument for option '-s': \"1\""
        );
        assert_eq!(message(&["inspect", "1", "2"]), "unexpected argument \"2\"");
        let error = parse([os("inspect"), os("1"), vec![b'a', 0xff, b'"']]).unwrap_err();
        assert_eq!(error.message, "unexpected argument \"a\\xFF\\\"\"");
        let error = parse([vec![b'-', 0xff], os("cmd")]).unwrap_err();
        assert_eq!(error.message, "invalid option '-\u{FFFD}'");
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
        assert_eq!(c.stop_order, StopOrder::All);
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
    fn parses_rewrites() {
        let rule = parse_rewrite("SIGTERM:3").unwrap();
        assert_eq!(
            (rule.from.number(), rule.to.map(Signal::number)),
            (15, Some(3))
        );
        assert_eq!(parse_rewrite("RTMIN+1:0").unwrap().to, None);
        for bad in [
            "",
            "TERM",
            "TERM:",
            ":QUIT",
            "KILL:TERM",
            "CHLD:TERM",
            "STOP:0",
            "TERM:NOPE",
            "TERM:QUIT:INT",
        ] {
            assert!(parse_rewrite(bad).is_err(), "{bad:?}");
        }
        let rule = parse_dumb_init_rewrite("15:3").unwrap();
        assert_eq!(
            (rule.from.number(), rule.to.map(Signal::number)),
            (15, Some(3))
        );
        assert_eq!(parse_dumb_init_rewrite("2:0").unwrap().to, None);
        for bad in [
            "0:1",
            "32:1",
            "1:32",
            "TERM:QUIT",
            "15",
            "15:",
            "-1:2",
            "15:+3",
            " 15:3",
        ] {
            assert!(parse_dumb_init_rewrite(bad).is_err(), "{bad:?}");
        }
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
        assert_eq!(config(&["--", "inspect"]).command, b"inspect");
        assert_eq!(config(&["-v", "inspect", "--json"]).args, [b"--json"]);
        assert_eq!(config(&["inspectx"]).command, b"inspectx");
        // And in a personality, always.
        assert_eq!(
            config_as(Personality::Tini, &["inspect"], &[]).command,
            b"inspect"
        );

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
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["inspect", "-x"])).0,
            INSPECT_USAGE
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["--", "inspect"])).0,
            USAGE
        );
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
            &["--rewrite", "TERM", "cmd"],
            &["--user", "", "cmd"],
            &["--user", "a:b:c", "cmd"],
            &["--log-format", "xml", "cmd"],
            &["--no-new-privs=1", "cmd"],
        ] {
            assert!(run(words).is_err(), "{words:?} must be refused");
        }
        let message = run(&["-p", "NOPE", "x"]).unwrap_err().to_string();
        assert!(
            message.contains("--pdeathsig") && message.contains("RTMIN+N"),
            "{message}"
        );
    }

    #[test]
    fn a_usage_error_remembers_the_log_format_asked_for() {
        let error = as_personality(
            Personality::Grace,
            &["--log-format", "json", "--bogus"],
            &[],
        )
        .unwrap_err();
        assert_eq!(error.log_format, Format::Json);
        let error = as_personality(
            Personality::Grace,
            &["--bogus"],
            &[("GRACE_LOG_FORMAT", "json")],
        )
        .unwrap_err();
        assert_eq!(error.log_format, Format::Json);
        let error = as_personality(
            Personality::Grace,
            &["cmd"],
            &[("GRACE_LOG_FORMAT", "json"), ("GRACE_GRACE_PERIOD", "x")],
        )
        .unwrap_err();
        assert_eq!(error.log_format, Format::Json);
        assert!(error.message.starts_with("GRACE_GRACE_PERIOD: "), "{error}");
    }

    /// An example command line value for every option that takes one, and
    /// the same through its variable: both must give the same Config.
    #[test]
    fn every_option_has_a_variable_that_sets_it_the_same_way() {
        for option in OPTIONS {
            let Some(name) = option.env_name() else {
                assert!(matches!(option.key, Key::Help | Key::Version));
                continue;
            };
            let example = option.env_example.unwrap_or_default();
            let mut words: Vec<String> = Vec::new();
            match option.value {
                Some(_) => {
                    // A list in a variable is repeated options on the
                    // command line.
                    if matches!(option.key, Key::Rewrite | Key::SuccessExit) {
                        for item in example.split(',') {
                            words.push(format!("--{}={item}", option.long));
                        }
                    } else {
                        words.push(format!("--{}={example}", option.long));
                    }
                }
                None if option.key == Key::Verbose => {
                    let count: usize = example.parse().unwrap();
                    words.extend(std::iter::repeat_n("-v".to_string(), count));
                }
                None => words.push(format!("--{}", option.long)),
            }
            words.push("cmd".into());
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let from_cli = config_as(Personality::Grace, &words, &[]);
            let from_env = config_as(Personality::Grace, &["cmd"], &[(&name, example)]);
            assert_eq!(from_cli, from_env, "{name}");
            assert_ne!(from_env, config(&["cmd"]), "{name} changes nothing");
        }
    }

    #[test]
    fn the_command_line_wins_over_the_environment() {
        let c = config_as(
            Personality::Grace,
            &["--grace-period", "3s", "-e", "4", "cmd"],
            &[
                ("GRACE_GRACE_PERIOD", "30s"),
                ("GRACE_STOP_DELAY", "1s"),
                ("GRACE_SUCCESS_EXIT", "1,2"),
            ],
        );
        assert_eq!(c.grace_period, Duration::from_secs(3));
        assert_eq!(c.stop_delay, Duration::from_secs(1));
        assert_eq!(c.success_exits, [4]);

        let c = config_as(
            Personality::Grace,
            &["cmd"],
            &[
                ("GRACE_SUBREAPER", "no"),
                ("GRACE_QUIET", "TRUE"),
                ("GRACE_PRE_STOP", ""),
            ],
        );
        assert!(!c.subreaper && c.quiet && c.pre_stop.is_none());
    }

    #[test]
    fn bad_or_unknown_variables_are_reported() {
        for (name, value) in [
            ("GRACE_SUBREAPER", "maybe"),
            ("GRACE_VERBOSE", "-1"),
            ("GRACE_SUCCESS_EXIT", "1,,2"),
            ("GRACE_REWRITE", "TERM"),
            ("GRACE_STOP_ON", "TERM;INT"),
            ("GRACE_USER", "a:b:c"),
        ] {
            let result = as_personality(Personality::Grace, &["cmd"], &[(name, value)]);
            let error = result.unwrap_err();
            assert!(error.message.starts_with(name), "{error}");
        }
        let parsed =
            as_personality(Personality::Grace, &["cmd"], &[("GRACE_GRACEPERIOD", "1s")]).unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("GRACE_GRACEPERIOD"));
    }

    #[test]
    fn personalities_are_chosen_by_program_name() {
        for (program, personality) in [
            ("grace", Personality::Grace),
            ("/usr/bin/grace", Personality::Grace),
            ("tini", Personality::Tini),
            ("/sbin/tini-static", Personality::Tini),
            ("/sbin/docker-init", Personality::Tini),
            ("/usr/bin/dumb-init", Personality::DumbInit),
            ("dumb-init.old", Personality::Grace),
            ("/run/podman-init", Personality::Grace),
            ("", Personality::Grace),
        ] {
            assert_eq!(
                Personality::from_program(program.as_bytes()),
                personality,
                "{program}"
            );
        }
    }

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

        for (words, expected) in [
            (&["--version"][..], Invocation::Version),
            (&["-h"], Invocation::Help),
            (&["-l"], Invocation::License),
        ] {
            let parsed = as_personality(Personality::Tini, words, &[]).unwrap();
            assert_eq!(parsed.invocation, expected);
        }
        for words in [
            &[][..],
            &["--"],
            &["--version", "cmd"],
            &["--help", "cmd"],
            &["-x", "cmd"],
            &["-p", "NOPE", "cmd"],
            &["-e", "256", "cmd"],
            &["-c", "cmd"],
        ] {
            assert!(
                as_personality(Personality::Tini, words, &[]).is_err(),
                "{words:?}"
            );
        }
    }

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

        for (words, expected) in [
            (&["--version"][..], Invocation::Version),
            (&["-V", "cmd"], Invocation::Version),
            (&["--help"], Invocation::Help),
        ] {
            let parsed = as_personality(Personality::DumbInit, words, &[]).unwrap();
            assert_eq!(parsed.invocation, expected);
        }
        for words in [
            &[][..],
            &["-c"],
            &["-r", "15", "cmd"],
            &["-r", "32:1", "cmd"],
            &["--rewrite=TERM:QUIT", "cmd"],
            &["--bogus", "cmd"],
            &["-s", "cmd"],
        ] {
            assert!(
                as_personality(Personality::DumbInit, words, &[]).is_err(),
                "{words:?}"
            );
        }
        assert_eq!(Personality::DumbInit.usage_exit_code(), 1);
        assert_eq!(Personality::Tini.usage_exit_code(), 1);
        assert_eq!(Personality::Grace.usage_exit_code(), 2);
    }

    #[test]
    fn help_lists_every_option_and_fits_80_columns() {
        let text = help(Personality::Grace);
        for option in OPTIONS {
            assert!(
                text.contains(&format!("--{}", option.long)),
                "{}",
                option.long
            );
        }
        for personality in [Personality::Grace, Personality::Tini, Personality::DumbInit] {
            for line in help(personality).lines() {
                assert!(line.chars().count() <= WIDTH, "{line:?}");
            }
        }
        assert!(help(Personality::Tini).contains("TINI_KILL_PROCESS_GROUP"));
        assert!(help(Personality::DumbInit).contains("--single-child"));
    }

    /// The generated files must match the source. Regenerate them with
    /// `UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'`.
    #[test]
    fn generated_docs_match_the_source() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
        let man_path = root.join("man/grace.1");
        let man = man_page();
        if update {
            std::fs::create_dir_all(root.join("man")).unwrap();
            std::fs::write(&man_path, &man).unwrap();
        }
        let on_disk = std::fs::read_to_string(&man_path).unwrap_or_default();
        assert!(
            on_disk == man,
            "man/grace.1 differs from src/cli.rs: UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'"
        );

        let config_path = root.join("docs/configuration.md");
        let (start, end) = ("<!-- env-table:start -->\n", "<!-- env-table:end -->");
        let doc = std::fs::read_to_string(&config_path).unwrap_or_default();
        let table = env_table_markdown();
        let current = doc
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(inside, _)| inside.to_string());
        if update && current.as_deref() != Some(&table) {
            let (before, rest) = doc.split_once(start).expect("env-table markers");
            let (_, after) = rest.split_once(end).expect("env-table end marker");
            std::fs::write(&config_path, format!("{before}{start}{table}{end}{after}")).unwrap();
        } else {
            assert_eq!(
                current.as_deref(),
                Some(table.as_str()),
                "docs/configuration.md's table differs: UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'"
            );
        }
    }

    #[test]
    fn man_page_is_valid_roff_text() {
        let man = man_page();
        for line in man.lines() {
            assert!(
                !line.starts_with('\'') && !line.starts_with("\\-"),
                "{line:?}"
            );
            if let Some(request) = line.strip_prefix('.') {
                let name: String = request.chars().take_while(|c| !c.is_whitespace()).collect();
                assert!(
                    ["\\\"", "TH", "SH", "SS", "PP", "TP", "B", "br", "nf", "fi"]
                        .contains(&name.as_str()),
                    "unknown request {line:?}"
                );
            }
        }
        for option in OPTIONS {
            assert!(man.contains(&roff(option.long)), "{}", option.long);
        }
    }
}
