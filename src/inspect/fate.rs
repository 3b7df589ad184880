//! Fates: how a process reacts to a signal it receives (its dispositions,
//! the signal's default action, its state), and the words for where that
//! leaves it: its outcome, the SIGKILL that ends it, when the whole stop
//! ends. Shared by every stage that follows classifying.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::{SIGKILL, SIGSTOP, Signal};
use crate::process::procfs::Disposition;

use super::classify::Role;
use super::collect::Process;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Gets a stop signal and handles it, with time until a deadline.
    Graceful,
    /// Gets it and handles it, but is SIGKILLed when PID 1 exits, which may
    /// be before it is done.
    CutShort,
    /// The signal's default action ends it at once, without cleanup.
    Terminated,
    /// Ends by SIGKILL without having been able to act on a stop signal.
    Sigkill,
    /// Neither signalled nor killed.
    Survives,
    /// Already exited; waiting to be reaped.
    Zombie,
    KernelThread,
    /// Its dispositions could not be read, or PID 1 is not visible.
    Unknown,
}

impl Outcome {
    pub(super) fn name(self) -> &'static str {
        match self {
            Outcome::Graceful => "graceful",
            Outcome::CutShort => "cut-short",
            Outcome::Terminated => "terminated",
            Outcome::Sigkill => "sigkill",
            Outcome::Survives => "survives",
            Outcome::Zombie => "zombie",
            Outcome::KernelThread => "kernel-thread",
            Outcome::Unknown => "unknown",
        }
    }

    /// The summary's words after a count: for one process, for several.
    pub(super) fn counted(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Graceful => ("can stop gracefully", "can stop gracefully"),
            Outcome::CutShort => ("may be cut short", "may be cut short"),
            Outcome::Terminated => ("is terminated at once", "are terminated at once"),
            Outcome::Sigkill => ("will be SIGKILLed", "will be SIGKILLed"),
            Outcome::Survives => ("is left running", "are left running"),
            Outcome::Zombie => ("zombie", "zombies"),
            Outcome::KernelThread => ("kernel thread", "kernel threads"),
            Outcome::Unknown => ("unknown", "unknown"),
        }
    }

    pub(super) const ALL: [Outcome; 8] = [
        Outcome::Graceful,
        Outcome::CutShort,
        Outcome::Terminated,
        Outcome::Sigkill,
        Outcome::Survives,
        Outcome::Zombie,
        Outcome::KernelThread,
        Outcome::Unknown,
    ];
}

/// The SIGKILL that ends a process if it is still running by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KilledBy {
    /// grace's `--grace-period`.
    GraceDeadline,
    /// The kernel, when PID 1 of the namespace exits.
    InitExit,
    /// The runtime, when its timeout runs out (docker stop: 10 s).
    RuntimeTimeout,
    /// The stop signal is SIGKILL itself.
    StopSignal,
    /// A service's `stop_timeout`, this long after its stop signal.
    StopTimeout(Duration),
}

impl KilledBy {
    pub(super) fn name(self) -> &'static str {
        match self {
            KilledBy::GraceDeadline => "grace-deadline",
            KilledBy::InitExit => "init-exit",
            KilledBy::RuntimeTimeout => "runtime-timeout",
            KilledBy::StopSignal => "stop-signal",
            KilledBy::StopTimeout(_) => "stop-timeout",
        }
    }
}

/// When the whole stop is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopEnds {
    /// As soon as the signalled processes have exited (or were SIGKILLed
    /// because PID 1 exited).
    AllExit,
    /// At grace's deadline: someone cannot stop gracefully.
    GraceDeadline,
    /// Once everyone has exited, some SIGKILLed at their service's
    /// `stop_timeout`: they cannot stop gracefully.
    StopTimeout,
    /// At the runtime's timeout: the stop signal achieves nothing.
    RuntimeTimeout,
    /// At once: the stop signal is SIGKILL.
    Immediately,
    /// Nothing ends it: the target is not a namespace's PID 1 and some
    /// processes are left running.
    NotStopped,
    Unknown,
}

impl StopEnds {
    pub(super) fn name(self) -> &'static str {
        match self {
            StopEnds::AllExit => "all-exit",
            StopEnds::GraceDeadline => "grace-deadline",
            StopEnds::StopTimeout => "stop-timeout",
            StopEnds::RuntimeTimeout => "runtime-timeout",
            StopEnds::Immediately => "immediately",
            StopEnds::NotStopped => "not-stopped",
            StopEnds::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prediction {
    pub(super) role: Role,
    /// The signal the stop sends it (None: none at all).
    pub(super) receives: Option<Signal>,
    pub(super) outcome: Outcome,
    pub(super) killed_by: Option<KilledBy>,
    pub(super) verdict: String,
}

/// How a process reacts to a signal it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reaction {
    Handles,
    /// Its default action ends it.
    Dies,
    /// It cannot act on it; the text says why, to follow "but".
    CannotAct(String),
    /// Its dispositions are unknown; the text says why.
    Unknown(String),
}

impl Reaction {
    pub(super) fn exits(&self) -> bool {
        matches!(self, Reaction::Handles | Reaction::Dies)
    }
}

/// What a signal does to a process that has no handler for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

/// signal(7)'s table: SIGCHLD, SIGURG, SIGWINCH (and SIGCONT, which only
/// resumes) are ignored, the four stop signals stop, everything else
/// terminates, core dump or not, real-time signals included.
fn default_action(signal: Signal) -> DefaultAction {
    match signal.number() {
        17 | 18 | 23 | 28 => DefaultAction::Ignore,
        19..=22 => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// How `p` reacts to `signal`; `continued` when it is also sent SIGCONT
/// (grace does that, so a stopped process can run its handler).
pub(super) fn react(p: &Process, signal: Signal, continued: bool) -> Reaction {
    if signal == SIGKILL {
        return Reaction::Dies;
    }
    let Some(dispositions) = p.dispositions else {
        let why = p.error.clone().unwrap_or_else(|| "unreadable".into());
        return Reaction::Unknown(why);
    };
    match dispositions.of(signal) {
        Disposition::Blocks => Reaction::CannotAct(format!("blocks {signal}")),
        Disposition::Ignores => Reaction::CannotAct(format!("ignores {signal}")),
        Disposition::Handles if p.state == 't' => Reaction::CannotAct(
            "is stopped by a debugger, so its handler cannot run until it is released".into(),
        ),
        Disposition::Handles if p.state == 'T' && !continued => Reaction::CannotAct(
            "is stopped, so its handler cannot run until it is continued".into(),
        ),
        Disposition::Handles => Reaction::Handles,
        // The kernel does not deliver a signal without a handler to its
        // namespace's init, SIGKILL and SIGSTOP from outside excepted.
        Disposition::Default if p.ns_pid == 1 && signal != SIGSTOP => Reaction::CannotAct(format!(
            "as PID 1 with {signal} at its default action it ignores it (the kernel drops it)"
        )),
        Disposition::Default => match default_action(signal) {
            DefaultAction::Terminate => Reaction::Dies,
            DefaultAction::Ignore => {
                Reaction::CannotAct(format!("{signal}'s default action is to ignore it"))
            }
            DefaultAction::Stop => {
                Reaction::CannotAct(format!("{signal}'s default action stops it"))
            }
        },
    }
}
