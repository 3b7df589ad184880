//! grace: a container init. It starts the command, forwards signals to it,
//! reaps every zombie and exits with the command's status.
//!
//! This file wires the modules together and turns every outcome into an exit
//! code; each concern lives in its own module.

#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]
// A panic in PID 1 takes the whole container down: no unwrap, expect or
// panic outside tests; every failure is an error path.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cli;
mod inspect;
mod log;
mod procfs;
#[cfg(test)]
mod properties;
mod reap;
mod scope;
mod shutdown;
mod signals;
mod spawn;
mod supervisor;
#[allow(unsafe_code)]
mod sys;

use std::ffi::OsString;
use std::io::Write;

use cli::Invocation;
use signals::{SIGPIPE, SignalSet};

/// Exit code for a command line grace cannot run.
const EXIT_USAGE: i32 = 2;
/// Exit code when grace itself fails after starting (a broken kernel
/// interface), distinct from any code the command could produce through us.
const EXIT_INTERNAL: i32 = 125;

/// Called from the C entry point in `sys` with the raw argv.
pub fn run(argv: Vec<OsString>) -> i32 {
    // First thing: block every signal, so none is lost or acted on by
    // default between now and the event loop. What we replace is what the
    // command must get back.
    let original_mask = match sys::set_signal_mask(SignalSet::ALL.bits()) {
        Ok(mask) => SignalSet::from_bits(mask),
        Err(error) => {
            error!("cannot block signals: {error}");
            return EXIT_INTERNAL;
        }
    };
    let inherited = spawn::Inherited {
        signal_mask: original_mask,
        sigpipe_ignored: sys::is_ignored(SIGPIPE.number()),
    };

    let args: Vec<OsString> = argv.into_iter().skip(1).collect();
    let (usage, help_command) = cli::usage_for(&args);
    let config = match cli::parse(args) {
        Ok(Invocation::Run(config)) => config,
        Ok(Invocation::Help) => return print_stdout(cli::HELP),
        Ok(Invocation::Version) => {
            return print_stdout(&format!("grace {}\n", env!("CARGO_PKG_VERSION")));
        }
        Ok(Invocation::InspectHelp) => return print_stdout(cli::INSPECT_HELP),
        Ok(Invocation::Inspect(options)) => {
            // A short-lived reader, not an init: Ctrl-C must work as usual.
            // SIGPIPE stays blocked so that a closed stdout is an error to
            // ignore rather than a death.
            let _ = sys::set_signal_mask(original_mask.with(SIGPIPE).bits());
            return inspect::run(options);
        }
        Err(error) => {
            error!("{error}");
            let _ = writeln!(
                std::io::stderr().lock(),
                "{usage}\nTry '{help_command}' for more information."
            );
            return EXIT_USAGE;
        }
    };
    log::set_verbosity(config.quiet, config.verbose);

    if config.subreaper || std::process::id() != 1 {
        // Without this, orphans of the command would be re-parented past us
        // to the namespace's PID 1, and nobody here would reap them.
        match sys::become_child_subreaper() {
            Ok(()) => debug!("registered as child subreaper"),
            Err(error) => warn!(
                "cannot register as child subreaper: {error}; orphans will not be reaped by grace"
            ),
        }
    }
    if let Some(signal) = config.parent_death_signal
        && let Err(error) = sys::set_parent_death_signal(signal.number())
    {
        warn!("cannot set parent death signal {signal}: {error}");
    }

    let signal_fd = match sys::SignalFd::new(SignalSet::ALL.bits()) {
        Ok(fd) => fd,
        Err(error) => {
            error!("cannot open a signalfd: {error}");
            return EXIT_INTERNAL;
        }
    };

    let started = match spawn::start(&config.command, &config.args, inherited, true) {
        Ok(started) => started,
        Err(error) => {
            error!("{error}");
            return error.exit_code();
        }
    };
    debug!(
        "started main process {} (signal mask {:#x})",
        started.pid,
        inherited.signal_mask.bits()
    );

    let outcome = supervisor::Supervisor::new(&config, inherited, signal_fd, started.pid).run();
    if started.owns_terminal {
        spawn::reclaim_terminal();
    }
    match outcome {
        Ok(status) => status.exit_code(&config.success_exits),
        Err(error) => {
            error!("event loop failed: {error}");
            EXIT_INTERNAL
        }
    }
}

fn print_stdout(text: &str) -> i32 {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
