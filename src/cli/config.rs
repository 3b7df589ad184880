//! The layers laid over each other: the personality's defaults, the
//! environment (`GRACE_<OPTION>`, then the personality's own variables
//! below them), the command line on top; the higher layer wins field by
//! field, and the table's defaults fill in the rest.

use core::str;

use crate::base::prelude::*;

use super::options::{Action, ENV_PREFIX, OPTIONS, SERVICE_VARIABLE};
use super::personality::CommandLine;
use super::values::{Input, Rewrite};
use super::{Config, Invocation, Parsed, Personality, Settings, UsageError};
use crate::base::environment::lookup;
use crate::base::log::Format;
use crate::base::signals::Signal;

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

/// Parses the arguments (without the program name) of `personality` over
/// the environment `env`.
pub fn parse_with(
    personality: Personality,
    args: impl IntoIterator<Item = Vec<u8>>,
    env: &[(Vec<u8>, Vec<u8>)],
) -> Result<Parsed, UsageError> {
    let mut args: Vec<Vec<u8>> = args.into_iter().collect();
    if let Some(sub) = super::subcommand(personality, &args) {
        let word = args.remove(0);
        return (sub.parse)(&word, args, env).map(Parsed::only);
    }
    let mut warnings = Vec::new();
    // The log format asked for, so that an error is written the way the
    // rest would have been: the command line's, else the environment's.
    let env_format = lookup(env, "GRACE_LOG_FORMAT")
        .and_then(|value| str::from_utf8(value).ok())
        .and_then(|value| value.parse::<Format>().ok());
    let grace_env = grace_environment(env, &mut warnings);
    let tool_env = personality.environment(env, &mut warnings);
    let mut command_line = Settings::default();
    let parsed = personality.parse(args, &mut command_line);
    let format = command_line.log_format.or(env_format).unwrap_or_default();
    let with_format = |mut error: UsageError| {
        error.log_format = format;
        error
    };
    let (command, rest, has_command) = match parsed {
        Ok(CommandLine::Command(command, rest)) => (command, rest, true),
        Ok(CommandLine::NoCommand) => (Vec::new(), Vec::new(), false),
        Ok(CommandLine::Mode(invocation)) => {
            return Ok(Parsed {
                warnings,
                ..Parsed::only(invocation)
            });
        }
        Err(error) => return Err(with_format(error)),
    };
    let grace_env = grace_env.map_err(with_format)?;
    let layered = command_line.over(grace_env).over(tool_env);
    let grace_period_given = layered.grace_period.is_some();
    let mut config =
        layered
            .over(personality.defaults())
            .resolve(personality, command, rest, has_command);
    if !config.has_command && config.config.is_none() {
        return Err(with_format(UsageError::new("no command given")));
    }
    // The personality's rules come first, so that a rule of the user's,
    // later, wins.
    let mut rules: Vec<Rewrite> = personality.rewrites(&config);
    rules.append(&mut config.rewrites);
    config.rewrites = rules;
    Ok(Parsed {
        invocation: Invocation::Init(Box::new(config)),
        warnings,
        grace_period_given,
    })
}

impl Parsed {
    /// `invocation`, with nothing more to say.
    fn only(invocation: Invocation) -> Self {
        Parsed {
            invocation,
            warnings: Vec::new(),
            grace_period_given: false,
        }
    }
}

/// The GRACE_ variables. An empty one counts as unset; one that names no
/// option is a warning (a typo would otherwise go unnoticed).
fn grace_environment(
    env: &[(Vec<u8>, Vec<u8>)],
    warnings: &mut Vec<String>,
) -> Result<Settings, UsageError> {
    let mut settings = Settings::default();
    for option in OPTIONS {
        let (Some(name), Action::Set(key)) = (option.env_name(), option.action) else {
            continue;
        };
        let Some(value) = lookup(env, &name) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        key.set(&mut settings, Input::Variable(value.to_vec()))
            .map_err(|error| UsageError::of("", &name, error))?;
    }
    for (key, _) in env {
        let Ok(key) = str::from_utf8(key) else {
            continue;
        };
        if key.starts_with(ENV_PREFIX)
            && key != SERVICE_VARIABLE
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn a_usage_error_remembers_the_log_format_asked_for() {
        for (words, env) in [
            (&["--log-format", "json", "--bogus"][..], &[][..]),
            (&["--bogus"], &[("GRACE_LOG_FORMAT", "json")]),
            (
                &["cmd"],
                &[("GRACE_LOG_FORMAT", "json"), ("GRACE_GRACE_PERIOD", "x")],
            ),
        ] {
            let error = as_personality(Personality::Grace, words, env).unwrap_err();
            assert_eq!(error.log_format, Format::Json, "{words:?} {env:?}");
        }
        let error = as_personality(Personality::Grace, &["cmd"], &[("GRACE_GRACE_PERIOD", "x")])
            .unwrap_err();
        assert!(error.message.starts_with("GRACE_GRACE_PERIOD: "), "{error}");
    }

    /// An example command line value for every option that takes one, and
    /// the same through its variable: both must give the same Config.
    #[test]
    fn every_option_has_a_variable_that_sets_it_the_same_way() {
        for option in OPTIONS {
            let Some(name) = option.env_name() else {
                assert!(matches!(option.action, Action::Help | Action::Version));
                continue;
            };
            let example = option.env_example.unwrap_or_default();
            let mut words: Vec<String> = Vec::new();
            match option.value {
                Some(_) => {
                    // A list in a variable is repeated options on the
                    // command line.
                    if matches!(option.action, Action::Set(Key::Rewrite | Key::SuccessExit)) {
                        for item in example.split(',') {
                            words.push(format!("--{}={item}", option.long));
                        }
                    } else {
                        words.push(format!("--{}={example}", option.long));
                    }
                }
                None if option.action == Action::Set(Key::Verbose) => {
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

    /// A variable given twice counts as the command sees it, getenv(3)'s
    /// way: the first one.
    #[test]
    fn a_variable_given_twice_counts_once_the_first() {
        let c = config_as(
            Personality::Grace,
            &["cmd"],
            &[
                ("GRACE_GRACE_PERIOD", "3s"),
                ("GRACE_LOG_FORMAT", "json"),
                ("GRACE_GRACE_PERIOD", "5s"),
                ("GRACE_LOG_FORMAT", "text"),
            ],
        );
        assert_eq!(c.grace_period, Duration::from_secs(3));
        assert_eq!(c.log_format, Format::Json);
        let c = config_as(
            Personality::Tini,
            &["cmd"],
            &[("TINI_VERBOSITY", "3"), ("TINI_VERBOSITY", "0")],
        );
        assert_eq!((c.verbose, c.quiet), (2, false));
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
            ("GRACE_STOP_ON", "TERM,CHLD"),
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
}
