//! The `check` subcommand's command line and help (what check does is in
//! src/services/check.rs).

use crate::base::prelude::*;

use super::lexer::{Long, Short, Tokens, Value};
use super::{Invocation, UsageError, options, values};
use crate::base::environment::lookup;

pub const CHECK_USAGE: &str = "usage: grace check FILE [--services NAME[,NAME...]]";

pub const CHECK_HELP: &str = "\
grace check: validate a services file (docs/services.md) without running
anything.

usage: grace check FILE [--services NAME[,NAME...]]

Checks everything that can be checked before a service starts: TOML syntax
and keys, durations, signals, users, readiness specs, every command found
and executable (through PATH, or relative to working_directory), and the
`after` relation (no unknown name, no cycle), the file's size (1 MiB at
most) and the descriptors grace will hold for the services against the
limit (ulimit -n). Run it where the services will run, such as inside the
image: commands, users and the limit are looked up there.

Valid: one line per service that would run, in start order: those not
`enabled = false`, or those --services (else GRACE_SERVICES) names, and
every service they start after. Invalid: one message that names the file,
the line and the key. `grace --config FILE` runs them, after the same
checks.

Options:
      --services NAME[,NAME...]
                     show what `grace --config FILE --services ...` would
                     run; an unknown NAME is an error
  -h, --help         show this help and exit

Exit status: 0 when FILE is valid, 2 when it is not (or cannot be read) or
for a usage error.
";

/// `check`'s arguments, after the word `check`, over the environment
/// `env` (for GRACE_SERVICES, as the init reads it).
pub fn parse(args: Vec<Vec<u8>>, env: &[(Vec<u8>, Vec<u8>)]) -> Result<Invocation, UsageError> {
    let mut parser = Tokens::new(args);
    let mut file = None;
    let mut services = None;
    let names = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        values::service_names(&text).map_err(|why| UsageError::of("--", "services", why))
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::CheckHelp),
            Long("services") => services = Some(names(&parser.value()?)?),
            Value(word) if file.is_none() => {
                let path = String::from_utf8(word)
                    .map_err(|_| UsageError::new("FILE: the path is not UTF-8"))?;
                file = Some(path);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if services.is_none() {
        let variable = options::find(None, Some("services")).and_then(|o| o.env_name());
        if let Some(text) = variable.and_then(|name| lookup(env, &name)) {
            services = Some(names(text)?);
        }
    }
    match file {
        Some(file) => Ok(Invocation::Check(file, services.unwrap_or_default())),
        None => Err(UsageError::new("no FILE given")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn check_is_a_subcommand_only_as_the_first_word() {
        assert_eq!(
            parse_words(&["check", "services.toml"]),
            Ok(Invocation::Check("services.toml".into(), vec![]))
        );
        assert_eq!(
            parse_words(&["check", "--", "-odd.toml"]),
            Ok(Invocation::Check("-odd.toml".into(), vec![]))
        );
        assert_eq!(
            parse_words(&["check", "f", "--services", "web, worker"]),
            Ok(Invocation::Check(
                "f".into(),
                vec!["web".into(), "worker".into()]
            ))
        );
        let from_env = as_personality(
            Personality::Grace,
            &["check", "f"],
            &[("GRACE_SERVICES", "db")],
        );
        assert_eq!(
            from_env.map(|parsed| parsed.invocation),
            Ok(Invocation::Check("f".into(), vec!["db".into()]))
        );
        assert_eq!(parse_words(&["check", "--help"]), Ok(Invocation::CheckHelp));
        assert_eq!(
            parse_words(&["check", "f", "-h"]),
            Ok(Invocation::CheckHelp)
        );
        refused(
            Personality::Grace,
            &[
                &["check"][..],
                &["check", "a", "b"],
                &["check", "--json", "a"],
                &["check", "a", "--services"],
                &["check", "a", "--services", ","],
            ],
        );
        assert_eq!(config(&["--", "check", "f"]).command, b"check");
        assert_eq!(config(&["-v", "check"]).command, b"check");
        assert_eq!(
            config_as(Personality::Tini, &["check", "f"], &[]).command,
            b"check"
        );
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["check"])),
            (CHECK_USAGE, "grace check --help")
        );
        for line in CHECK_HELP.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
