//! The set-up: what the running init starts from, resolved once before
//! anything starts. The options (`cli::Config`), the services file
//! (`--config`, read and checked as `grace check` reads it) and the
//! credentials of `--user` (the container's user database, read once)
//! become one `Setup`, which holds the values in effect: nothing in it can
//! fail later, and no layer after this one asks how a value came about.
//! (ripgrep's `LowArgs` → `HiArgs`, here `cli::Parsed` → `Setup`.)
//!
//! What is decided here: the grace period in effect (an option's or a
//! variable's, else the services file's, else the default), whether
//! running anything as another user is possible at all (it takes root),
//! and who `--user` is.

use core::time::Duration;

use crate::base::prelude::*;

use super::EXIT_INTERNAL;
use crate::base::log;
use crate::cli::Config;
use crate::process::spawn::Inherited;
use crate::process::user::{self, Credentials};
use crate::services::{self, model::Services};
use crate::{debug, error, sys, warn};

/// Everything the running init needs from before it starts.
pub struct Setup {
    /// The options, with the grace period in effect.
    pub config: Box<Config>,
    /// The services file, checked (`--config`).
    pub services: Option<Services>,
    /// Who the command and `--pre-stop` run as (`--user`).
    pub credentials: Option<Credentials>,
    /// grace's environment, `NAME=value` entries: what the command, the
    /// pre-stop command and the services are handed.
    pub environment: Vec<Vec<u8>>,
    /// The signal state grace inherited, which they get back.
    pub inherited: Inherited,
}

/// Where the set-up looks: the user grace runs as, and the container's
/// files (/etc/passwd, /etc/group).
struct Container<'a> {
    uid: u32,
    read: &'a dyn Fn(&str) -> String,
}

impl Setup {
    /// Sets grace up as the init `config` asks for, in this container:
    /// logging first, then the services file and the user database. Err:
    /// the exit code, the reason logged. `grace_period_given` and
    /// `warnings` come with `config` from `cli::Parsed`; `variables` are
    /// `environment` split.
    pub fn resolve(
        config: Box<Config>,
        grace_period_given: bool,
        warnings: Vec<String>,
        environment: Vec<Vec<u8>>,
        variables: &[(Vec<u8>, Vec<u8>)],
        inherited: Inherited,
    ) -> Result<Setup, i32> {
        log::configure(config.log_format, config.quiet, config.verbose);
        // grace is an init from here on: a stderr nobody reads must not
        // stop it.
        log::never_block();
        for warning in warnings {
            warn!("environment", "{warning}");
        }
        // A bad services file stops grace before anything starts.
        let services = match &config.config {
            None if !config.services.is_empty() => {
                error!(
                    "config",
                    "--services (or GRACE_SERVICES) names services of a services file: \
                     give one with --config"
                );
                return Err(services::check::EXIT_INVALID);
            }
            None => None,
            Some(path) => {
                let file = String::from_utf8_lossy(path);
                let loaded = services::check::load(&file, &config.services, variables);
                Some(loaded.ok_or(services::check::EXIT_INVALID)?)
            }
        };
        let container = Container {
            uid: sys::effective_uid(),
            read: &user::read_database,
        };
        let mut config = config;
        let credentials = settle(
            &mut config,
            grace_period_given,
            services.as_ref(),
            &container,
        )?;
        Ok(Setup {
            config,
            services,
            credentials,
            environment,
            inherited,
        })
    }
}

/// Puts the values in effect into `config`, and gives the credentials of
/// its `--user`. Err: the exit code, the reason logged.
// `config` in place: the big struct is not moved in and out.
fn settle(
    config: &mut Config,
    grace_period_given: bool,
    services: Option<&Services>,
    container: &Container<'_>,
) -> Result<Option<Credentials>, i32> {
    let file_period = services.and_then(|services| services.grace_period);
    config.grace_period = grace_period(config.grace_period, grace_period_given, file_period);
    // Running something as another user takes root: said before anything
    // starts, rather than as each start failing.
    if let Some((what, code)) = needs_root(config, services, container.uid) {
        let uid = container.uid;
        error!(
            "user",
            "{what} needs grace to run as root, and it runs as uid {uid}: leave it out, or run \
             the container as root"
        );
        return Err(code);
    }
    // Everything the command needs to run as another user is read before
    // anything is started: the container's own user database.
    let credentials = match &config.user {
        None => None,
        Some(spec) => {
            let read = container.read;
            match user::resolve(spec, &read("/etc/passwd"), &read("/etc/group")) {
                Ok(credentials) => {
                    if let Some(remark) = &credentials.remark {
                        warn!("user", [uid = credentials.uid], "--user {spec}: {remark}");
                    }
                    debug!(
                        "user",
                        [
                            uid = credentials.uid,
                            gid = credentials.gid,
                            home = credentials.home.clone()
                        ],
                        "the command runs as uid {} gid {} groups {}",
                        credentials.uid,
                        credentials.gid,
                        credentials.groups_shown()
                    );
                    Some(credentials)
                }
                Err(error) => {
                    error!("user", [user = spec.to_string()], "--user {spec}: {error}");
                    return Err(EXIT_INTERNAL);
                }
            }
        }
    };
    Ok(credentials)
}

/// The grace period in effect: the options' when an option or a variable
/// gave one, else the services file's, else the options' default.
pub fn grace_period(options: Duration, given: bool, file: Option<Duration>) -> Duration {
    match file {
        Some(file) if !given => file,
        _ => options,
    }
}

/// What would run as another user while grace is not root (uid `uid`):
/// its description and the exit code of refusing it, a service's user
/// first (a file that cannot be used, as `grace check` says), else
/// `--user` (grace cannot set up).
fn needs_root(config: &Config, services: Option<&Services>, uid: u32) -> Option<(String, i32)> {
    if uid == 0 {
        return None;
    }
    let service_user = services
        .and_then(|services| services.services.iter().find(|s| s.user.is_some()))
        .and_then(|service| Some((&service.name, service.user.as_ref()?)));
    match (service_user, &config.user) {
        (Some((name, spec)), _) => Some((
            format!("service {name}: user = \"{spec}\""),
            services::check::EXIT_INVALID,
        )),
        (None, Some(spec)) => Some((format!("--user {spec}"), EXIT_INTERNAL)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::container::fake::Fake;
    use std::cell::Cell;

    /// The options `words` give over `environment`, and whether they gave
    /// a grace period.
    fn config(words: &[&str], environment: &[(&str, &str)]) -> (Config, bool) {
        let bytes = |text: &str| text.as_bytes().to_vec();
        let variables: Vec<(Vec<u8>, Vec<u8>)> = environment
            .iter()
            .map(|(name, value)| (bytes(name), bytes(value)))
            .collect();
        let words = words.iter().map(|word| bytes(word));
        match crate::cli::parse_with(crate::cli::Personality::Grace, words, &variables) {
            Ok(crate::cli::Parsed {
                invocation: crate::cli::Invocation::Init(config),
                grace_period_given,
                ..
            }) => (*config, grace_period_given),
            other => panic!("{other:?}"),
        }
    }

    fn services(text: &str) -> Services {
        services::config::parse(text, &Fake::new()).unwrap()
    }

    const PASSWD: &str = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nstaff:x:50:app\n";

    /// The set-up of `words` over `environment` and `file` (a services
    /// file's text) for a grace running as `uid`, and how often the user
    /// database was read.
    fn settled_over(
        words: &[&str],
        environment: &[(&str, &str)],
        file: Option<&str>,
        uid: u32,
    ) -> (Result<(Config, Option<Credentials>), i32>, usize) {
        let (config, given) = config(words, environment);
        let file = file.map(services);
        let reads = Cell::new(0);
        let read = |path: &str| {
            reads.set(reads.get() + 1);
            match path {
                "/etc/passwd" => PASSWD.to_string(),
                "/etc/group" => GROUP.to_string(),
                _ => String::new(),
            }
        };
        let container = Container { uid, read: &read };
        let mut config = config;
        let settled = settle(&mut config, given, file.as_ref(), &container);
        (
            settled.map(|credentials| (config, credentials)),
            reads.get(),
        )
    }

    fn settled(
        words: &[&str],
        file: Option<&str>,
        uid: u32,
    ) -> (Result<(Config, Option<Credentials>), i32>, usize) {
        settled_over(words, &[], file, uid)
    }

    fn period_of(words: &[&str], file: Option<&str>) -> Duration {
        settled(words, file, 0).0.unwrap().0.grace_period
    }

    #[test]
    fn the_grace_period_is_the_options_else_the_files_else_the_default() {
        let with_period = "grace_period = \"20s\"\n[service.a]\ncommand = [\"true\"]\n";
        let without = "[service.a]\ncommand = [\"true\"]\n";
        let seconds = Duration::from_secs;
        assert_eq!(period_of(&["cmd"], None), crate::cli::DEFAULT_GRACE_PERIOD);
        assert_eq!(period_of(&["cmd"], Some(without)), seconds(9));
        assert_eq!(period_of(&["cmd"], Some(with_period)), seconds(20));
        assert_eq!(
            period_of(&["--grace-period", "3s", "cmd"], Some(with_period)),
            seconds(3)
        );
        // Given, even as the default's own value, it wins.
        assert_eq!(
            period_of(&["--grace-period", "9s", "cmd"], Some(with_period)),
            seconds(9)
        );
        let (settled, _) = settled_over(
            &["cmd"],
            &[("GRACE_GRACE_PERIOD", "4s")],
            Some(with_period),
            0,
        );
        assert_eq!(settled.unwrap().0.grace_period, seconds(4));
    }

    #[test]
    fn another_user_takes_root() {
        let service_user = "[service.a]\ncommand = [\"true\"]\nuser = \"app\"\n";
        let plain = "[service.a]\ncommand = [\"true\"]\n";
        let code = |words: &[&str], file| settled(words, file, 1000).0.map(|_| ()).unwrap_err();
        assert_eq!(code(&["-u", "app", "cmd"], None), EXIT_INTERNAL);
        assert_eq!(code(&["-u", "app", "cmd"], Some(plain)), EXIT_INTERNAL);
        // A service's user is the file's fault, as grace check says.
        assert_eq!(
            code(&["cmd"], Some(service_user)),
            services::check::EXIT_INVALID
        );
        assert_eq!(
            code(&["-u", "app", "cmd"], Some(service_user)),
            services::check::EXIT_INVALID
        );
        // No other user, or root: nothing to refuse.
        assert!(settled(&["cmd"], Some(plain), 1000).0.is_ok());
        assert!(settled(&["cmd"], Some(service_user), 0).0.is_ok());
    }

    #[test]
    fn the_user_is_resolved_once_before_anything_starts() {
        let (result, reads) = settled(&["-u", "app:staff", "cmd"], None, 0);
        let credentials = result.unwrap().1.unwrap();
        assert_eq!((credentials.uid, credentials.gid), (1000, 50));
        assert_eq!(credentials.home, "/home/app");
        // /etc/passwd and /etc/group, each read once.
        assert_eq!(reads, 2);

        let (result, reads) = settled(&["cmd"], None, 0);
        assert!(result.unwrap().1.is_none());
        assert_eq!(reads, 0);

        let (result, _) = settled(&["-u", "nobody", "cmd"], None, 0);
        assert_eq!(result.map(|_| ()), Err(EXIT_INTERNAL));
    }
}
