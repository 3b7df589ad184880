//! Whose command line grace reads, chosen by the name it was started as:
//! grace's own, or (installed or linked as `tini`, `docker-init` or
//! `dumb-init`) that tool's, with its variables, its defaults and its help.
//! One file per personality; see docs/compat.md.

mod dumb_init;
mod grace;
mod tini;

use crate::base::prelude::*;

use super::values::Rewrite;
use super::{Config, Invocation, Settings, UsageError};

pub const USAGE: &str = grace::USAGE;

/// Whose command line grace reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Personality {
    #[default]
    Grace,
    /// `tini`, `tini-static` or `docker-init` (what `docker run --init`
    /// starts).
    Tini,
    DumbInit,
}

/// What a command line parser found: a command to run, or a mode such as
/// help.
// Built once per run and taken apart at once: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum CommandLine {
    Command(Vec<u8>, Vec<Vec<u8>>),
    /// No command: only a services file (`--config`) makes that a job.
    NoCommand,
    Mode(Invocation),
}

/// An option or a variable of a personality, for its help and the man
/// page.
pub struct ForeignDoc {
    pub label: &'static str,
    pub help: &'static str,
}

/// A personality's options and variables, for its help and the man page.
pub struct ForeignDocs {
    pub name: &'static str,
    /// The names it is installed as, for the man page.
    #[cfg(test)]
    pub names: &'static str,
    pub options: &'static [ForeignDoc],
    pub environment: &'static [ForeignDoc],
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
            Personality::Grace => grace::USAGE,
            Personality::Tini => tini::USAGE,
            Personality::DumbInit => dumb_init::USAGE,
        }
    }

    pub fn help_command(self) -> &'static str {
        match self {
            Personality::Grace => "grace --help",
            Personality::Tini => "tini -h",
            Personality::DumbInit => "dumb-init --help",
        }
    }

    /// The original tool's options and variables (None for grace, whose
    /// own come from the option table).
    pub fn foreign_docs(self) -> Option<&'static ForeignDocs> {
        match self {
            Personality::Grace => None,
            Personality::Tini => Some(&tini::DOCS),
            Personality::DumbInit => Some(&dumb_init::DOCS),
        }
    }

    /// Whether grace leaves its working directory for `/` once the command
    /// has started, as dumb-init does, so that PID 1 pins no directory.
    pub fn leaves_working_directory(self) -> bool {
        self == Personality::DumbInit
    }

    /// The lowest layer: the original tool's defaults.
    pub(super) fn defaults(self) -> Settings {
        match self {
            Personality::Grace | Personality::Tini => Settings::default(),
            Personality::DumbInit => dumb_init::defaults(),
        }
    }

    /// The command line, into `settings`.
    pub(super) fn parse(
        self,
        args: Vec<Vec<u8>>,
        settings: &mut Settings,
    ) -> Result<CommandLine, UsageError> {
        match self {
            Personality::Grace => grace::parse(args, settings),
            Personality::Tini => tini::parse(args, settings),
            Personality::DumbInit => dumb_init::parse(args, settings),
        }
    }

    /// The original tool's own variables, with its meanings.
    pub(super) fn environment(
        self,
        env: &[(Vec<u8>, Vec<u8>)],
        warnings: &mut Vec<String>,
    ) -> Settings {
        match self {
            Personality::Grace => Settings::default(),
            Personality::Tini => tini::environment(env, warnings),
            Personality::DumbInit => dumb_init::environment(env),
        }
    }

    /// Rules that apply before the user's `--rewrite`s, which win over them.
    pub(super) fn rewrites(self, config: &Config) -> Vec<Rewrite> {
        match self {
            Personality::Grace => Vec::new(),
            Personality::Tini => tini::rewrites(),
            Personality::DumbInit => dumb_init::rewrites(config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
