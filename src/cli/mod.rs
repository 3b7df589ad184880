//! The command line and the environment: what was typed, checked and turned
//! into a `Config`, or into the options of the `inspect` subcommand.
//!
//! In layers, each in its own file:
//! - `options.rs`: the option table, where each option is declared once;
//!   `declare.rs` derives `Config`, the optional `Settings` of one layer,
//!   `Key` and `OPTIONS` from it.
//! - `lexer.rs`: the words split into options and values.
//! - `values.rs`: what a value means (signals, durations, rewrites).
//! - `config.rs`: the layers laid over each other, lowest first: the
//!   personality's defaults, the environment (`GRACE_<OPTION>`, and in a
//!   personality that tool's own variables), the command line; the higher
//!   layer wins field by field.
//! - `personality/`: whose command line is read. Installed or linked as
//!   `tini`, `docker-init` or `dumb-init`, grace reads that tool's command
//!   line instead of its own; see docs/compat.md.
//! - `doc.rs`: `--help`, the man page (man/grace.1) and the environment
//!   table in docs/configuration.md, generated from the tables so that they
//!   cannot drift.
//! - `inspect.rs`, `check.rs`, `import.rs`, `status.rs`, `control.rs`: the
//!   `inspect`, `check`, `import` and `status` subcommands' command lines,
//!   and those of `restart`, `stop`, `start` and `signal`.
//!
//! Parsing stops at `--` or at the first word that is not an option; that
//! word and everything after it belong to the command and are passed through
//! untouched as raw bytes, so the command's own flags are never read and
//! arguments need not be UTF-8. `inspect`, `check`, `import`, `status` and
//! the control commands are subcommands only as the very first word:
//! `grace -- inspect` runs a command named inspect.

use core::fmt;

use crate::base::prelude::*;

use crate::base::log::Format;

#[macro_use]
mod declare;
mod check;
mod config;
mod control;
mod doc;
mod import;
mod inspect;
mod lexer;
mod options;
mod personality;
mod status;
mod values;

pub use self::{
    check::{CHECK_HELP, CHECK_USAGE},
    config::parse_with,
    control::{CONTROL_HELP, CONTROL_USAGE, ControlCommand, ControlOptions},
    doc::{help, license, version},
    import::{IMPORT_HELP, IMPORT_USAGE},
    inspect::{INSPECT_HELP, INSPECT_USAGE, InspectOptions},
    options::{Config, DEFAULT_GRACE_PERIOD, SERVICE_VARIABLE},
    personality::Personality,
    status::{STATUS_HELP, STATUS_USAGE, StatusOptions},
    values::{ForwardTo, StopOrder, parse_duration, stop_signal},
};
// The type of `Config::rewrites`, for code that names a rule.
#[cfg(test)]
pub use self::{personality::USAGE, values::parse_signal_list};
// Every value parser, for the fuzz targets.
#[cfg(fuzzing)]
pub use self::values::{
    forward_to, parse_code, parse_path, parse_rewrite, parse_signal, parse_signal_list, stop_on,
    stop_order,
};
// supervisord's truth values are grace's.
#[cfg(feature = "import")]
pub use self::values::truth;
use options::Settings;
#[allow(unused_imports)]
pub use values::Rewrite;

/// What grace was asked to do.
// The Init variant boxed: every Result and move of an Invocation is small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Be the init: start the command (or the services) and supervise them.
    Init(Box<Config>),
    Help,
    Version,
    /// tini's `-l`.
    License,
    Inspect(InspectOptions),
    InspectHelp,
    /// `grace check FILE`, and the services asked for (`--services`, else
    /// GRACE_SERVICES; none: every enabled one).
    Check(String, Vec<String>),
    CheckHelp,
    /// `grace import FILE`.
    Import(String),
    ImportHelp,
    /// `grace status`.
    Status(StatusOptions),
    StatusHelp,
    /// `grace restart`, `stop`, `start`, `signal`.
    Control(ControlOptions),
    ControlHelp,
}

/// A command line (or environment) grace cannot run: shown with the usage
/// line, exit 2 (1 in a personality).
// Boxed: one word through every `?` of the parsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(Box<UsageErrorText>);

/// What a `UsageError` says, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageErrorText {
    pub message: String,
    /// The log format asked for before the error, so that the error is
    /// written the way the rest would have been.
    pub log_format: Format,
}

impl core::ops::Deref for UsageError {
    type Target = UsageErrorText;
    fn deref(&self) -> &UsageErrorText {
        &self.0
    }
}

impl core::ops::DerefMut for UsageError {
    fn deref_mut(&mut self) -> &mut UsageErrorText {
        &mut self.0
    }
}

impl UsageError {
    fn new(message: impl Into<String>) -> Self {
        UsageError(Box::new(UsageErrorText {
            message: message.into(),
            log_format: Format::Text,
        }))
    }

    /// `--timeout: WHY`: what a value of `--timeout` (`prefix` and `name`)
    /// is wrong for. One copy of the formatting for every option.
    #[inline(never)]
    fn of(prefix: &str, name: &str, why: String) -> Self {
        UsageError::new(format!("{prefix}{name}: {why}"))
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
    /// Whether an option or a variable set the grace period: then a
    /// services file's `grace_period` does not count. Only the set-up
    /// (`init::setup`) asks, and the grace period it hands on is the one in
    /// effect.
    pub grace_period_given: bool,
}

/// A subcommand: the first word that asks for it, its usage line, the
/// command that shows its help, and its parser.
struct Subcommand {
    word: &'static [u8],
    usage: &'static str,
    help_command: &'static str,
    parse: SubcommandParser,
}

/// Given the subcommand's word, the words after it and the environment.
type SubcommandParser =
    fn(&[u8], Vec<Vec<u8>>, &[(Vec<u8>, Vec<u8>)]) -> Result<Invocation, UsageError>;

/// The restart, stop, start and signal commands' shared entry.
const CONTROL: Subcommand = Subcommand {
    word: b"restart",
    usage: CONTROL_USAGE,
    help_command: "grace restart --help",
    parse: |verb, args, _| control::parse(verb, args),
};

/// grace's subcommands. One table for the parser and the usage errors, so
/// that a word is a subcommand for both or neither.
const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        word: b"inspect",
        usage: INSPECT_USAGE,
        help_command: "grace inspect --help",
        parse: |_, args, _| inspect::parse(args),
    },
    Subcommand {
        word: b"check",
        usage: CHECK_USAGE,
        help_command: "grace check --help",
        parse: |_, args, env| check::parse(args, env),
    },
    Subcommand {
        word: b"import",
        usage: IMPORT_USAGE,
        help_command: "grace import --help",
        parse: |_, args, _| import::parse(args),
    },
    Subcommand {
        word: b"status",
        usage: STATUS_USAGE,
        help_command: "grace status --help",
        parse: |_, args, _| status::parse(args),
    },
    CONTROL,
    Subcommand {
        word: b"stop",
        ..CONTROL
    },
    Subcommand {
        word: b"start",
        ..CONTROL
    },
    Subcommand {
        word: b"signal",
        ..CONTROL
    },
];

/// The subcommand that the arguments (without the program name) ask for:
/// only grace's own command line, and only its very first word, before any
/// option.
fn subcommand(personality: Personality, args: &[Vec<u8>]) -> Option<&'static Subcommand> {
    let first = args.first().filter(|_| personality == Personality::Grace)?;
    SUBCOMMANDS.iter().find(|sub| sub.word == first.as_slice())
}

/// The usage line and the help command to show with a usage error in `args`.
pub fn usage_for(personality: Personality, args: &[Vec<u8>]) -> (&'static str, &'static str) {
    match subcommand(personality, args) {
        Some(sub) => (sub.usage, sub.help_command),
        None => (personality.usage(), personality.help_command()),
    }
}

/// Parses grace's own arguments, without the program name and without
/// looking at the environment (as `inspect` reads another grace's command
/// line).
pub fn parse(args: impl IntoIterator<Item = Vec<u8>>) -> Result<Invocation, UsageError> {
    parse_with(Personality::Grace, args, &[]).map(|parsed| parsed.invocation)
}

/// Shorthands for the unit tests of every layer.
#[cfg(test)]
mod testing {
    pub(crate) use super::options::Key;
    pub(crate) use super::*;
    pub(crate) use crate::base::log::Format;
    pub(crate) use crate::base::signals::{self, Signal};
    pub(crate) use crate::process::user::UserSpec;
    pub(crate) use core::time::Duration;

    pub fn os(word: &str) -> Vec<u8> {
        word.as_bytes().to_vec()
    }

    pub fn os_all(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|word| os(word)).collect()
    }

    pub fn parse_words(words: &[&str]) -> Result<Invocation, UsageError> {
        parse(os_all(words))
    }

    pub fn config(words: &[&str]) -> Config {
        config_as(Personality::Grace, words, &[])
    }

    pub fn as_personality(
        personality: Personality,
        words: &[&str],
        environment: &[(&str, &str)],
    ) -> Result<Parsed, UsageError> {
        let env: Vec<(Vec<u8>, Vec<u8>)> =
            environment.iter().map(|(k, v)| (os(k), os(v))).collect();
        parse_with(personality, os_all(words), &env)
    }

    pub fn config_as(
        personality: Personality,
        words: &[&str],
        environment: &[(&str, &str)],
    ) -> Config {
        match as_personality(personality, words, environment) {
            Ok(Parsed {
                invocation: Invocation::Init(config),
                ..
            }) => *config,
            other => panic!("{words:?} gave {other:?}"),
        }
    }

    /// Each command line of `cases` is a usage error for `personality`.
    pub fn refused(personality: Personality, cases: &[&[&str]]) {
        for words in cases {
            let result = as_personality(personality, words, &[]);
            assert!(result.is_err(), "{words:?} must be refused: {result:?}");
        }
    }

    /// Each value of `cases` is refused by `parse`.
    pub fn refused_by<T: fmt::Debug>(parse: impl Fn(&str) -> Result<T, String>, cases: &[&str]) {
        for text in cases {
            let result = parse(text);
            assert!(result.is_err(), "{text:?} must be refused: {result:?}");
        }
    }

    /// The rule FROM:TO, by signal numbers (TO 0: dropped).
    pub fn rule(from: i32, to: i32) -> Rewrite {
        Rewrite {
            from: Signal::new(from).unwrap(),
            to: Signal::new(to),
        }
    }

    /// Each command line of `cases` gives its mode (help, version...).
    pub fn modes(personality: Personality, cases: &[(&[&str], Invocation)]) {
        for (words, mode) in cases {
            let parsed = as_personality(personality, words, &[]).map(|p| p.invocation);
            assert_eq!(parsed.as_ref(), Ok(mode), "{words:?}");
        }
    }
}
