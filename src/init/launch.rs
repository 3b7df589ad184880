//! The init brought up and run: what grace does to itself before the loop
//! (subreaper, parent death signal, the signalfd, letting go of the
//! terminal), the main command started unless services come first, the
//! loop, and its outcome as grace's exit code.

use super::EXIT_INTERNAL;
use super::edge::Edge;
use super::setup::Setup;
use super::supervisor::Supervisor;
use crate::base::signals::{SIGCONT, SIGHUP, SignalSet};
use crate::process::spawn;
use crate::services::{fleet::Fleet, runtime::Running, runtime::Runtime};
use crate::{debug, error, sys, warn};

/// Runs the init `setup` describes until it ends; its exit code.
pub fn launch(setup: &Setup) -> i32 {
    let config = &setup.config;
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
    let started = if setup.services.is_some() {
        None
    } else {
        match spawn::start_main(
            config,
            &setup.environment,
            setup.inherited,
            setup.credentials.as_ref(),
        ) {
            Ok(started) => Some(started),
            Err(code) => return code,
        }
    };
    let edge = Edge::new(setup, signal_fd, started.map_or(0, |started| started.pid));
    let running = setup.services.as_ref().map(|services| Running {
        fleet: Fleet::new(services, config.has_command).with_grace_period(config.grace_period),
        runtime: Runtime::new(
            services,
            config,
            &setup.environment,
            setup.inherited,
            setup.credentials.as_ref(),
            config.run_dir.as_deref(),
        ),
    });
    let outcome = Supervisor::new(edge, running, ignore_once).run();
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
