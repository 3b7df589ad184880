//! The services' lives as a state machine: when each one starts, when it
//! counts as ready, what its exit means (a restart after a backoff, or the
//! end of the container), and the ordered stop, in which a service gets
//! its signal only once every service that starts after it is gone.
//!
//! As `shutdown` does for the stop, this decides and does nothing itself:
//! events go in (time, an exit, a readiness report, a probe's answer, the
//! main command's exit, the stop), what must happen comes out through
//! `Hands`, which `run` carries out with real processes and the tests
//! below record. Nothing here reads a clock.

use core::time::Duration;

use crate::base::prelude::*;

use super::model::{DEFAULT_PROBE_INTERVAL, Ready, Restart, Services};
pub use super::status::State;
use crate::base::signals::Signal;
use crate::base::time::Instant;
use crate::process::reap::WaitStatus;

/// The first wait before a restart; it doubles on each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before a restart.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long counts as a success: the backoff starts over.
pub const STEADY: Duration = Duration::from_secs(10);
/// `max_restarts` counts the restarts within this window.
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// What the fleet asks of the world.
pub trait Hands {
    /// Starts the service: its pid (also its process group), or the status
    /// its failed start counts as.
    fn spawn(&mut self, service: usize) -> Result<i32, WaitStatus>;
    /// Starts one readiness check (an `exec` probe or a TCP connect); its
    /// answer comes back through `Fleet::on_probe`. False: it could not
    /// even start, which counts as "not yet".
    fn probe(&mut self, service: usize) -> bool;
    /// Whatever readiness check of the service runs or waits is abandoned.
    fn forget_readiness(&mut self, service: usize);
    /// `signal` to the service's process (or with a negative pid, to its
    /// process group), then SIGCONT.
    fn signal(&mut self, service: usize, pid: i32, signal: Signal);
    /// The service's stop timeout: SIGKILL to its process group, and who
    /// was in it named with the service.
    fn kill(&mut self, service: usize, group: i32);
    /// Whether any process is left in the group.
    fn group_alive(&mut self, group: i32) -> bool;
    /// Starts the main command, once every service is ready.
    fn start_main(&mut self) -> Result<i32, WaitStatus>;
    fn note(&mut self, note: Note);
}

/// What the fleet tells the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Started {
        service: usize,
        pid: i32,
    },
    Ready {
        service: usize,
    },
    /// Every service is ready (the first time, and after each recovery).
    AllReady,
    Exited {
        service: usize,
        pid: i32,
        status: WaitStatus,
    },
    Restarting {
        service: usize,
        after: Duration,
    },
    /// The exit of a service that is not restarted: the container ends.
    Essential {
        service: usize,
        status: WaitStatus,
    },
    /// More than `max_restarts` within a minute: the container ends.
    GaveUp {
        service: usize,
        restarts: u32,
    },
    /// Not ready by its `start_timeout`: the container ends.
    NotReady {
        service: usize,
        waited: Duration,
    },
    /// The stop reached the service.
    Stopping {
        service: usize,
        pid: i32,
        signal: Signal,
    },
    /// The main command could not start.
    MainFailed {
        status: WaitStatus,
    },
}

/// What the supervisor must do after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Nothing,
    /// Stop everything: a service's exit, a failure to become ready, or
    /// nothing left to run.
    StopAll,
    /// During the stop: the last service is gone.
    Down,
}

impl Verdict {
    fn or(self, other: Verdict) -> Verdict {
        if self == Verdict::Nothing {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Waits for the service itself (an fd or notify message).
    Told,
    /// The next probe starts at this time.
    At(Instant),
    /// A probe runs.
    Running,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// For the services it starts after.
    Waiting,
    Starting {
        pid: i32,
        since: Instant,
        until: Instant,
        check: Check,
    },
    Ready {
        pid: i32,
        since: Instant,
    },
    /// Exited; starts again at `until`.
    Backoff {
        until: Instant,
    },
    /// Signalled by the stop; `pid` None once reaped while others of its
    /// group remain.
    Stopping {
        pid: Option<i32>,
        group: i32,
        since: Instant,
        kill_at: Option<Instant>,
    },
    /// Gone (None: it never ran).
    Down {
        status: Option<WaitStatus>,
    },
}

#[derive(Debug, Clone)]
struct Unit {
    run: Run,
    /// Restarts so far.
    restarts: u32,
    /// Failures in a row since the last steady run: the backoff's exponent.
    failures: u32,
    /// When the recent restarts happened, within `RESTART_WINDOW`.
    recent: Vec<Instant>,
    /// When the current or last run began.
    started: Option<Instant>,
    /// How the last run ended.
    last: Option<WaitStatus>,
}

/// The main command's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Main {
    /// No command: the services are the whole job.
    Absent,
    /// Starts once every service is ready.
    Waiting,
    Running,
    /// Exited, or will never start.
    Done,
}

/// One service, as the fleet sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub state: State,
    pub pid: Option<i32>,
    pub restarts: u32,
    /// When the current (or last) run began.
    pub since: Option<Instant>,
}

pub struct Fleet {
    units: Vec<Unit>,
    /// Per service: indices it starts after, and every service that
    /// starts after it, directly or through others (a dead service in the
    /// middle of a chain must not let the stop skip ahead).
    after: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    readiness: Vec<Ready>,
    restart: Vec<Restart>,
    max_restarts: Vec<u32>,
    start_timeout: Vec<Duration>,
    stop_signal: Vec<Signal>,
    stop_timeout: Vec<Option<Duration>>,
    main: Main,
    /// The stop's deadline, once it began.
    stopping: Option<Instant>,
    /// Why the container ends, when a service decided it.
    outcome: Option<WaitStatus>,
    /// Whether `Down` was reported.
    down: bool,
    /// Whether every service was ready at the last look.
    all_ready: bool,
    /// Bumped on every change `grace status` would show.
    pub generation: u64,
}

impl Fleet {
    pub fn new(services: &Services, has_main: bool) -> Fleet {
        let list = &services.services;
        Fleet {
            units: list
                .iter()
                .map(|_| Unit {
                    run: Run::Waiting,
                    restarts: 0,
                    failures: 0,
                    recent: Vec::new(),
                    started: None,
                    last: None,
                })
                .collect(),
            after: list.iter().map(|s| s.after.clone()).collect(),
            dependents: (0..list.len())
                .map(|service| {
                    let mut found = Vec::new();
                    let mut queue = list[service].dependents.clone();
                    while let Some(next) = queue.pop() {
                        if !found.contains(&next) {
                            found.push(next);
                            queue.extend_from_slice(&list[next].dependents);
                        }
                    }
                    found
                })
                .collect(),
            readiness: list.iter().map(|s| s.ready.clone()).collect(),
            restart: list.iter().map(|s| s.restart).collect(),
            max_restarts: list.iter().map(|s| s.max_restarts).collect(),
            start_timeout: list.iter().map(|s| s.start_timeout).collect(),
            stop_signal: list.iter().map(|s| s.stop_signal).collect(),
            stop_timeout: list.iter().map(|s| s.stop_timeout).collect(),
            main: if has_main {
                Main::Waiting
            } else {
                Main::Absent
            },
            stopping: None,
            outcome: None,
            down: false,
            all_ready: false,
            generation: 0,
        }
    }

    // The questions.

    pub fn view(&self, service: usize) -> View {
        let unit = &self.units[service];
        // A run's time counts from its start, whatever state it is in now
        // (ready, stopping, exited): uptime is the run's, not the state's.
        let (state, pid, since) = match unit.run {
            Run::Waiting => (State::Waiting, None, None),
            Run::Starting { pid, .. } => (State::Starting, Some(pid), unit.started),
            Run::Ready { pid, .. } => (State::Ready, Some(pid), unit.started),
            Run::Backoff { until } => (State::Restarting { at: until }, None, unit.started),
            Run::Stopping { pid, .. } => (State::Stopping, pid, unit.started),
            // Never started: still waiting, for good.
            Run::Down { status: None } => (State::Waiting, None, None),
            Run::Down {
                status: Some(status),
            } => (State::Exited(status), None, unit.started),
        };
        View {
            state,
            pid,
            restarts: unit.restarts,
            since,
        }
    }

    /// When the stop SIGKILLs the service's process group (its
    /// `stop_timeout`, if that comes before the deadline); None: not
    /// stopping, or only the deadline's kill bounds it.
    pub fn kill_at(&self, service: usize) -> Option<Instant> {
        match self.units[service].run {
            Run::Stopping { kill_at, .. } => kill_at,
            _ => None,
        }
    }

    /// The service whose process `pid` is (its main one).
    pub fn service_of(&self, pid: i32) -> Option<usize> {
        (0..self.units.len()).find(|&i| self.view(i).pid == Some(pid))
    }

    /// Each running service's process: whom a forwarded signal reaches.
    pub fn running(&self) -> impl Iterator<Item = (usize, i32)> + '_ {
        (0..self.units.len()).filter_map(|i| self.view(i).pid.map(|pid| (i, pid)))
    }

    /// How the container ends when no main command decides it: a
    /// service's exit, or a failure to start.
    pub fn outcome(&self) -> Option<WaitStatus> {
        self.outcome
    }

    /// Whether every service is ready and no stop has begun.
    pub fn all_ready(&self) -> bool {
        self.stopping.is_none()
            && self
                .units
                .iter()
                .all(|unit| matches!(unit.run, Run::Ready { .. }))
    }

    /// When the fleet must wake up even if nothing happens; None: never
    /// (every service ready, or simply running, costs no wake-up).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.units
            .iter()
            .filter_map(|unit| match unit.run {
                Run::Starting { until, check, .. } => match check {
                    Check::At(at) => Some(at.min(until)),
                    _ => Some(until),
                },
                Run::Backoff { until } => Some(until),
                Run::Stopping { kill_at, .. } => kill_at,
                _ => None,
            })
            .filter(|&at| at != Instant::far_future())
            .min()
    }

    // The events.

    /// The first start, and every step due now.
    pub fn on_time(&mut self, now: Instant, hands: &mut dyn Hands) -> Verdict {
        let mut verdict = Verdict::Nothing;
        for service in 0..self.units.len() {
            match self.units[service].run {
                Run::Starting {
                    until, since, pid, ..
                } if now >= until => {
                    if self.stopping.is_none() && self.outcome.is_none() {
                        hands.note(Note::NotReady {
                            service,
                            waited: now.saturating_duration_since(since),
                        });
                        self.outcome = Some(WaitStatus::Exited(1));
                        verdict = Verdict::StopAll;
                    }
                    // Bounded once: it stays a running, unready service.
                    hands.forget_readiness(service);
                    self.units[service].run = Run::Starting {
                        pid,
                        since,
                        until: Instant::far_future(),
                        check: Check::Told,
                    };
                }
                Run::Starting {
                    check: Check::At(at),
                    pid,
                    since,
                    until,
                } if now >= at => {
                    let check = if hands.probe(service) {
                        Check::Running
                    } else {
                        Check::At(now + self.probe_interval(service))
                    };
                    self.units[service].run = Run::Starting {
                        pid,
                        since,
                        until,
                        check,
                    };
                }
                Run::Backoff { until } if now >= until && self.stopping.is_none() => {
                    self.units[service].restarts += 1;
                    verdict = verdict.or(self.start(service, now, hands));
                }
                Run::Stopping {
                    kill_at: Some(at),
                    pid,
                    group,
                    since,
                } if now >= at => {
                    hands.kill(service, group);
                    self.units[service].run = Run::Stopping {
                        pid,
                        group,
                        since,
                        kill_at: None,
                    };
                }
                _ => {}
            }
        }
        verdict.or(self.advance(now, hands))
    }

    /// The readiness a service reports itself (its fd, its notify socket).
    pub fn on_ready(&mut self, now: Instant, service: usize, hands: &mut dyn Hands) -> Verdict {
        if let Run::Starting { pid, .. } = self.units[service].run {
            self.become_ready(service, pid, now, hands);
        }
        self.advance(now, hands)
    }

    /// A probe's answer.
    pub fn on_probe(
        &mut self,
        now: Instant,
        service: usize,
        ok: bool,
        hands: &mut dyn Hands,
    ) -> Verdict {
        if let Run::Starting {
            pid,
            since,
            until,
            check: Check::Running,
        } = self.units[service].run
        {
            if ok {
                self.become_ready(service, pid, now, hands);
            } else {
                self.units[service].run = Run::Starting {
                    pid,
                    since,
                    until,
                    check: Check::At(now + self.probe_interval(service)),
                };
            }
        }
        self.advance(now, hands)
    }

    /// A reaped process: None if it was no service's.
    pub fn on_exit(
        &mut self,
        now: Instant,
        pid: i32,
        status: WaitStatus,
        hands: &mut dyn Hands,
    ) -> Option<Verdict> {
        let service = self.service_of(pid)?;
        hands.note(Note::Exited {
            service,
            pid,
            status,
        });
        hands.forget_readiness(service);
        self.generation += 1;
        if self.stopping.is_some() {
            self.gone(service, pid, status, hands);
            return Some(self.advance(now, hands));
        }
        let verdict = self.exited(service, status, now, hands);
        Some(verdict.or(self.advance(now, hands)))
    }

    /// After a reaping pass during the stop: services whose process is
    /// gone but whose group was not are looked at again.
    pub fn after_reap(&mut self, now: Instant, hands: &mut dyn Hands) -> Verdict {
        if self.stopping.is_none() {
            return Verdict::Nothing;
        }
        for service in 0..self.units.len() {
            if let Run::Stopping {
                pid: None, group, ..
            } = self.units[service].run
                && !hands.group_alive(group)
            {
                self.units[service].run = Run::Down {
                    status: self.units[service].last_status(),
                };
                self.generation += 1;
            }
        }
        self.advance(now, hands)
    }

    pub fn on_main_exit(&mut self, now: Instant, hands: &mut dyn Hands) -> Verdict {
        self.main = Main::Done;
        self.advance(now, hands)
    }

    /// The stop begins: nothing starts or restarts any more, and the
    /// services stop from the last started to the first.
    pub fn begin_stop(
        &mut self,
        now: Instant,
        deadline: Instant,
        hands: &mut dyn Hands,
    ) -> Verdict {
        if self.stopping.is_some() {
            return Verdict::Nothing;
        }
        self.stopping = Some(deadline);
        self.generation += 1;
        if self.main == Main::Waiting {
            self.main = Main::Done;
        }
        for service in 0..self.units.len() {
            match self.units[service].run {
                Run::Waiting => self.units[service].run = Run::Down { status: None },
                Run::Backoff { .. } => {
                    self.units[service].run = Run::Down {
                        status: self.units[service].last_status(),
                    }
                }
                Run::Starting { .. } => hands.forget_readiness(service),
                _ => {}
            }
        }
        self.advance(now, hands)
    }

    // The transitions.

    fn probe_interval(&self, service: usize) -> Duration {
        match &self.readiness[service] {
            Ready::Exec(probe) => probe.interval,
            _ => DEFAULT_PROBE_INTERVAL,
        }
    }

    fn start(&mut self, service: usize, now: Instant, hands: &mut dyn Hands) -> Verdict {
        self.generation += 1;
        self.units[service].started = Some(now);
        match hands.spawn(service) {
            Ok(pid) => {
                hands.note(Note::Started { service, pid });
                let check = match self.readiness[service] {
                    Ready::Spawned => {
                        self.become_ready(service, pid, now, hands);
                        return Verdict::Nothing;
                    }
                    Ready::Fd(_) | Ready::Notify => Check::Told,
                    // Asked at once, a service is rarely ready yet.
                    Ready::Exec(_) | Ready::Tcp(_) => Check::At(now + self.probe_interval(service)),
                };
                self.units[service].run = Run::Starting {
                    pid,
                    since: now,
                    until: now + self.start_timeout[service],
                    check,
                };
                Verdict::Nothing
            }
            Err(status) => {
                hands.note(Note::Exited {
                    service,
                    pid: 0,
                    status,
                });
                self.exited(service, status, now, hands)
            }
        }
    }

    fn become_ready(&mut self, service: usize, pid: i32, now: Instant, hands: &mut dyn Hands) {
        hands.forget_readiness(service);
        self.units[service].run = Run::Ready { pid, since: now };
        self.generation += 1;
        hands.note(Note::Ready { service });
    }

    /// A service's own exit, outside the stop: restarted, or the end.
    fn exited(
        &mut self,
        service: usize,
        status: WaitStatus,
        now: Instant,
        hands: &mut dyn Hands,
    ) -> Verdict {
        let failed = status != WaitStatus::Exited(0);
        let restart = match self.restart[service] {
            Restart::No => false,
            Restart::OnFailure => failed,
            Restart::Always => true,
        };
        let unit = &mut self.units[service];
        unit.recent
            .retain(|&at| now.saturating_duration_since(at) < RESTART_WINDOW);
        if !restart {
            unit.run = Run::Down {
                status: Some(status),
            };
            unit.failures = 0;
            unit.last = Some(status);
            if self.restart[service] == Restart::No {
                hands.note(Note::Essential { service, status });
                self.outcome.get_or_insert(status);
                return Verdict::StopAll;
            }
            return Verdict::Nothing;
        }
        if unit.recent.len() as u32 >= self.max_restarts[service] {
            unit.run = Run::Down {
                status: Some(status),
            };
            unit.last = Some(status);
            hands.note(Note::GaveUp {
                service,
                restarts: unit.recent.len() as u32,
            });
            self.outcome.get_or_insert(status);
            return Verdict::StopAll;
        }
        let steady = unit
            .started
            .is_some_and(|started| now.saturating_duration_since(started) >= STEADY);
        if steady {
            unit.failures = 0;
        }
        let delay = backoff(unit.failures);
        unit.failures = unit.failures.saturating_add(1);
        unit.recent.push(now);
        unit.run = Run::Backoff { until: now + delay };
        unit.last = Some(status);
        hands.note(Note::Restarting {
            service,
            after: delay,
        });
        Verdict::Nothing
    }

    /// During the stop: the service's process is gone; the service is,
    /// once its group is too. What its process left in the group (a
    /// shell's children) gets the service's stop signal now: nobody else
    /// is left to pass it on.
    fn gone(&mut self, service: usize, pid: i32, status: WaitStatus, hands: &mut dyn Hands) {
        self.units[service].last = Some(status);
        let group = pid;
        let run = match self.units[service].run {
            Run::Stopping { since, kill_at, .. } if hands.group_alive(group) => {
                hands.signal(service, -group, self.stop_signal[service]);
                Run::Stopping {
                    pid: None,
                    group,
                    since,
                    kill_at,
                }
            }
            _ => Run::Down {
                status: Some(status),
            },
        };
        self.units[service].run = run;
    }

    /// Starts what may start, then, during the stop, signals what may be
    /// signalled.
    fn advance(&mut self, now: Instant, hands: &mut dyn Hands) -> Verdict {
        let Some(deadline) = self.stopping else {
            return self.advance_start(now, hands);
        };
        if self.main == Main::Running {
            return Verdict::Nothing;
        }
        for service in (0..self.units.len()).rev() {
            let pid = match self.units[service].run {
                Run::Starting { pid, .. } | Run::Ready { pid, .. } => pid,
                _ => continue,
            };
            let waits = self.dependents[service]
                .iter()
                .any(|&d| !matches!(self.units[d].run, Run::Down { .. }));
            if waits {
                continue;
            }
            let signal = self.stop_signal[service];
            hands.note(Note::Stopping {
                service,
                pid,
                signal,
            });
            hands.signal(service, pid, signal);
            // At the deadline the final kill names everyone anyway.
            let kill_at = self.stop_timeout[service]
                .map(|timeout| now + timeout)
                .filter(|&at| at < deadline);
            self.units[service].run = Run::Stopping {
                pid: Some(pid),
                group: pid,
                since: now,
                kill_at,
            };
            self.generation += 1;
        }
        let all_down = self
            .units
            .iter()
            .all(|unit| matches!(unit.run, Run::Down { .. }));
        if all_down && !self.down {
            self.down = true;
            return Verdict::Down;
        }
        Verdict::Nothing
    }

    fn advance_start(&mut self, now: Instant, hands: &mut dyn Hands) -> Verdict {
        let mut verdict = Verdict::Nothing;
        // In start order: a service may become ready at its spawn, which
        // lets the next one start in the same pass.
        for service in 0..self.units.len() {
            if self.units[service].run != Run::Waiting {
                continue;
            }
            let ready = |d: &usize| matches!(self.units[*d].run, Run::Ready { .. });
            if self.after[service].iter().all(ready) {
                verdict = verdict.or(self.start(service, now, hands));
                if verdict == Verdict::StopAll {
                    return verdict;
                }
            }
        }
        let all_ready = self.all_ready();
        if all_ready && !self.all_ready {
            hands.note(Note::AllReady);
        }
        self.all_ready = all_ready;
        if all_ready && self.main == Main::Waiting {
            match hands.start_main() {
                Ok(_) => self.main = Main::Running,
                Err(status) => {
                    hands.note(Note::MainFailed { status });
                    self.main = Main::Done;
                    self.outcome.get_or_insert(status);
                    return Verdict::StopAll;
                }
            }
        }
        // Nothing left to run and no command: the job is done.
        let idle = self
            .units
            .iter()
            .all(|unit| matches!(unit.run, Run::Down { .. }));
        if idle && self.main == Main::Absent && !self.units.is_empty() {
            return Verdict::StopAll;
        }
        verdict
    }
}

impl Unit {
    fn last_status(&self) -> Option<WaitStatus> {
        self.last
    }
}

/// The wait before the restart that follows `failures` failures in a row.
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGINT, SIGTERM};
    use crate::services::model::{Probe, Service};

    const MS: Duration = Duration::from_millis(1);

    /// What the fleet asked for, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Done {
        Spawn(usize),
        Probe(usize),
        Signal(usize, Signal),
        Kill(usize),
        StartMain,
        Note(Note),
    }

    #[derive(Default)]
    struct Recording {
        done: Vec<Done>,
        next_pid: i32,
        /// Services whose spawn fails with this status.
        fails: Vec<(usize, WaitStatus)>,
        /// Groups that still have members.
        alive: Vec<i32>,
    }

    impl Hands for Recording {
        fn spawn(&mut self, service: usize) -> Result<i32, WaitStatus> {
            self.done.push(Done::Spawn(service));
            if let Some(&(_, status)) = self.fails.iter().find(|(s, _)| *s == service) {
                return Err(status);
            }
            self.next_pid += 1;
            Ok(100 + self.next_pid)
        }
        fn probe(&mut self, service: usize) -> bool {
            self.done.push(Done::Probe(service));
            true
        }
        fn forget_readiness(&mut self, _service: usize) {}
        fn signal(&mut self, service: usize, _pid: i32, signal: Signal) {
            self.done.push(Done::Signal(service, signal));
        }
        fn kill(&mut self, service: usize, _group: i32) {
            self.done.push(Done::Kill(service));
        }
        fn group_alive(&mut self, group: i32) -> bool {
            self.alive.contains(&group)
        }
        fn start_main(&mut self) -> Result<i32, WaitStatus> {
            self.done.push(Done::StartMain);
            Ok(99)
        }
        fn note(&mut self, note: Note) {
            self.done.push(Done::Note(note));
        }
    }

    impl Recording {
        /// Only the acts, not the notes.
        fn acts(&mut self) -> Vec<Done> {
            let acts = self
                .done
                .iter()
                .filter(|d| !matches!(d, Done::Note(_)))
                .cloned()
                .collect();
            self.done.clear();
            acts
        }
        fn notes(&self) -> Vec<Note> {
            self.done
                .iter()
                .filter_map(|d| match d {
                    Done::Note(n) => Some(*n),
                    _ => None,
                })
                .collect()
        }
    }

    fn service(name: &str, ready: Ready, after: &[usize], restart: Restart) -> Service {
        Service {
            name: name.into(),
            command: vec![format!("/bin/{name}")],
            executable: format!("/bin/{name}"),
            ready,
            stop_signal: SIGTERM,
            stop_timeout: None,
            start_timeout: Duration::from_secs(60),
            after: after.to_vec(),
            dependents: Vec::new(),
            restart,
            max_restarts: 10,
            user: None,
            environment: Vec::new(),
            working_directory: None,
        }
    }

    fn services(mut list: Vec<Service>) -> Services {
        for i in 0..list.len() {
            let after = list[i].after.clone();
            for a in after {
                list[a].dependents.push(i);
            }
        }
        Services {
            grace_period: None,
            services: list,
        }
    }

    /// db ← app ← web, ready by fd, by spawn, by spawn.
    fn chain() -> Services {
        services(vec![
            service("db", Ready::Fd(3), &[], Restart::No),
            service("app", Ready::Spawned, &[0], Restart::No),
            service("web", Ready::Spawned, &[1], Restart::No),
        ])
    }

    fn pid(fleet: &Fleet, service: usize) -> i32 {
        fleet.view(service).pid.expect("running")
    }

    #[test]
    fn services_start_in_order_each_once_the_ones_before_are_ready() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), true);
        let mut rec = Recording::default();
        assert_eq!(fleet.on_time(t0, &mut rec), Verdict::Nothing);
        assert_eq!(rec.acts(), [Done::Spawn(0)]);
        assert_eq!(fleet.view(0).state, State::Starting);
        // Spawned readiness lets the whole rest of the chain start in one
        // pass, and then the main command.
        fleet.on_ready(t0 + MS, 0, &mut rec);
        assert_eq!(
            rec.acts(),
            [Done::Spawn(1), Done::Spawn(2), Done::StartMain]
        );
        assert!(fleet.all_ready());
        assert_eq!(
            fleet.next_wakeup(),
            None,
            "nothing to wake up for once ready"
        );
    }

    #[test]
    fn independent_services_start_together() {
        let list = services(vec![
            service("a", Ready::Fd(3), &[], Restart::No),
            service("b", Ready::Fd(3), &[], Restart::No),
            service("c", Ready::Spawned, &[0, 1], Restart::No),
        ]);
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        assert_eq!(rec.acts(), [Done::Spawn(0), Done::Spawn(1)]);
        fleet.on_ready(t0, 1, &mut rec);
        assert_eq!(rec.acts(), [], "c waits for a too");
        fleet.on_ready(t0, 0, &mut rec);
        assert_eq!(rec.acts(), [Done::Spawn(2)]);
    }

    #[test]
    fn a_probe_runs_at_its_interval_until_it_succeeds() {
        let probe = Probe {
            command: vec!["/bin/true".into()],
            executable: "/bin/true".into(),
            interval: 50 * MS,
        };
        let list = services(vec![service("a", Ready::Exec(probe), &[], Restart::No)]);
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        assert_eq!(rec.acts(), [Done::Spawn(0)]);
        assert_eq!(fleet.next_wakeup(), Some(t0 + 50 * MS));
        fleet.on_time(t0 + 50 * MS, &mut rec);
        assert_eq!(rec.acts(), [Done::Probe(0)]);
        fleet.on_probe(t0 + MS, 0, false, &mut rec);
        assert_eq!(fleet.next_wakeup(), Some(t0 + 51 * MS));
        fleet.on_time(t0 + 20 * MS, &mut rec);
        assert_eq!(rec.acts(), [], "not before the interval");
        fleet.on_time(t0 + 51 * MS, &mut rec);
        assert_eq!(rec.acts(), [Done::Probe(0)]);
        fleet.on_probe(t0 + 52 * MS, 0, true, &mut rec);
        assert_eq!(fleet.view(0).state, State::Ready);
        assert_eq!(fleet.next_wakeup(), None);
    }

    #[test]
    fn not_ready_by_the_start_timeout_ends_the_container() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), true);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        assert_eq!(fleet.next_wakeup(), Some(t0 + Duration::from_secs(60)));
        let verdict = fleet.on_time(t0 + Duration::from_secs(60), &mut rec);
        assert_eq!(verdict, Verdict::StopAll);
        assert!(
            rec.notes()
                .iter()
                .any(|n| matches!(n, Note::NotReady { service: 0, .. }))
        );
        assert_eq!(fleet.outcome(), Some(WaitStatus::Exited(1)));
        assert_eq!(fleet.next_wakeup(), None, "bounded once");
    }

    #[test]
    fn an_essential_exit_stops_everything_with_its_status() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_ready(t0, 0, &mut rec);
        let app = pid(&fleet, 1);
        let verdict = fleet.on_exit(t0, app, WaitStatus::Signaled(9), &mut rec);
        assert_eq!(verdict, Some(Verdict::StopAll));
        assert_eq!(fleet.outcome(), Some(WaitStatus::Signaled(9)));
        assert_eq!(
            fleet.on_exit(t0, 4242, WaitStatus::Exited(0), &mut rec),
            None
        );
    }

    #[test]
    fn restarts_back_off_doubling_and_start_over_after_a_steady_run() {
        let list = services(vec![service("a", Ready::Spawned, &[], Restart::Always)]);
        let mut t = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t, &mut rec);
        let mut waits = Vec::new();
        for _ in 0..4 {
            let verdict = fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Exited(0), &mut rec);
            assert_eq!(verdict, Some(Verdict::Nothing));
            let State::Restarting { at } = fleet.view(0).state else {
                panic!("{:?}", fleet.view(0))
            };
            waits.push(at.saturating_duration_since(t));
            assert_eq!(fleet.next_wakeup(), Some(at));
            t = at;
            fleet.on_time(t, &mut rec);
            assert_eq!(fleet.view(0).state, State::Ready);
        }
        assert_eq!(waits, [100 * MS, 200 * MS, 400 * MS, 800 * MS]);
        assert_eq!(fleet.view(0).restarts, 4);
        // Up for 10 s: the next failure waits the first backoff again.
        t = t + STEADY;
        fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Exited(1), &mut rec);
        assert_eq!(
            fleet.view(0).state,
            State::Restarting {
                at: t + FIRST_BACKOFF
            }
        );
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn on_failure_restarts_only_failures_and_a_clean_exit_is_no_end() {
        let list = services(vec![
            service("a", Ready::Spawned, &[], Restart::OnFailure),
            service("b", Ready::Spawned, &[], Restart::No),
        ]);
        let t = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t, &mut rec);
        fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Signaled(15), &mut rec);
        assert!(matches!(fleet.view(0).state, State::Restarting { .. }));
        fleet.on_time(t + FIRST_BACKOFF, &mut rec);
        let verdict = fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Exited(0), &mut rec);
        assert_eq!(verdict, Some(Verdict::Nothing));
        assert_eq!(fleet.view(0).state, State::Exited(WaitStatus::Exited(0)));
        // With nothing left running at all, the job is over.
        let verdict = fleet.on_exit(t, pid(&fleet, 1), WaitStatus::Exited(0), &mut rec);
        assert_eq!(verdict, Some(Verdict::StopAll));
    }

    #[test]
    fn past_max_restarts_within_a_minute_the_container_ends() {
        let mut a = service("a", Ready::Spawned, &[], Restart::Always);
        a.max_restarts = 2;
        let list = services(vec![a]);
        let mut t = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t, &mut rec);
        for _ in 0..2 {
            fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Exited(3), &mut rec);
            t = t + Duration::from_secs(1);
            fleet.on_time(t, &mut rec);
        }
        let verdict = fleet.on_exit(t, pid(&fleet, 0), WaitStatus::Exited(3), &mut rec);
        assert_eq!(verdict, Some(Verdict::StopAll));
        assert_eq!(fleet.outcome(), Some(WaitStatus::Exited(3)));
        assert!(
            rec.notes()
                .iter()
                .any(|n| matches!(n, Note::GaveUp { service: 0, .. }))
        );
    }

    #[test]
    fn the_stop_goes_from_the_last_started_to_the_first() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), true);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_ready(t0, 0, &mut rec);
        rec.acts();
        let deadline = t0 + Duration::from_secs(9);
        // The main command first: nothing is signalled while it runs.
        assert_eq!(fleet.begin_stop(t0, deadline, &mut rec), Verdict::Nothing);
        assert_eq!(rec.acts(), []);
        fleet.on_main_exit(t0, &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(2, SIGTERM)]);
        let (app, db) = (pid(&fleet, 1), pid(&fleet, 0));
        let web = pid(&fleet, 2);
        fleet.on_exit(t0, web, WaitStatus::Exited(0), &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(1, SIGTERM)]);
        fleet.on_exit(t0, app, WaitStatus::Exited(0), &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(0, SIGTERM)]);
        let verdict = fleet.on_exit(t0, db, WaitStatus::Signaled(15), &mut rec);
        assert_eq!(verdict, Some(Verdict::Down));
        assert_eq!(fleet.outcome(), None, "a stopped service decides nothing");
    }

    /// uptime_ms is the run's: neither becoming ready nor stopping starts
    /// it again.
    #[test]
    fn a_run_s_time_counts_from_its_start_through_ready_and_stopping() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        // db, ready a second after its start; then app and web start
        // (ready once spawned).
        let t1 = t0 + Duration::from_secs(1);
        fleet.on_ready(t1, 0, &mut rec);
        assert_eq!(fleet.view(0).state, State::Ready);
        assert_eq!(fleet.view(0).since, Some(t0));
        assert_eq!(fleet.view(2).since, Some(t1));
        // web, the last started, is the first to stop.
        let t5 = t0 + Duration::from_secs(5);
        fleet.begin_stop(t5, t5 + Duration::from_secs(9), &mut rec);
        assert_eq!(fleet.view(2).state, State::Stopping);
        assert_eq!(fleet.view(2).since, Some(t1));
    }

    #[test]
    fn a_dead_service_in_the_middle_of_a_chain_still_orders_the_stop() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_ready(t0, 0, &mut rec);
        rec.acts();
        let verdict = fleet.on_exit(t0, pid(&fleet, 1), WaitStatus::Signaled(9), &mut rec);
        assert_eq!(verdict, Some(Verdict::StopAll));
        fleet.begin_stop(t0, t0 + Duration::from_secs(9), &mut rec);
        assert_eq!(
            rec.acts(),
            [Done::Signal(2, SIGTERM)],
            "web first, db waits"
        );
        fleet.on_exit(t0, pid(&fleet, 2), WaitStatus::Exited(0), &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(0, SIGTERM)]);
    }

    #[test]
    fn a_service_whose_group_lingers_holds_back_the_ones_before_it() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_ready(t0, 0, &mut rec);
        fleet.begin_stop(t0, t0 + Duration::from_secs(9), &mut rec);
        rec.acts();
        let web = pid(&fleet, 2);
        rec.alive.push(web);
        fleet.on_exit(t0, web, WaitStatus::Exited(0), &mut rec);
        assert_eq!(
            rec.acts(),
            [Done::Signal(2, SIGTERM)],
            "web's worker, left in its group, gets web's signal, and app waits"
        );
        assert_eq!(fleet.view(2).state, State::Stopping);
        rec.alive.clear();
        fleet.after_reap(t0, &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(1, SIGTERM)]);
    }

    #[test]
    fn a_stop_timeout_kills_the_service_before_the_deadline_only() {
        let mut list = chain();
        list.services[2].stop_timeout = Some(Duration::from_secs(2));
        list.services[2].stop_signal = SIGINT;
        list.services[1].stop_timeout = Some(Duration::from_secs(20));
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_ready(t0, 0, &mut rec);
        rec.acts();
        let deadline = t0 + Duration::from_secs(9);
        fleet.begin_stop(t0, deadline, &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(2, SIGINT)]);
        assert_eq!(fleet.next_wakeup(), Some(t0 + Duration::from_secs(2)));
        let t2 = t0 + Duration::from_secs(2);
        fleet.on_time(t2, &mut rec);
        assert_eq!(rec.acts(), [Done::Kill(2)]);
        fleet.on_exit(t2, pid(&fleet, 2), WaitStatus::Signaled(9), &mut rec);
        assert_eq!(rec.acts(), [Done::Signal(1, SIGTERM)]);
        // 20 s is past the deadline: the deadline's own kill is the bound.
        assert_eq!(fleet.next_wakeup(), None);
    }

    #[test]
    fn nothing_starts_or_restarts_once_the_stop_began() {
        let list = services(vec![
            service("a", Ready::Spawned, &[], Restart::Always),
            service("b", Ready::Fd(3), &[], Restart::No),
            service("c", Ready::Spawned, &[1], Restart::No),
        ]);
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, true);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        fleet.on_exit(t0, pid(&fleet, 0), WaitStatus::Exited(1), &mut rec);
        rec.acts();
        fleet.begin_stop(t0, t0 + Duration::from_secs(9), &mut rec);
        fleet.on_time(t0 + Duration::from_secs(1), &mut rec);
        assert_eq!(
            rec.acts(),
            [Done::Signal(1, SIGTERM)],
            "a is not restarted, c never starts, the main command never starts"
        );
        assert_eq!(fleet.view(2).state, State::Waiting);
    }

    #[test]
    fn a_service_that_cannot_start_counts_as_its_exit() {
        let list = services(vec![service("a", Ready::Spawned, &[], Restart::No)]);
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, true);
        let mut rec = Recording {
            fails: vec![(0, WaitStatus::Exited(126))],
            ..Default::default()
        };
        assert_eq!(fleet.on_time(t0, &mut rec), Verdict::StopAll);
        assert_eq!(fleet.outcome(), Some(WaitStatus::Exited(126)));
        assert!(!rec.done.contains(&Done::StartMain));
    }
}
