//! The option table: each of grace's options declared once, with its
//! `Config` field, its default, how its value is parsed, its documentation
//! and its environment variable. `declare.rs` derives the rest from it
//! (`Config`, `Settings`, `Key`, `OPTIONS`); adding an option is adding an
//! entry here.

use core::time::Duration;

use crate::base::prelude::*;

use super::Personality;
use super::values::{self, ForwardTo, Input, Rewrite, StopOrder};
use crate::base::log::Format;
use crate::base::signals::{self, Signal, SignalSet};
use crate::process::user::UserSpec;

/// Under `docker stop`'s default 10 s, grace's own deadline must come first
/// so that grace, not the runtime, does the final kill and names the
/// stragglers; one second is left for that.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(9);

/// The prefix of grace's own environment variables.
pub const ENV_PREFIX: &str = "GRACE_";

/// The variable grace sets for each service, naming it: inherited by
/// everything the service starts, it tells whose a stray is. Set by
/// grace, never read as an option.
pub const SERVICE_VARIABLE: &str = "GRACE_SERVICE";

const STOPPING: &str = "Stopping (on a stop signal, or when the command exits while other \
processes remain)";
const SERVICES: &str = "Services";
const SIGNALS: &str = "Signals";
const PRIVILEGES: &str = "Privileges";
const LOGGING: &str = "Logging";
const OTHER: &str = "Other options";

declare_options! {
    /// What grace runs with: every layer applied, every default filled in.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Config {
        /// Whose command line was read.
        pub personality: Personality,
        pub command: Vec<u8>,
        pub args: Vec<Vec<u8>>,
        /// Whether a command was given: with a services file it may not be.
        pub has_command: bool,
    }

    pub config: Vec<u8> => ServicesFile {
        long: "config",
        value: "FILE",
        parse: bytes,
        section: SERVICES,
        help: "run the services FILE declares (TOML, docs/services.md): started in \
               dependency order, stopped in reverse; COMMAND, if given, starts once every \
               service is ready and is stopped first",
        env: "/etc/grace/services.toml",
    },

    /// Empty: every service of the file not `enabled = false`.
    pub services: Vec<String> = Vec::new() => Services {
        long: "services",
        value: "NAME[,NAME...]",
        parse: one(values::service_names),
        section: SERVICES,
        help: "run only these services of --config, and every service they start after, \
               enabled = false or not (default: every enabled service and what they start \
               after); an unknown NAME is an error",
        env: "web,worker",
    },

    pub stop_on: SignalSet = SignalSet::EMPTY.with(signals::SIGTERM).with(signals::SIGINT)
    => StopOn {
        long: "stop-on",
        value: "SIGNAL[,SIGNAL...]",
        parse: one(values::stop_on),
        section: STOPPING,
        help: "signals that start the stop (default TERM,INT; not KILL, STOP or CHLD, which \
               grace never acts on)",
        env: "TERM,INT,QUIT",
    },
    pub stop_signal: Signal = signals::SIGTERM => StopSignal {
        long: "stop-signal",
        value: "SIGNAL",
        parse: one(values::stop_signal),
        section: STOPPING,
        help: "what every other process gets (default TERM; not STOP or CHLD, which stop \
               nothing), followed by SIGCONT; the command itself gets the very signal grace \
               received",
        env: "INT",
    },
    pub stop_order: StopOrder = StopOrder::Auto => StopOrder {
        long: "stop-order",
        value: "auto|all|main-first",
        parse: one(values::stop_order),
        section: STOPPING,
        help: "auto (default): the command first, then each process once its parent and \
               the processes connected to it exited, or at half the grace period; all: \
               everyone at once; main-first: the command first and the rest once it exited \
               or at half the grace period (docs/stopping.md)",
        env: "main-first",
    },
    pub grace_period: Duration = DEFAULT_GRACE_PERIOD => GracePeriod {
        long: "grace-period",
        value: "DURATION",
        parse: one(values::parse_duration),
        section: STOPPING,
        help: "deadline after which remaining processes are SIGKILLed and named (default 9s)",
        env: "29s",
    },
    pub stop_delay: Duration = Duration::ZERO => StopDelay {
        long: "stop-delay",
        value: "DURATION",
        parse: one(values::parse_duration),
        section: STOPPING,
        help: "keep everything running this long before signalling (counts against the \
               grace period)",
        env: "5s",
    },
    pub pre_stop: Vec<u8> => PreStop {
        long: "pre-stop",
        value: "COMMAND",
        parse: bytes,
        section: STOPPING,
        help: "run COMMAND with /bin/sh -c and wait for it (at most half the grace period) \
               before signalling",
        env: "nginx -s quit",
    },
    pub forward_to: ForwardTo = ForwardTo::Child => ForwardTo {
        long: "forward-to",
        value: "child|group",
        parse: one(values::forward_to),
        section: SIGNALS,
        help: "send forwarded signals to the command alone (default) or to its whole \
               process group",
        env: "group",
    },
    /// In the order given, after the personality's own (see `Config::rewrite`).
    pub rewrites: Vec<Rewrite> = Vec::new() => Rewrite {
        long: "rewrite",
        value: "FROM:TO",
        parse: list(values::parse_rewrite),
        section: SIGNALS,
        help: "pass a received FROM on as TO, to the command and as the command's stop \
               signal; TO 0 drops FROM altogether (repeatable)",
        env: "TERM:QUIT,USR1:0",
    },
    pub user: UserSpec => User {
        short: 'u',
        long: "user",
        value: "USER[:GROUP]",
        parse: one(str::parse),
        section: PRIVILEGES,
        help: "run the command (and --pre-stop) as USER, a name from /etc/passwd or a \
               number, with its groups and HOME; grace itself stays root",
        env: "app:app",
    },
    pub no_new_privs: bool = false => NoNewPrivs {
        long: "no-new-privs",
        parse: flag,
        section: PRIVILEGES,
        help: "the command (and --pre-stop) can never gain privileges, not even through \
               setuid binaries",
        env: "1",
    },
    pub log_format: Format = Format::default() => LogFormat {
        long: "log-format",
        value: "text|json",
        parse: one(str::parse),
        section: LOGGING,
        help: "lines prefixed grace: (default), or one JSON object per line, the stop's \
               timeline included",
        env: "json",
    },
    pub verbose: u8 = 0 => Verbose {
        short: 'v',
        long: "verbose",
        parse: count,
        section: LOGGING,
        help: "log more (repeatable: the stop's timeline, then every signal and reaped \
               process)",
        env: "2",
    },
    pub quiet: bool = false => Quiet {
        short: 'q',
        long: "quiet",
        parse: flag,
        section: LOGGING,
        help: "log errors only",
        env: "1",
    },
    pub warn_on_reap: bool = false => WarnOnReap {
        short: 'w',
        long: "warn-on-reap",
        parse: flag,
        section: LOGGING,
        help: "warn about every process reaped other than the command (zombies)",
        env: "1",
    },
    pub subreaper: bool = false => Subreaper {
        short: 's',
        long: "subreaper",
        parse: flag,
        section: OTHER,
        help: "register as child subreaper (automatic when grace is not PID 1 of its PID \
               namespace)",
        env: "1",
    },
    pub parent_death_signal: Signal => Pdeathsig {
        short: 'p',
        long: "pdeathsig",
        value: "SIGNAL",
        parse: one(values::parse_signal),
        section: OTHER,
        help: "have the kernel send SIGNAL to grace when grace's parent dies",
        env: "KILL",
    },
    pub success_exits: Vec<u8> = Vec::new() => SuccessExit {
        short: 'e',
        long: "success-exit",
        value: "CODE",
        parse: list(values::parse_code),
        section: OTHER,
        help: "exit 0 when the command exits with CODE (repeatable)",
        env: "143,130",
    },
    /// None: the first usable of the places in `services::rundir`.
    pub run_dir: String => RunDir {
        long: "run-dir",
        value: "DIR",
        parse: one(values::parse_path),
        section: OTHER,
        help: "where grace publishes its services' state for grace status and makes their \
               notify sockets; default: the first of /run/grace, $XDG_RUNTIME_DIR/grace, \
               /tmp/grace-UID and /dev/shm/grace-UID that grace's user owns and nobody else \
               may write to",
        env: "/tmp/grace",
    },
    /// The command gets a session of its own (dumb-init's default).
    pub new_session: bool = false,
    /// SIGTSTP, SIGTTIN and SIGTTOU are passed on and grace suspends itself
    /// after them, as dumb-init does.
    pub job_control: bool = false,

    modes {
        Help {
            short: 'h',
            long: "help",
            section: OTHER,
            help: "show this help and exit",
        },
        Version {
            short: 'V',
            long: "version",
            section: OTHER,
            help: "show the version and exit",
        },
    }
}

/// One of grace's options, as parsed and as documented.
#[derive(Debug, Clone, Copy)]
pub struct OptionDoc {
    pub action: Action,
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

    /// `-p, --pdeathsig SIGNAL`.
    pub fn label(&self) -> String {
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

/// The option typed as `-short` or `--long`.
pub fn find(short: Option<char>, long: Option<&str>) -> Option<&'static OptionDoc> {
    OPTIONS.iter().find(|option| match (short, long) {
        (Some(short), _) => option.short == Some(short),
        (None, Some(long)) => option.long == long,
        (None, None) => false,
    })
}
