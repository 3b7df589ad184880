//! The deadline: note who is still running, SIGKILL them all, reap them,
//! and only then say who they were (`init::kill` is the mechanism, shared
//! with a service's `stop_timeout`).
//!
//! Between the kill and the naming, grace waits in a loop of its own, not
//! in the supervisor's: once the deadline's SIGKILL is out the stop is
//! over, so nothing the supervisor's wait serves may happen any more (no
//! signal forwarded or acted on, no service started, no step of the stop),
//! only the killed being reaped and, as PID 1, processes created while
//! the SIGKILL went out killed too. That wait is bounded by
//! `AFTER_KILL_BOUND`, whatever happens: a process in uninterruptible
//! sleep cannot hold PID 1 back.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::log;
use crate::base::signals::{Signal, SignalSet};
use crate::base::time::{Instant, Shown};
use crate::init::kill::{self, Snapshot, Whom, Why};
use crate::init::scope::Scope;
use crate::process::procfs;
use crate::sys::{self, PidFd, ReceivedSignal};
use crate::warn;

use super::Edge;

/// After the deadline's SIGKILL, how long grace waits for the kernel to
/// finish the killed processes (one stuck in uninterruptible sleep cannot
/// be waited for forever).
const AFTER_KILL_BOUND: Duration = Duration::from_secs(1);

/// How many times the deadline's SIGKILL is repeated for processes created
/// while it went out (a fork bomb must not keep grace past its bound).
const MAX_KILL_ROUNDS: usize = 16;

impl Edge<'_> {
    fn whom(&self) -> Whom {
        Whom::Scope {
            scope: self.scope,
            own_pid: self.own_pid,
        }
    }

    /// Nothing is written before the kill: at thousands of stragglers the
    /// log would hold it back.
    pub(super) fn kill_and_name(&mut self, main_signal: Signal) -> sys::Result<()> {
        // Exits already waiting are no stragglers.
        for exit in self.collect_exits()? {
            self.record_exit(exit);
        }
        self.tally.reaped_before_kill = Some(self.tally.reaped);
        let stop_signal = self.config.stop_signal;
        let lean = self.scope == Scope::Namespace && !log::enabled(log::Level::Info);
        let snapshot = Snapshot::take(
            self.whom(),
            SignalSet::EMPTY.with(stop_signal).with(main_signal),
            lean,
        );
        kill::kill(self.whom());
        self.wait_after_kill()?;
        let why = Why::Deadline {
            elapsed_ms: self.elapsed_ms(),
        };
        // What each was due: the main process what grace received, the
        // others the stop signal. What each was sent, the record says.
        let main = Some((self.main_pid, main_signal));
        let killed = kill::name(&snapshot, why, stop_signal, main, self.signalling.sent());
        self.killed_at_deadline.extend(killed);
        Ok(())
    }

    /// Waits, within a bound, until the killed are gone. As PID 1, a
    /// process created while SIGKILL went out (entered from outside, or a
    /// fork that won the race) is killed by another round.
    fn wait_after_kill(&mut self) -> sys::Result<()> {
        let mut batch = [ReceivedSignal::default(); 32];
        let bound = Instant::now() + AFTER_KILL_BOUND;
        let mut rounds = 1;
        let mut killed_up_to = procfs::read_last_pid();
        loop {
            for exit in self.collect_exits()? {
                self.record_exit(exit);
            }
            if !self.children_left && !self.outsiders_left() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= bound {
                warn!(
                    "kill_timeout",
                    "processes still present {} after SIGKILL; exiting anyway",
                    Shown(AFTER_KILL_BOUND)
                );
                return Ok(());
            }
            if self.scope == Scope::Namespace && rounds < MAX_KILL_ROUNDS {
                let last = procfs::read_last_pid();
                if last != killed_up_to {
                    kill::kill(self.whom());
                    rounds += 1;
                    killed_up_to = last;
                }
            }
            let watched: Vec<&PidFd> = self.outsiders.iter().collect();
            self.signals
                .receive_watching(&mut batch, Some(bound - now), &watched)?;
            self.forget_exited_outsiders();
        }
    }
}
