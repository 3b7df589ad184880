//! The shutdown timeline: when each step of a stop happens.
//!
//! A stop runs through delay → pre-stop → signalling (main first or
//! everyone) → draining, against one deadline fixed when it starts. This
//! module decides *what is due when*; the supervisor carries it out. Keeping
//! the decisions pure lets them be tested without processes or clocks.

use core::time::Duration;

use crate::cli::{Config, StopOrder};
use crate::signals::Signal;
use crate::time::Instant;

/// Where a stop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `--stop-delay`: everything keeps running until `until`.
    Delaying { until: Instant },
    /// `--pre-stop` is running as `pid`; it is killed at `until`.
    PreStop { pid: i32, until: Instant },
    /// `--stop-order main-first`: the main process has its signal; the
    /// others get theirs when it exits or at `until`.
    MainFirst { until: Instant },
    /// Everyone has been signalled; waiting for the last process.
    Draining,
}

/// What the supervisor must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing is due before `Shutdown::next_wakeup`.
    Wait,
    StartPreStop,
    /// The pre-stop command overran its bound: kill it and go on.
    AbandonPreStop {
        pid: i32,
    },
    SignalMain,
    SignalEveryone,
    SignalOthers,
}

#[derive(Debug, Clone)]
pub struct Shutdown {
    pub started: Instant,
    pub deadline: Instant,
    /// The stop signal that started this; None when the main process exited
    /// on its own with others still running.
    pub trigger: Option<Signal>,
    pub phase: Phase,
    order: StopOrder,
    grace_period: Duration,
    has_pre_stop: bool,
}

impl Shutdown {
    /// A stop starting at `now`. When the main process exited by itself
    /// there is nothing left to keep serving, so the delay and the pre-stop
    /// command are skipped.
    pub fn begin(config: &Config, trigger: Option<Signal>, now: Instant) -> Self {
        // Saturating: an absurd period is a deadline that never comes.
        let deadline = now + config.grace_period;
        let signalled = trigger.is_some();
        let delay = if signalled {
            config.stop_delay
        } else {
            Duration::ZERO
        };
        Shutdown {
            started: now,
            deadline,
            trigger,
            phase: Phase::Delaying {
                until: (now + delay).min(deadline),
            },
            order: config.stop_order,
            grace_period: config.grace_period,
            has_pre_stop: signalled && config.pre_stop.is_some(),
        }
    }

    /// The next step at `now`, given whether the main process is still
    /// running and whether the pre-stop command has finished.
    pub fn next_step(&self, now: Instant, main_running: bool) -> Step {
        match self.phase {
            Phase::Delaying { until } if now >= until || !main_running => {
                if self.has_pre_stop && main_running {
                    Step::StartPreStop
                } else {
                    self.signalling_step(main_running)
                }
            }
            Phase::PreStop { pid, until } if now >= until => Step::AbandonPreStop { pid },
            Phase::MainFirst { until } if now >= until || !main_running => Step::SignalOthers,
            _ => Step::Wait,
        }
    }

    fn signalling_step(&self, main_running: bool) -> Step {
        if self.order == StopOrder::MainFirst && main_running {
            Step::SignalMain
        } else {
            Step::SignalEveryone
        }
    }

    /// The step after the pre-stop command ended (or was abandoned).
    pub fn after_pre_stop(&self, main_running: bool) -> Step {
        self.signalling_step(main_running)
    }

    /// The pre-stop command may use at most half of what is left, so the
    /// processes keep the other half for their own cleanup.
    pub fn pre_stop_bound(&self, now: Instant) -> Instant {
        now + self.deadline.saturating_duration_since(now) / 2
    }

    /// With main-first ordering the others wait at most until half the
    /// grace period.
    pub fn others_at_the_latest(&self) -> Instant {
        (self.started + self.grace_period / 2).min(self.deadline)
    }

    /// When grace must wake up next even if no signal arrives.
    pub fn next_wakeup(&self) -> Instant {
        let phase_end = match self.phase {
            Phase::Delaying { until } | Phase::PreStop { until, .. } => until,
            Phase::MainFirst { until } => until,
            Phase::Draining => self.deadline,
        };
        phase_end.min(self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::SIGTERM;

    fn config(args: &[&str]) -> Config {
        let mut words: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        words.push(b"cmd".to_vec());
        match crate::cli::parse(words) {
            Ok(crate::cli::Invocation::Run(config)) => config,
            other => panic!("{other:?}"),
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn default_stop_signals_everyone_at_once() {
        let t0 = Instant::now();
        let s = Shutdown::begin(&config(&[]), Some(SIGTERM), t0);
        assert_eq!(s.deadline, t0 + Duration::from_secs(9));
        assert_eq!(s.next_step(t0, true), Step::SignalEveryone);
    }

    #[test]
    fn stop_delay_keeps_everything_running_until_it_ends() {
        let t0 = Instant::now();
        let s = Shutdown::begin(&config(&["--stop-delay", "2s"]), Some(SIGTERM), t0);
        assert_eq!(s.next_step(t0 + 1999 * MS, true), Step::Wait);
        assert_eq!(s.next_wakeup(), t0 + 2000 * MS);
        assert_eq!(s.next_step(t0 + 2000 * MS, true), Step::SignalEveryone);
        // The main process going away ends the wait early.
        assert_eq!(s.next_step(t0 + MS, false), Step::SignalEveryone);
    }

    #[test]
    fn stop_delay_never_outlasts_the_grace_period() {
        let t0 = Instant::now();
        let s = Shutdown::begin(
            &config(&["--stop-delay", "1m", "--grace-period", "3s"]),
            Some(SIGTERM),
            t0,
        );
        assert_eq!(s.next_wakeup(), t0 + Duration::from_secs(3));
    }

    #[test]
    fn pre_stop_comes_after_the_delay_and_is_bounded() {
        let t0 = Instant::now();
        let c = config(&[
            "--stop-delay",
            "1s",
            "--pre-stop",
            "true",
            "--grace-period",
            "9s",
        ]);
        let mut s = Shutdown::begin(&c, Some(SIGTERM), t0);
        assert_eq!(s.next_step(t0 + 1000 * MS, true), Step::StartPreStop);
        let bound = s.pre_stop_bound(t0 + 1000 * MS);
        assert_eq!(bound, t0 + 5000 * MS);
        s.phase = Phase::PreStop {
            pid: 7,
            until: bound,
        };
        assert_eq!(s.next_step(t0 + 4999 * MS, true), Step::Wait);
        assert_eq!(s.next_step(bound, true), Step::AbandonPreStop { pid: 7 });
        assert_eq!(s.after_pre_stop(true), Step::SignalEveryone);
    }

    #[test]
    fn main_first_signals_the_others_on_main_exit_or_at_half_time() {
        let t0 = Instant::now();
        let c = config(&["--stop-order", "main-first", "--grace-period", "10s"]);
        let mut s = Shutdown::begin(&c, Some(SIGTERM), t0);
        assert_eq!(s.next_step(t0, true), Step::SignalMain);
        s.phase = Phase::MainFirst {
            until: s.others_at_the_latest(),
        };
        assert_eq!(s.next_step(t0 + 4999 * MS, true), Step::Wait);
        assert_eq!(s.next_step(t0 + 5000 * MS, true), Step::SignalOthers);
        assert_eq!(s.next_step(t0 + MS, false), Step::SignalOthers);
    }

    #[test]
    fn main_exiting_on_its_own_skips_delay_and_pre_stop() {
        let t0 = Instant::now();
        let c = config(&["--stop-delay", "5s", "--pre-stop", "true"]);
        let s = Shutdown::begin(&c, None, t0);
        assert_eq!(s.next_step(t0, false), Step::SignalEveryone);
    }
}
