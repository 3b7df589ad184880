//! grace: a container init. It starts the command, forwards signals to it,
//! reaps every zombie and exits with the command's status.
//!
//! This file wires the modules together and turns every outcome into an exit
//! code; each concern lives in its own module.

// No std in the binary: its panic and backtrace machinery alone is a
// third of a static std build, and grace only needs the heap (alloc) and
// the system calls in `sys`. Unit tests run under std's harness, and so
// do the fuzz targets (fuzz/), which compile this file as a library with
// `--cfg fuzzing` and reach the parsers through `fuzz`.
#![cfg_attr(not(any(test, fuzzing)), no_std)]
#![cfg_attr(not(any(test, fuzzing)), no_main)]
#![cfg_attr(fuzzing, allow(dead_code, unused_imports))]
#![deny(unsafe_code)]
// A panic in PID 1 takes the whole container down: no unwrap, expect or
// panic outside tests; every failure is an error path.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

mod base;
mod cli;
mod init;
mod inspect;
mod process;
mod services;
#[allow(unsafe_code)]
mod sys;
#[cfg(any(test, fuzzing))]
mod testing;
#[cfg(fuzzing)]
pub use testing::fuzz;

use base::prelude::*;

use base::log;
use base::signals::{SIGCONT, SIGHUP, SIGPIPE, SignalSet};
use cli::{Invocation, Personality};
use init::{edge, supervisor};
use process::{spawn, user};

/// Exit code when grace itself fails after starting (a broken kernel
/// interface, a --user that does not exist), distinct from any code the
/// command could produce through us.
const EXIT_INTERNAL: i32 = 125;

/// Called from the C entry point in `sys` with the raw argv.
pub fn run(argv: Vec<Vec<u8>>) -> i32 {
    let code = run_to_exit_code(argv);
    // Lines still waiting for a full stderr get a bounded time, whichever
    // way grace ends (nothing waits unless `log::never_block` was called).
    log::finish(log::LAST_LINES);
    code
}

fn run_to_exit_code(argv: Vec<Vec<u8>>) -> i32 {
    // First thing: block every signal, so none is lost or acted on by
    // default between now and the event loop. What we replace is what the
    // command must get back.
    let original_mask = match sys::set_signal_mask(SignalSet::ALL.bits()) {
        Ok(mask) => SignalSet::from_bits(mask),
        Err(error) => {
            error!("setup", "cannot block signals: {error}");
            return EXIT_INTERNAL;
        }
    };
    let inherited = spawn::Inherited {
        signal_mask: original_mask,
        sigpipe_ignored: sys::is_ignored(SIGPIPE.number()),
    };

    let mut argv = argv.into_iter();
    let personality = argv.next().map_or(Personality::Grace, |program| {
        Personality::from_program(&program)
    });
    let args: Vec<Vec<u8>> = argv.collect();
    let (usage, help_command) = cli::usage_for(personality, &args);
    let environment = sys::environment();
    let variables = split_variables(&environment);
    let (config, warnings) = match cli::parse_with(personality, args, &variables) {
        Ok(parsed) => match parsed.invocation {
            Invocation::Run(config) => (config, parsed.warnings),
            Invocation::Help => return print_stdout(&cli::help(personality)),
            Invocation::Version => return print_stdout(&version(personality)),
            Invocation::License => {
                return print_stdout(&format!(
                    "grace is licensed under {}.\n",
                    env!("CARGO_PKG_LICENSE")
                ));
            }
            Invocation::InspectHelp => return print_stdout(cli::INSPECT_HELP),
            Invocation::Inspect(options) => {
                // A short-lived reader, not an init: Ctrl-C must work as
                // usual. SIGPIPE stays blocked so that a closed stdout is an
                // error to ignore rather than a death.
                let _ = sys::set_signal_mask(original_mask.with(SIGPIPE).bits());
                return inspect::run(options, &variables);
            }
            Invocation::CheckHelp => return print_stdout(cli::CHECK_HELP),
            Invocation::Check(file) => {
                // As inspect: a short-lived tool, not an init.
                let _ = sys::set_signal_mask(original_mask.with(SIGPIPE).bits());
                return services::check::run(&file, &variables);
            }
            Invocation::StatusHelp => return print_stdout(cli::STATUS_HELP),
            Invocation::Status(options) => {
                // As inspect: a short-lived tool, not an init.
                let _ = sys::set_signal_mask(original_mask.with(SIGPIPE).bits());
                return services::show::run(&options, &variables);
            }
        },
        Err(error) => {
            log::set_format(error.log_format);
            error!("usage", [usage = usage], "{error}");
            if log::current_format() == log::Format::Text {
                let _ = sys::write_all(
                    libc::STDERR_FILENO,
                    format!("{usage}\nTry '{help_command}' for more information.\n").as_bytes(),
                );
            }
            return personality.usage_exit_code();
        }
    };
    let mut config = config;
    log::configure(config.log_format, config.quiet, config.verbose);
    // grace is an init from here on: a stderr nobody reads must not stop it.
    log::never_block();
    for warning in warnings {
        warn!("environment", "{warning}");
    }

    // A bad services file stops grace before anything starts.
    let file = config
        .config
        .as_ref()
        .map(|path| String::from_utf8_lossy(path).into_owned());
    let services = match &file {
        None => None,
        Some(file) => match services::check::load(file, &variables) {
            Some(services) => Some(services),
            None => return services::check::EXIT_INVALID,
        },
    };
    if let Some(services) = &services
        && let Some(period) = services.grace_period
        && !config.grace_period_given
    {
        config.grace_period = period;
    }
    let config = config;

    // Running something as another user takes root: said before anything
    // starts, rather than as each start failing.
    let uid = sys::effective_uid();
    let service_user = services
        .as_ref()
        .and_then(|services| services.services.iter().find(|s| s.user.is_some()))
        .and_then(|service| Some((&service.name, service.user.as_ref()?)));
    let needs_root = match (service_user, &config.user) {
        _ if uid == 0 => None,
        (Some((name, spec)), _) => Some((
            format!("service {name}: user = \"{spec}\""),
            services::check::EXIT_INVALID,
        )),
        (None, Some(spec)) => Some((format!("--user {spec}"), EXIT_INTERNAL)),
        (None, None) => None,
    };
    if let Some((what, code)) = needs_root {
        error!(
            "user",
            "{what} needs grace to run as root, and it runs as uid {uid}: leave it out, or run \
             the container as root"
        );
        return code;
    }

    // Everything the command needs to run as another user is read before
    // anything is started: the container's own user database.
    let credentials = match &config.user {
        None => None,
        Some(spec) => {
            let read = user::read_database;
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
                        "the command runs as uid {} gid {} groups {:?}",
                        credentials.uid,
                        credentials.gid,
                        credentials.groups
                    );
                    Some(credentials)
                }
                Err(error) => {
                    error!("user", [user = spec.to_string()], "--user {spec}: {error}");
                    return EXIT_INTERNAL;
                }
            }
        }
    };

    if config.subreaper || sys::getpid() != 1 {
        // Without this, orphans of the command would be re-parented past us
        // to the namespace's PID 1, and nobody here would reap them.
        match sys::become_child_subreaper() {
            Ok(()) => debug!("subreaper", "registered as child subreaper"),
            Err(error) => warn!(
                "subreaper",
                "cannot register as child subreaper: {error}; orphans will not be reaped by grace"
            ),
        }
    }
    if let Some(signal) = config.parent_death_signal
        && let Err(error) = sys::set_parent_death_signal(signal.number())
    {
        warn!(
            "pdeathsig",
            [signal = signal],
            "cannot set parent death signal {signal}: {error}"
        );
    }

    let signal_fd = match sys::SignalFd::new(SignalSet::ALL.bits()) {
        Ok(fd) => fd,
        Err(error) => {
            error!("setup", "cannot open a signalfd: {error}");
            return EXIT_INTERNAL;
        }
    };

    // A command in a session of its own can only take the terminal once
    // grace has let go of it. If grace led its session, the kernel now
    // sends SIGHUP and SIGCONT to the foreground group: grace's own, and
    // not for the command.
    let mut ignore_once = SignalSet::EMPTY;
    if config.new_session
        && sys::is_terminal(libc::STDIN_FILENO)
        && let Ok(was_leader) = sys::detach_controlling_terminal(libc::STDIN_FILENO)
        && was_leader
    {
        ignore_once = ignore_once.with(SIGHUP).with(SIGCONT);
    }

    // With services, the main command starts once they are all ready.
    let started = if services.is_some() {
        None
    } else {
        match spawn::start_main(&config, &environment, inherited, credentials.as_ref()) {
            Ok(started) => Some(started),
            Err(code) => return code,
        }
    };
    let edge = edge::Edge::new(
        &config,
        &environment,
        inherited,
        signal_fd,
        started.map_or(0, |started| started.pid),
        credentials.as_ref(),
    );
    let running = services.as_ref().map(|services| services::run::Running {
        fleet: services::fleet::Fleet::new(services, config.has_command),
        runtime: services::run::Runtime::new(
            services,
            &config,
            &environment,
            inherited,
            credentials.as_ref(),
            config.run_dir.as_deref(),
        ),
    });
    let outcome = supervisor::Supervisor::new(edge, running, ignore_once).run();
    if started.is_some_and(|started| started.owns_terminal) {
        spawn::reclaim_terminal();
    }
    match outcome {
        Ok(status) => status.exit_code(&config.success_exits),
        Err(error) => {
            error!("internal", "event loop failed: {error}");
            EXIT_INTERNAL
        }
    }
}

fn version(personality: Personality) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match personality {
        Personality::Grace => format!("grace {version}\n"),
        other => format!(
            "grace {version} ({}-compatible command line)\n",
            other.name()
        ),
    }
}

fn print_stdout(text: &str) -> i32 {
    let _ = sys::write_all(libc::STDOUT_FILENO, text.as_bytes());
    0
}

/// `NAME=value` entries as (name, value), read as std reads them: an entry
/// without `=` is skipped, and a leading `=` belongs to the name.
fn split_variables(environment: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    environment
        .iter()
        .filter_map(|entry| {
            let at = entry.iter().skip(1).position(|&b| b == b'=')? + 1;
            Some((entry[..at].to_vec(), entry[at + 1..].to_vec()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_split_as_std_splits_them() {
        let environment = [
            b"PATH=/bin".to_vec(),
            b"EMPTY=".to_vec(),
            b"A=b=c".to_vec(),
            b"NOEQUALS".to_vec(),
            b"=x=y".to_vec(),
            Vec::new(),
        ];
        let split = split_variables(&environment);
        let split: Vec<(&[u8], &[u8])> = split
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        assert_eq!(
            split,
            [
                (&b"PATH"[..], &b"/bin"[..]),
                (b"EMPTY", b""),
                (b"A", b"b=c"),
                (b"=x", b"y"),
            ]
        );
    }
}
