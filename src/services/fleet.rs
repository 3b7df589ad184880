//! The services' lives as a state machine: when each one starts, when it
//! counts as ready, what its exit means (a restart after a backoff, or the
//! end of the container), and the ordered stop, in which a service gets
//! its signal only once every service that starts after it is gone, or
//! at the latest once half of what remained when that one was signalled
//! has passed (a service that ignores its signal cannot hold the ones it
//! starts after until the deadline).
//!
//! As `shutdown` does for the stop, this decides and does nothing itself,
//! and never asks the world a question: events go in (time, a report
//! answering a request or a service's own readiness, an exit with what is
//! left of its process group, a group emptied, the main command's exit,
//! the stop), what must happen comes out through `FleetEffects`, which
//! `runtime` carries out with real processes and the tests below record.
//! Nothing here reads a clock.
//!
//! What each event does to one service in each state is one match, `step`:
//! the grid a reader sees whole.

use core::time::Duration;

use crate::base::prelude::*;

use super::control::Command;
use super::model::{DEFAULT_PROBE_INTERVAL, Ending, Kind, Ready, Restart, Service, Services};
pub use super::published::State;
use crate::base::signals::Signal;
use crate::base::time::Instant;
use crate::process::reap::WaitStatus;

/// A run this long counts as a success: the backoff starts over.
pub const STEADY: Duration = Duration::from_secs(10);
/// `max_restarts` counts the restarts within this window.
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// What the fleet asks of the world. Nothing here answers: how a start, a
/// probe or the main command's start went comes back later as a `Report`.
pub trait FleetEffects {
    /// Starts the service, in a process group of its own: `Report::Started`
    /// or `Report::StartFailed` follows.
    fn start(&mut self, service: usize);
    /// Starts one readiness check (an `exec` probe or a TCP connect):
    /// `Report::Probe` follows, false also when it could not even start.
    fn probe(&mut self, service: usize);
    /// Whatever readiness check of the service runs or waits is abandoned.
    fn forget_readiness(&mut self, service: usize);
    /// `signal` to the service's process (or with a negative pid, to its
    /// process group), then SIGCONT.
    fn signal(&mut self, service: usize, pid: i32, signal: Signal);
    /// The service's stop timeout: SIGKILL to its process group, and who
    /// was in it named with the service.
    fn kill(&mut self, service: usize, group: i32);
    /// `signal` alone to the service's process, as `grace signal` asks.
    fn deliver(&mut self, service: usize, pid: i32, signal: Signal);
    /// Starts the service's `stop_command`: `Report::CommandStarted` or
    /// `Report::CommandFailed` follows.
    fn stop_command(&mut self, service: usize);
    /// Starts the main command, once every service is ready:
    /// `Report::MainStarted` or `Report::MainFailed` follows.
    fn start_main(&mut self);
    fn note(&mut self, note: ServiceNote);
}

/// What the world tells the fleet: the answers to its requests, and what a
/// service says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The service's process runs as `pid`, which leads its process group.
    Started {
        service: usize,
        pid: i32,
    },
    /// It could not start; `status` is the exit that counts as its run.
    StartFailed {
        service: usize,
        status: WaitStatus,
    },
    /// It said it is ready (its fd, its notify socket).
    Ready {
        service: usize,
    },
    /// A probe's answer.
    Probe {
        service: usize,
        ok: bool,
    },
    /// The service's `stop_command` runs as `pid`.
    CommandStarted {
        service: usize,
        pid: i32,
    },
    /// It could not start (the reason is logged).
    CommandFailed {
        service: usize,
    },
    MainStarted,
    /// The main command could not start: `status` is its outcome.
    MainFailed {
        status: WaitStatus,
    },
    /// A command for the service, from `grace stop`, `start`, `restart` or
    /// `signal` (control.rs).
    Command {
        service: usize,
        command: Command,
    },
}

/// A reaped process, with what its reaping left of its process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub pid: i32,
    pub status: WaitStatus,
    /// Others are left in the process group `pid` led (a service's process
    /// leads its own).
    pub group_left: bool,
}

/// What the fleet tells the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceNote {
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
        /// Restarts so far, this one not counted.
        restarts: u32,
    },
    /// The exit of a service that is not restarted: the container ends.
    Essential {
        service: usize,
        status: WaitStatus,
    },
    /// An exit that ends the service, which is not restarted, and not
    /// the container either (`essential = false`, or `on-failure` after a
    /// success).
    Ended {
        service: usize,
    },
    /// Its exit, outside the stop, left processes of the service running
    /// (it daemonized): restarted, it is once they are gone.
    LeftBehind {
        service: usize,
        restarts: bool,
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
    /// The stop ran the service's `stop_command` as `pid`.
    StopCommand {
        service: usize,
        pid: i32,
    },
    /// The `stop_command` exited.
    CommandExited {
        service: usize,
        pid: i32,
        status: WaitStatus,
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
    pub fn or(self, other: Verdict) -> Verdict {
        if self == Verdict::Nothing {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Waits for the service itself (an fd or notify message), or for
    /// nothing any more.
    Told,
    /// The next probe starts at this time.
    At(Instant),
    /// A probe runs.
    Running,
}

/// One service's state: the grid's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// For the services it starts after.
    Waiting,
    /// Asked to start; how it went is yet to be reported.
    Spawning,
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
    /// A oneshot that exited 0: counts as ready.
    Done,
    /// In the stop, a oneshot's `stop_command` was asked to start.
    Cleaning {
        since: Instant,
    },
    /// Exited, to be restarted, but what its run left in `group` (or
    /// elsewhere: the runtime knows) still runs: its backoff begins once
    /// that is gone, so that restarts do not pile up daemons.
    Held {
        group: i32,
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

/// What happens to one service: the grid's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// Every service it starts after is ready: its turn to start.
    Turn,
    Started(i32),
    StartFailed(WaitStatus),
    /// It said it is ready.
    Ready,
    /// A probe's answer: ready, or not yet (also when it could not run).
    Probed(bool),
    /// Its next probe is due.
    ProbeDue,
    /// Its `start_timeout` passed.
    StartTimeout,
    /// Its backoff is over.
    BackoffOver,
    /// Its process exited.
    Exited(Exit),
    /// Nothing is left of its process group.
    GroupGone,
    /// The stop began.
    StopBegins,
    /// During the stop: every service that starts after it is gone, and
    /// the main command too.
    StopTurn,
    /// Its `stop_timeout` passed.
    KillDue,
    /// A command came for it (`commanded`).
    Command(Command),
    CommandStarted(i32),
    CommandFailed,
    /// Its `stop_command` exited.
    CommandExited(Exit),
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
    /// Its `stop_command`'s pid, while it runs.
    command: Option<i32>,
    /// What a command asked of it that is not done yet, or `Then::Stay`
    /// for as long as a command keeps it stopped.
    then: Option<Then>,
}

/// What the services file says of one service, as the fleet needs it: one
/// struct rather than a Vec per setting, built in one pass.
struct Rules {
    /// Indices it starts after, and every service that starts after it,
    /// directly or through others (a dead service in the middle of a
    /// chain must not let the stop skip ahead).
    after: Vec<usize>,
    dependents: Vec<usize>,
    readiness: Readiness,
    restart: Restart,
    max_restarts: u32,
    ending: Ending,
    start_timeout: Duration,
    stop_signal: Signal,
    stop_timeout: Option<Duration>,
    oneshot: bool,
    stop_command: bool,
}

impl Unit {
    /// Down, as its last run ended.
    fn down(&mut self) {
        self.run = Run::Down { status: self.last };
    }
}

/// How the fleet learns that a service is ready (its `ready`).
#[derive(Clone, Copy)]
enum Readiness {
    /// Once it has been spawned.
    Spawned,
    /// When the runtime reports it (`fd`, `notify`).
    Told,
    /// A probe (`exec`, `tcp`), every interval until one succeeds.
    Probed(Duration),
}

/// What a command wants of a service once it is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// `grace stop`: it stays down (`stopped`) until `grace start`.
    Stay,
    /// `grace restart` or `start`: it starts again in its turn.
    Start,
}

/// The main command's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Main {
    /// No command: the services are the whole job.
    Absent,
    /// Starts once every service is ready.
    Waiting,
    /// Asked to start; how it went is yet to be reported.
    Starting,
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
    rules: Vec<Rules>,
    main: Main,
    /// The stop's deadline, once it began.
    stopping: Option<Instant>,
    /// In the stop, when the main command stops holding the services
    /// back, if it still runs: half of what remained when it began.
    main_release: Option<Instant>,
    /// Why the container ends, when a service decided it.
    outcome: Option<WaitStatus>,
    /// Whether `Down` was reported.
    down: bool,
    /// Whether every service was ready at the last look.
    all_ready: bool,
    /// Bumped on every change `grace status` would show, and on every
    /// command, whose publish is its answer.
    pub generation: u64,
    /// What bounds a command's stop of a service without `stop_timeout`.
    grace_period: Duration,
}

/// Every service that starts after `service`, directly or through others.
fn dependents(list: &[Service], service: &Service) -> Vec<usize> {
    let mut found = Vec::new();
    let mut queue = service.dependents.clone();
    while let Some(next) = queue.pop() {
        if !found.contains(&next) {
            found.push(next);
            queue.extend_from_slice(&list[next].dependents);
        }
    }
    found
}

impl Fleet {
    pub fn new(services: &Services, has_main: bool) -> Fleet {
        let list = &services.services;
        let mut units = Vec::with_capacity(list.len());
        let mut rules = Vec::with_capacity(list.len());
        for s in list {
            units.push(Unit {
                run: Run::Waiting,
                restarts: 0,
                failures: 0,
                recent: Vec::new(),
                started: None,
                last: None,
                then: None,
                command: None,
            });
            rules.push(Rules {
                after: s.after.clone(),
                dependents: dependents(list, s),
                readiness: match &s.ready {
                    Ready::Spawned => Readiness::Spawned,
                    Ready::Fd(_) | Ready::Notify => Readiness::Told,
                    Ready::Exec(probe) => Readiness::Probed(probe.interval),
                    Ready::Tcp(_) => Readiness::Probed(DEFAULT_PROBE_INTERVAL),
                },
                restart: s.restart,
                max_restarts: s.max_restarts,
                ending: s.ending,
                start_timeout: s.start_timeout,
                stop_signal: s.stop_signal,
                stop_timeout: s.stop_timeout,
                oneshot: s.kind == Kind::Oneshot,
                stop_command: s.stop_command.is_some(),
            });
        }
        Fleet {
            units,
            rules,
            main: if has_main {
                Main::Waiting
            } else {
                Main::Absent
            },
            stopping: None,
            main_release: None,
            outcome: None,
            down: false,
            all_ready: false,
            generation: 0,
            grace_period: services
                .grace_period
                .unwrap_or(crate::cli::DEFAULT_GRACE_PERIOD),
        }
    }

    /// The grace period in effect, which bounds a command's stop of a
    /// service that has no `stop_timeout`.
    pub fn with_grace_period(mut self, grace_period: Duration) -> Fleet {
        self.grace_period = grace_period;
        self
    }

    // The questions.

    pub fn view(&self, service: usize) -> View {
        let unit = &self.units[service];
        if self.held(service) {
            return View {
                state: State::Stopped,
                pid: None,
                restarts: unit.restarts,
                since: None,
            };
        }
        // A run's time counts from its start, whatever state it is in now
        // (ready, stopping, exited): uptime is the run's, not the state's.
        let (state, pid, since) = match unit.run {
            Run::Waiting => (State::Waiting, None, None),
            Run::Spawning => (State::Starting, None, unit.started),
            Run::Starting { pid, .. } => (State::Starting, Some(pid), unit.started),
            Run::Ready { pid, .. } => (State::Ready, Some(pid), unit.started),
            Run::Backoff { until } => (State::Restarting { at: until }, None, unit.started),
            Run::Done => (State::Done, None, unit.started),
            Run::Cleaning { .. } => (State::Stopping, None, unit.started),
            // Its run is over, whatever it left: it shows how that ended.
            Run::Held { .. } => (
                State::Exited(unit.last.unwrap_or(WaitStatus::Exited(0))),
                None,
                unit.started,
            ),
            Run::Stopping { pid, .. } => (State::Stopping, pid, unit.started),
            // Never started: still waiting, for good.
            Run::Down { status: None } => (State::Waiting, None, None),
            Run::Down {
                status: Some(status),
            } if self.counts_ready(service) => (State::Ended(status), None, unit.started),
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

    /// The services whose process is gone while others of its group
    /// remain (or, `Held`, others of its run elsewhere), with that group:
    /// `on_group_gone` is awaited for each.
    pub fn lingering(&self) -> impl Iterator<Item = (usize, i32)> + '_ {
        self.units
            .iter()
            .enumerate()
            .filter_map(|(service, unit)| match unit.run {
                Run::Stopping {
                    pid: None, group, ..
                }
                | Run::Held { group } => Some((service, group)),
                _ => None,
            })
    }

    /// Whether a stop has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_some()
    }

    /// Whether `service` counts as ready: it is, or it ended as it may
    /// (`essential = false`, with a success).
    fn counts_ready(&self, service: usize) -> bool {
        match self.units[service].run {
            Run::Ready { .. } | Run::Done => true,
            Run::Down {
                status: Some(status),
            } => {
                let ending = &self.rules[service].ending;
                !ending.essential && ending.success(status)
            }
            _ => false,
        }
    }

    /// How the container ends when no main command decides it: a
    /// service's exit, or a failure to start.
    pub fn outcome(&self) -> Option<WaitStatus> {
        self.outcome
    }

    /// Whether every service is ready and no stop has begun.
    pub fn all_ready(&self) -> bool {
        self.stopping.is_none() && (0..self.units.len()).all(|s| self.counts_ready(s))
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
            .chain((0..self.units.len()).filter_map(|service| self.turn_at(service)))
            .chain(self.down_at().filter(|_| self.stopping.is_some()))
            .filter(|&at| at != Instant::far_future())
            .min()
    }

    /// In the stop, when `service` gets its turn, if nothing but time is
    /// awaited: once every service that starts after it (and the main
    /// command) is gone, or half of what remained when each was signalled
    /// has passed. None: it is not waiting for its turn, or one of those
    /// is not signalled yet.
    fn turn_at(&self, service: usize) -> Option<Instant> {
        let deadline = self.stopping?;
        if !matches!(
            self.units[service].run,
            Run::Starting { .. } | Run::Ready { .. } | Run::Done
        ) {
            return None;
        }
        let holds = matches!(self.main, Main::Starting | Main::Running);
        let mut at = self.main_release.filter(|_| holds);
        for &dependent in &self.rules[service].dependents {
            let since = match self.units[dependent].run {
                Run::Down { .. } => continue,
                Run::Stopping { since, .. } | Run::Cleaning { since } => since,
                _ => return None,
            };
            let released = since + deadline.saturating_duration_since(since) / 2;
            at = Some(at.map_or(released, |at| at.max(released)));
        }
        Some(at.unwrap_or(Instant::from_millis(0)))
    }

    // The events.

    /// The first start, and every step due now.
    pub fn on_time(&mut self, now: Instant, fx: &mut dyn FleetEffects) -> Verdict {
        let mut verdict = Verdict::Nothing;
        for service in 0..self.units.len() {
            let due = match self.units[service].run {
                Run::Starting { until, .. } if now >= until => Event::StartTimeout,
                Run::Starting {
                    check: Check::At(at),
                    ..
                } if now >= at => Event::ProbeDue,
                Run::Backoff { until } if now >= until => Event::BackoffOver,
                Run::Stopping {
                    kill_at: Some(at), ..
                } if now >= at => Event::KillDue,
                _ => continue,
            };
            verdict = verdict.or(self.step(service, now, due, fx));
        }
        verdict.or(self.advance(now, fx))
    }

    /// What the world reports: a start's, a probe's or the main command's
    /// outcome, or a service saying it is ready.
    pub fn on_report(
        &mut self,
        now: Instant,
        report: Report,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        let verdict = match report {
            Report::Started { service, pid } => self.step(service, now, Event::Started(pid), fx),
            Report::StartFailed { service, status } => {
                self.step(service, now, Event::StartFailed(status), fx)
            }
            Report::Ready { service } => self.step(service, now, Event::Ready, fx),
            Report::Probe { service, ok } => self.step(service, now, Event::Probed(ok), fx),
            Report::Command { service, command } => {
                self.step(service, now, Event::Command(command), fx)
            }
            Report::CommandStarted { service, pid } => {
                self.step(service, now, Event::CommandStarted(pid), fx)
            }
            Report::CommandFailed { service } => self.step(service, now, Event::CommandFailed, fx),
            Report::MainStarted if self.main == Main::Starting => {
                self.main = Main::Running;
                Verdict::Nothing
            }
            Report::MainStarted => Verdict::Nothing,
            Report::MainFailed { status } => {
                fx.note(ServiceNote::MainFailed { status });
                self.main = Main::Done;
                self.outcome.get_or_insert(status);
                Verdict::StopAll
            }
        };
        verdict.or(self.advance(now, fx))
    }

    /// A reaped process: None if it was no service's.
    pub fn on_exit(
        &mut self,
        now: Instant,
        exit: Exit,
        fx: &mut dyn FleetEffects,
    ) -> Option<Verdict> {
        let command = self.units.iter().position(|u| u.command == Some(exit.pid));
        let (service, event) = match command {
            Some(service) => (service, Event::CommandExited(exit)),
            None => (self.service_of(exit.pid)?, Event::Exited(exit)),
        };
        let verdict = self.step(service, now, event, fx);
        Some(verdict.or(self.advance(now, fx)))
    }

    /// Nothing is left of the process group of `service`, whose process
    /// was already gone (`lingering`).
    pub fn on_group_gone(
        &mut self,
        now: Instant,
        service: usize,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        let verdict = self.step(service, now, Event::GroupGone, fx);
        verdict.or(self.advance(now, fx))
    }

    pub fn on_main_exit(&mut self, now: Instant, fx: &mut dyn FleetEffects) -> Verdict {
        self.main = Main::Done;
        self.advance(now, fx)
    }

    /// The stop begins: nothing starts or restarts any more, and the
    /// services stop from the last started to the first.
    pub fn begin_stop(
        &mut self,
        now: Instant,
        deadline: Instant,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        if self.stopping.is_some() {
            return Verdict::Nothing;
        }
        self.stopping = Some(deadline);
        self.main_release = Some(now + deadline.saturating_duration_since(now) / 2);
        self.generation += 1;
        if self.main == Main::Waiting {
            self.main = Main::Done;
        }
        for service in 0..self.units.len() {
            self.step(service, now, Event::StopBegins, fx);
        }
        self.advance(now, fx)
    }

    // The grid.

    /// What `event` does to `service` in the state it is in: every
    /// transition of a service's life, in one place. A pair not listed
    /// means nothing (a late answer to a request the stop abandoned).
    fn step(
        &mut self,
        service: usize,
        now: Instant,
        event: Event,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        if let Some(verdict) = self.commanded(service, event, fx) {
            return verdict;
        }
        let stopping = self.stopping.is_some();
        match (self.units[service].run, event) {
            (Run::Waiting, Event::Turn) | (Run::Backoff { .. }, Event::BackoffOver)
                if !stopping =>
            {
                if event == Event::BackoffOver {
                    self.units[service].restarts += 1;
                }
                self.start(service, now, fx)
            }
            (Run::Spawning, Event::Started(pid)) => self.started(service, pid, now, fx),
            (Run::Spawning, Event::StartFailed(status)) => {
                fx.note(ServiceNote::Exited {
                    service,
                    pid: 0,
                    status,
                });
                if stopping {
                    let unit = &mut self.units[service];
                    unit.last = Some(status);
                    unit.down();
                    Verdict::Nothing
                } else {
                    self.exited(service, status, None, now, fx)
                }
            }
            (Run::Starting { pid, .. }, Event::Ready)
            | (
                Run::Starting {
                    pid,
                    check: Check::Running,
                    ..
                },
                Event::Probed(true),
            ) if !self.rules[service].oneshot => {
                self.become_ready(service, pid, now, fx);
                Verdict::Nothing
            }
            (
                Run::Starting {
                    pid,
                    since,
                    until,
                    check: Check::Running,
                },
                Event::Probed(false),
            ) => {
                let check = Check::At(now + self.probe_interval(service));
                self.units[service].run = Run::Starting {
                    pid,
                    since,
                    until,
                    check,
                };
                Verdict::Nothing
            }
            (
                Run::Starting {
                    pid,
                    since,
                    until,
                    check: Check::At(_),
                },
                Event::ProbeDue,
            ) => {
                fx.probe(service);
                self.units[service].run = Run::Starting {
                    pid,
                    since,
                    until,
                    check: Check::Running,
                };
                Verdict::Nothing
            }
            (Run::Starting { pid, since, .. }, Event::StartTimeout) => {
                let mut verdict = Verdict::Nothing;
                if !stopping && self.outcome.is_none() {
                    fx.note(ServiceNote::NotReady {
                        service,
                        waited: now.saturating_duration_since(since),
                    });
                    self.outcome = Some(WaitStatus::Exited(1));
                    verdict = Verdict::StopAll;
                }
                self.unchecked(service, pid, since, fx);
                verdict
            }
            (
                Run::Starting { .. } | Run::Ready { .. } | Run::Stopping { pid: Some(_), .. },
                Event::Exited(exit),
            ) => {
                fx.note(ServiceNote::Exited {
                    service,
                    pid: exit.pid,
                    status: exit.status,
                });
                fx.forget_readiness(service);
                self.generation += 1;
                // A service a command stops is gone, whatever its restart.
                if stopping || self.units[service].then.is_some() {
                    self.gone(service, exit, fx);
                    Verdict::Nothing
                } else {
                    let left = exit.group_left.then_some(exit.pid);
                    self.exited(service, exit.status, left, now, fx)
                }
            }
            (Run::Held { .. }, Event::GroupGone) if !stopping => {
                let unit = &mut self.units[service];
                let after = self.rules[service]
                    .ending
                    .backoff(unit.failures.saturating_sub(1));
                unit.run = Run::Backoff { until: now + after };
                self.generation += 1;
                fx.note(ServiceNote::Restarting {
                    service,
                    after,
                    restarts: unit.restarts,
                });
                Verdict::Nothing
            }
            (Run::Stopping { pid: None, .. }, Event::GroupGone) => {
                self.units[service].down();
                self.generation += 1;
                Verdict::Nothing
            }
            (Run::Waiting, Event::StopBegins) => {
                self.units[service].run = Run::Down { status: None };
                Verdict::Nothing
            }
            (Run::Backoff { .. } | Run::Held { .. }, Event::StopBegins) => {
                self.units[service].down();
                Verdict::Nothing
            }
            (Run::Starting { pid, since, .. }, Event::StopBegins) => {
                self.unchecked(service, pid, since, fx);
                Verdict::Nothing
            }
            (Run::Starting { pid, .. } | Run::Ready { pid, .. }, Event::StopTurn) => {
                if self.rules[service].stop_command {
                    fx.stop_command(service);
                } else {
                    self.send_stop_signal(service, pid, fx);
                }
                self.units[service].run = Run::Stopping {
                    pid: Some(pid),
                    group: pid,
                    since: now,
                    kill_at: self.kill_at_from(service, now),
                };
                self.generation += 1;
                Verdict::Nothing
            }
            (Run::Done, Event::StopTurn) => {
                self.units[service].run = if self.rules[service].stop_command {
                    fx.stop_command(service);
                    Run::Cleaning { since: now }
                } else {
                    Run::Down {
                        status: self.units[service].last,
                    }
                };
                self.generation += 1;
                Verdict::Nothing
            }
            (Run::Cleaning { since }, Event::CommandStarted(pid)) => {
                fx.note(ServiceNote::StopCommand { service, pid });
                let kill_at = self.kill_at_from(service, since);
                let unit = &mut self.units[service];
                unit.command = Some(pid);
                // The oneshot's stop is its stop command's run.
                unit.run = Run::Stopping {
                    pid: Some(pid),
                    group: pid,
                    since,
                    kill_at,
                };
                Verdict::Nothing
            }
            (Run::Cleaning { .. }, Event::CommandFailed) => {
                self.units[service].down();
                self.generation += 1;
                Verdict::Nothing
            }
            (Run::Stopping { .. }, Event::CommandStarted(pid)) => {
                self.units[service].command = Some(pid);
                fx.note(ServiceNote::StopCommand { service, pid });
                Verdict::Nothing
            }
            // Better its stop signal than nothing until the kill.
            (Run::Stopping { pid: Some(pid), .. }, Event::CommandFailed) => {
                self.send_stop_signal(service, pid, fx);
                Verdict::Nothing
            }
            (run, Event::CommandExited(exit)) => {
                self.units[service].command = None;
                fx.note(ServiceNote::CommandExited {
                    service,
                    pid: exit.pid,
                    status: exit.status,
                });
                // A oneshot's: its stop is over once the command's group
                // is gone; it stays the oneshot that was done.
                if matches!(run, Run::Stopping { pid: Some(pid), .. } if pid == exit.pid) {
                    self.generation += 1;
                    let status = self.units[service].last.unwrap_or(exit.status);
                    self.gone(service, Exit { status, ..exit }, fx);
                }
                Verdict::Nothing
            }
            (
                Run::Stopping {
                    pid,
                    group,
                    since,
                    kill_at: Some(_),
                },
                Event::KillDue,
            ) => {
                fx.kill(service, group);
                self.units[service].run = Run::Stopping {
                    pid,
                    group,
                    since,
                    kill_at: None,
                };
                Verdict::Nothing
            }
            _ => Verdict::Nothing,
        }
    }

    // The transitions the grid names.

    fn send_stop_signal(&mut self, service: usize, pid: i32, fx: &mut dyn FleetEffects) {
        let signal = self.rules[service].stop_signal;
        fx.note(ServiceNote::Stopping {
            service,
            pid,
            signal,
        });
        fx.signal(service, pid, signal);
    }

    /// When the stop SIGKILLs a service stopped at `since`: at its
    /// `stop_timeout` if that comes first; at the deadline the final kill
    /// names everyone anyway.
    fn kill_at_from(&self, service: usize, since: Instant) -> Option<Instant> {
        match (self.rules[service].stop_timeout, self.stopping) {
            (Some(timeout), Some(deadline)) if since + timeout < deadline => Some(since + timeout),
            _ => None,
        }
    }

    fn probe_interval(&self, service: usize) -> Duration {
        match self.rules[service].readiness {
            Readiness::Probed(interval) => interval,
            _ => DEFAULT_PROBE_INTERVAL,
        }
    }

    fn start(&mut self, service: usize, now: Instant, fx: &mut dyn FleetEffects) -> Verdict {
        self.generation += 1;
        self.units[service].started = Some(now);
        self.units[service].run = Run::Spawning;
        fx.start(service);
        Verdict::Nothing
    }

    fn started(
        &mut self,
        service: usize,
        pid: i32,
        now: Instant,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        fx.note(ServiceNote::Started { service, pid });
        let check = match self.rules[service].readiness {
            // Ready once done: its exit says it.
            _ if self.rules[service].oneshot => Check::Told,
            Readiness::Spawned => {
                self.become_ready(service, pid, now, fx);
                return Verdict::Nothing;
            }
            Readiness::Told => Check::Told,
            // Asked at once, a service is rarely ready yet.
            Readiness::Probed(interval) => Check::At(now + interval),
        };
        self.units[service].run = Run::Starting {
            pid,
            since: now,
            until: now + self.rules[service].start_timeout,
            check,
        };
        Verdict::Nothing
    }

    fn become_ready(&mut self, service: usize, pid: i32, now: Instant, fx: &mut dyn FleetEffects) {
        fx.forget_readiness(service);
        self.units[service].run = Run::Ready { pid, since: now };
        self.generation += 1;
        fx.note(ServiceNote::Ready { service });
    }

    /// A starting service whose readiness is no longer looked at (bounded
    /// once by its start_timeout, or the stop began): it stays a running,
    /// unready service.
    fn unchecked(&mut self, service: usize, pid: i32, since: Instant, fx: &mut dyn FleetEffects) {
        fx.forget_readiness(service);
        self.units[service].run = Run::Starting {
            pid,
            since,
            until: Instant::far_future(),
            check: Check::Told,
        };
    }

    /// A service's own exit, outside the stop: restarted, or the end.
    /// `left`: the process group it led, when the exit left processes of
    /// the service running (it daemonized): that is said, and a restart
    /// waits until they are gone (`on_group_gone`), or each one would
    /// leave another daemon.
    fn exited(
        &mut self,
        service: usize,
        status: WaitStatus,
        left: Option<i32>,
        now: Instant,
        fx: &mut dyn FleetEffects,
    ) -> Verdict {
        if self.rules[service].oneshot && status == WaitStatus::Exited(0) {
            self.units[service].run = Run::Done;
            self.units[service].last = Some(status);
            // Done: ready, as the services after it see it.
            fx.note(ServiceNote::Ready { service });
            return Verdict::Nothing;
        }
        let failed = !self.rules[service].ending.success(status);
        let restart = match self.rules[service].restart {
            Restart::No => false,
            Restart::OnFailure => failed,
            Restart::Always => true,
        };
        let unit = &mut self.units[service];
        unit.recent
            .retain(|&at| now.saturating_duration_since(at) < RESTART_WINDOW);
        if left.is_some() {
            fx.note(ServiceNote::LeftBehind {
                service,
                restarts: restart,
            });
        }
        if !restart {
            unit.run = Run::Down {
                status: Some(status),
            };
            unit.failures = 0;
            unit.last = Some(status);
            if self.rules[service].restart == Restart::No && self.rules[service].ending.essential {
                fx.note(ServiceNote::Essential { service, status });
                self.outcome.get_or_insert(status);
                return Verdict::StopAll;
            }
            fx.note(ServiceNote::Ended { service });
            return Verdict::Nothing;
        }
        if unit.recent.len() as u32 >= self.rules[service].max_restarts {
            unit.run = Run::Down {
                status: Some(status),
            };
            unit.last = Some(status);
            fx.note(ServiceNote::GaveUp {
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
        let delay = self.rules[service].ending.backoff(unit.failures);
        unit.failures = unit.failures.saturating_add(1);
        unit.recent.push(now);
        unit.last = Some(status);
        if let Some(group) = left {
            unit.run = Run::Held { group };
            return Verdict::Nothing;
        }
        unit.run = Run::Backoff { until: now + delay };
        fx.note(ServiceNote::Restarting {
            service,
            after: delay,
            restarts: unit.restarts,
        });
        Verdict::Nothing
    }

    /// During the stop: the service's process is gone; the service is,
    /// once its group is too. What its process left in the group (a
    /// shell's children) gets the service's stop signal now: nobody else
    /// is left to pass it on.
    fn gone(&mut self, service: usize, exit: Exit, fx: &mut dyn FleetEffects) {
        self.units[service].last = Some(exit.status);
        let group = exit.pid;
        self.units[service].run = match self.units[service].run {
            Run::Stopping { since, kill_at, .. } if exit.group_left => {
                fx.signal(service, -group, self.rules[service].stop_signal);
                Run::Stopping {
                    pid: None,
                    group,
                    since,
                    kill_at,
                }
            }
            _ => Run::Down {
                status: Some(exit.status),
            },
        };
    }

    /// Starts what may start, then, during the stop, signals what may be
    /// signalled.
    fn advance(&mut self, now: Instant, fx: &mut dyn FleetEffects) -> Verdict {
        if self.stopping.is_none() {
            self.advance_commands(now, fx);
            return self.advance_start(now, fx);
        }
        for service in (0..self.units.len()).rev() {
            if self.turn_at(service).is_some_and(|at| now >= at) {
                self.step(service, now, Event::StopTurn, fx);
            }
        }
        // The others (the sweep) wait for the main command as the
        // services do.
        let released = self.down_at().is_some_and(|at| now >= at);
        if released && !self.down {
            self.down = true;
            return Verdict::Down;
        }
        Verdict::Nothing
    }

    /// In the stop, once every service is gone: when that is reported,
    /// the main command's hold aside. None: not all gone, or reported.
    fn down_at(&self) -> Option<Instant> {
        let all_down = self
            .units
            .iter()
            .all(|unit| matches!(unit.run, Run::Down { .. }));
        if !all_down || self.down {
            return None;
        }
        let holds = matches!(self.main, Main::Starting | Main::Running);
        Some(
            self.main_release
                .filter(|_| holds)
                .unwrap_or(Instant::from_millis(0)),
        )
    }

    fn advance_start(&mut self, now: Instant, fx: &mut dyn FleetEffects) -> Verdict {
        // A service decided that the container ends: nothing more starts
        // before the stop begins.
        if self.outcome.is_some() {
            return Verdict::Nothing;
        }
        for service in 0..self.units.len() {
            if self.rules[service]
                .after
                .iter()
                .all(|&d| self.counts_ready(d))
            {
                self.step(service, now, Event::Turn, fx);
            }
        }
        let all_ready = self.all_ready();
        if all_ready && !self.all_ready {
            fx.note(ServiceNote::AllReady);
        }
        self.all_ready = all_ready;
        if all_ready && self.main == Main::Waiting {
            self.main = Main::Starting;
            fx.start_main();
        }
        // Nothing left to run and no command: the job is done. A service
        // stopped by `grace stop` waits for `grace start`.
        let idle = self
            .units
            .iter()
            .all(|unit| matches!(unit.run, Run::Down { .. }) && unit.then != Some(Then::Stay));
        if idle && self.main == Main::Absent && !self.units.is_empty() {
            return Verdict::StopAll;
        }
        Verdict::Nothing
    }
}

// Commands: `grace stop`, `start`, `restart` and `signal` (control.rs).
impl Fleet {
    /// Whether a command keeps the service stopped.
    fn held(&self, service: usize) -> bool {
        let unit = &self.units[service];
        unit.then == Some(Then::Stay) && matches!(unit.run, Run::Down { .. })
    }

    /// The grid's row for a command, seen before the others; None for any
    /// other event. (The exit of a service a command stops is the grid's
    /// `Exited` row: gone, as in the stop, neither an essential exit nor
    /// restarted by its policy.) Once the container's stop began, a
    /// command changes nothing.
    #[inline(never)]
    fn commanded(
        &mut self,
        service: usize,
        event: Event,
        fx: &mut dyn FleetEffects,
    ) -> Option<Verdict> {
        let Event::Command(command) = event else {
            return None;
        };
        // Answered by a publish, even when it changes nothing.
        self.generation += 1;
        if self.stopping.is_some() {
            return Some(Verdict::Nothing);
        }
        let run = self.units[service].run;
        let running = matches!(
            run,
            Run::Spawning | Run::Starting { .. } | Run::Ready { .. }
        );
        let then = &mut self.units[service].then;
        match command {
            Command::Signal(signal) => {
                if let Run::Starting { pid, .. } | Run::Ready { pid, .. } = run {
                    fx.deliver(service, pid, signal);
                }
            }
            Command::Stop => *then = Some(Then::Stay),
            Command::Start if running => *then = None,
            Command::Start => *then = Some(Then::Start),
            Command::Restart { dependents } => {
                *then = Some(Then::Start);
                // A dependent a command keeps stopped stays so.
                for &dependent in self.rules[service].dependents.iter().filter(|_| dependents) {
                    let then = &mut self.units[dependent].then;
                    if *then != Some(Then::Stay) {
                        *then = Some(Then::Start);
                    }
                }
            }
        }
        Some(Verdict::Nothing)
    }

    /// Carries out the commands: a service to stop gets its stop signal
    /// once the services that start after it and are stopped by the same
    /// command are down (`--with-dependents`), bounded by its stop_timeout
    /// or the grace period; once down, it stays so or waits for its turn
    /// to start again. The last started go first, as in the stop.
    fn advance_commands(&mut self, now: Instant, fx: &mut dyn FleetEffects) {
        for service in (0..self.units.len()).rev() {
            let Some(then) = self.units[service].then else {
                continue;
            };
            match self.units[service].run {
                Run::Starting { .. } | Run::Ready { .. } => {
                    let first = self.rules[service].dependents.iter().any(|&d| {
                        self.units[d].then.is_some()
                            && matches!(
                                self.units[d].run,
                                Run::Spawning
                                    | Run::Starting { .. }
                                    | Run::Ready { .. }
                                    | Run::Stopping { .. }
                            )
                    });
                    if !first {
                        fx.forget_readiness(service);
                        self.step(service, now, Event::StopTurn, fx);
                        let timeout = self.rules[service]
                            .stop_timeout
                            .unwrap_or(self.grace_period);
                        if let Run::Stopping { kill_at, .. } = &mut self.units[service].run {
                            *kill_at = Some(now + timeout);
                        }
                    }
                }
                Run::Down { .. } | Run::Backoff { .. } | Run::Waiting if then == Then::Start => {
                    self.units[service].then = None;
                    self.units[service].run = Run::Waiting;
                    self.generation += 1;
                }
                Run::Backoff { .. } | Run::Waiting => {
                    self.units[service].run = Run::Down {
                        status: self.units[service].last,
                    };
                    self.generation += 1;
                }
                // Spawning: its answer comes first; stopping: its exit;
                // down: held.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGINT, SIGTERM};
    use crate::services::model::{
        DEFAULT_RESTART_DELAY, DEFAULT_RESTART_MAX_DELAY, Probe, Service,
    };

    const MS: Duration = Duration::from_millis(1);

    /// What the fleet asked for, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Done {
        Start(usize),
        Probe(usize),
        Forget(usize),
        Signal(usize, Signal),
        Kill(usize),
        Deliver(usize, Signal),
        Command(usize),
        StartMain,
        Note(ServiceNote),
    }

    /// Records what the fleet asks, and answers its starts as the runtime
    /// does: later, as reports.
    #[derive(Default)]
    struct Recording {
        done: Vec<Done>,
        next_pid: i32,
        /// Services whose start fails with this status.
        fails: Vec<(usize, WaitStatus)>,
        /// The answers the fleet is yet to hear, oldest first.
        reports: Vec<Report>,
    }

    impl Recording {
        /// The pid the last stop command of `service` was started as.
        fn reports_seen_command(&self, _service: usize) -> i32 {
            900 + self.next_pid
        }
    }

    impl FleetEffects for Recording {
        fn start(&mut self, service: usize) {
            self.done.push(Done::Start(service));
            let report = match self.fails.iter().find(|(s, _)| *s == service) {
                Some(&(_, status)) => Report::StartFailed { service, status },
                None => {
                    self.next_pid += 1;
                    Report::Started {
                        service,
                        pid: 100 + self.next_pid,
                    }
                }
            };
            self.reports.push(report);
        }
        fn probe(&mut self, service: usize) {
            self.done.push(Done::Probe(service));
        }
        fn forget_readiness(&mut self, service: usize) {
            self.done.push(Done::Forget(service));
        }
        fn signal(&mut self, service: usize, _pid: i32, signal: Signal) {
            self.done.push(Done::Signal(service, signal));
        }
        fn kill(&mut self, service: usize, _group: i32) {
            self.done.push(Done::Kill(service));
        }
        fn deliver(&mut self, service: usize, _pid: i32, signal: Signal) {
            self.done.push(Done::Deliver(service, signal));
        }
        fn stop_command(&mut self, service: usize) {
            self.done.push(Done::Command(service));
            self.next_pid += 1;
            self.reports.push(Report::CommandStarted {
                service,
                pid: 900 + self.next_pid,
            });
        }
        fn start_main(&mut self) {
            self.done.push(Done::StartMain);
            self.reports.push(Report::MainStarted);
        }
        fn note(&mut self, note: ServiceNote) {
            self.done.push(Done::Note(note));
        }
    }

    /// The fleet with a recording, driven as `run::Driver` drives it: after
    /// each event, the recording's answers go back, oldest first.
    struct Harness {
        fleet: Fleet,
        rec: Recording,
    }

    impl Harness {
        fn new(services: &Services, has_main: bool) -> Harness {
            Harness {
                fleet: Fleet::new(services, has_main),
                rec: Recording::default(),
            }
        }

        fn settle(&mut self, now: Instant, mut verdict: Verdict) -> Verdict {
            while !self.rec.reports.is_empty() {
                let report = self.rec.reports.remove(0);
                verdict = verdict.or(self.fleet.on_report(now, report, &mut self.rec));
            }
            verdict
        }

        fn time(&mut self, now: Instant) -> Verdict {
            let verdict = self.fleet.on_time(now, &mut self.rec);
            self.settle(now, verdict)
        }

        fn report(&mut self, now: Instant, report: Report) -> Verdict {
            let verdict = self.fleet.on_report(now, report, &mut self.rec);
            self.settle(now, verdict)
        }

        fn ready(&mut self, now: Instant, service: usize) -> Verdict {
            self.report(now, Report::Ready { service })
        }

        fn probed(&mut self, now: Instant, service: usize, ok: bool) -> Verdict {
            self.report(now, Report::Probe { service, ok })
        }

        /// `pid` exited, its group with it unless `group_left`.
        fn exit_with(
            &mut self,
            now: Instant,
            pid: i32,
            status: WaitStatus,
            group_left: bool,
        ) -> Option<Verdict> {
            let exit = Exit {
                pid,
                status,
                group_left,
            };
            let verdict = self.fleet.on_exit(now, exit, &mut self.rec)?;
            Some(self.settle(now, verdict))
        }

        fn exit(&mut self, now: Instant, pid: i32, status: WaitStatus) -> Option<Verdict> {
            self.exit_with(now, pid, status, false)
        }

        /// The service `service`'s process exited.
        fn service_exit(&mut self, now: Instant, service: usize, status: WaitStatus) -> Verdict {
            let pid = self.pid(service);
            self.exit(now, pid, status).expect("a service's exit")
        }

        fn begin_stop(&mut self, now: Instant, deadline: Instant) -> Verdict {
            let verdict = self.fleet.begin_stop(now, deadline, &mut self.rec);
            self.settle(now, verdict)
        }

        fn main_exit(&mut self, now: Instant) -> Verdict {
            let verdict = self.fleet.on_main_exit(now, &mut self.rec);
            self.settle(now, verdict)
        }

        fn pid(&self, service: usize) -> i32 {
            self.fleet.view(service).pid.expect("running")
        }

        fn state(&self, service: usize) -> State {
            self.fleet.view(service).state
        }

        /// Only the acts, not the notes nor what readiness is forgotten,
        /// since the last look.
        fn acts(&mut self) -> Vec<Done> {
            let acts = self
                .rec
                .done
                .iter()
                .filter(|d| !matches!(d, Done::Note(_) | Done::Forget(_)))
                .cloned()
                .collect();
            self.rec.done.clear();
            acts
        }

        fn notes(&self) -> Vec<ServiceNote> {
            self.rec
                .done
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
            kind: Kind::Longrun,
            stop_command: None,
            start_timeout: Duration::from_secs(60),
            after: after.to_vec(),
            dependents: Vec::new(),
            restart,
            max_restarts: 10,
            ending: Ending::default(),
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

    /// Ready once /bin/true, run every 50 ms, says so.
    fn probed() -> Ready {
        Ready::Exec(Probe {
            command: vec!["/bin/true".into()],
            executable: "/bin/true".into(),
            interval: 50 * MS,
        })
    }

    /// db ← app ← web, ready by fd, by spawn, by spawn.
    fn chain() -> Services {
        services(vec![
            service("db", Ready::Fd(3), &[], Restart::No),
            service("app", Ready::Spawned, &[0], Restart::No),
            service("web", Ready::Spawned, &[1], Restart::No),
        ])
    }

    /// The chain, db ready, everything running.
    fn chain_up(t0: Instant, has_main: bool) -> Harness {
        let mut h = Harness::new(&chain(), has_main);
        h.time(t0);
        h.ready(t0, 0);
        h.acts();
        h
    }

    #[test]
    fn services_start_in_order_each_once_the_ones_before_are_ready() {
        let t0 = Instant::now();
        let mut h = Harness::new(&chain(), true);
        assert_eq!(h.time(t0), Verdict::Nothing);
        assert_eq!(h.acts(), [Done::Start(0)]);
        assert_eq!(h.state(0), State::Starting);
        // Spawned readiness lets the whole rest of the chain start, each
        // once the one before is reported started, and then the main
        // command.
        h.ready(t0 + MS, 0);
        assert_eq!(h.acts(), [Done::Start(1), Done::Start(2), Done::StartMain]);
        assert!(h.fleet.all_ready());
        assert_eq!(
            h.fleet.next_wakeup(),
            None,
            "nothing to wake up for once ready"
        );
    }

    #[test]
    fn a_start_is_a_request_whose_answer_is_the_next_event() {
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&chain(), false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        assert_eq!(rec.done, [Done::Start(0)]);
        assert_eq!(fleet.view(0).state, State::Starting);
        assert_eq!(fleet.view(0).pid, None, "no pid before the answer");
        fleet.on_report(t0, Report::Started { service: 0, pid: 7 }, &mut rec);
        assert_eq!(fleet.view(0).pid, Some(7));
        assert_eq!(fleet.service_of(7), Some(0));
        // An answer that does not fit the state changes nothing.
        fleet.on_report(t0, Report::Started { service: 0, pid: 8 }, &mut rec);
        assert_eq!(fleet.view(0).pid, Some(7));
    }

    #[test]
    fn independent_services_start_together() {
        let list = services(vec![
            service("a", Ready::Fd(3), &[], Restart::No),
            service("b", Ready::Fd(3), &[], Restart::No),
            service("c", Ready::Spawned, &[0, 1], Restart::No),
        ]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t0);
        assert_eq!(h.acts(), [Done::Start(0), Done::Start(1)]);
        assert_eq!(
            h.notes(),
            [],
            "the acts were cleared with their notes: nothing since"
        );
        h.ready(t0, 1);
        assert_eq!(h.acts(), [], "c waits for a too");
        h.ready(t0, 0);
        assert_eq!(h.acts(), [Done::Start(2)]);
    }

    #[test]
    fn a_probe_runs_at_its_interval_until_it_succeeds() {
        let list = services(vec![service("a", probed(), &[], Restart::No)]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t0);
        assert_eq!(h.acts(), [Done::Start(0)]);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + 50 * MS));
        h.time(t0 + 50 * MS);
        assert_eq!(h.acts(), [Done::Probe(0)]);
        // No answer, or a probe that could not even start: not yet.
        h.probed(t0 + MS, 0, false);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + 51 * MS));
        h.time(t0 + 20 * MS);
        assert_eq!(h.acts(), [], "not before the interval");
        h.time(t0 + 51 * MS);
        assert_eq!(h.acts(), [Done::Probe(0)]);
        h.probed(t0 + 52 * MS, 0, true);
        assert_eq!(h.state(0), State::Ready);
        assert_eq!(h.fleet.next_wakeup(), None);
    }

    #[test]
    fn not_ready_by_the_start_timeout_ends_the_container() {
        let t0 = Instant::now();
        let mut h = Harness::new(&chain(), true);
        h.time(t0);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(60)));
        let verdict = h.time(t0 + Duration::from_secs(60));
        assert_eq!(verdict, Verdict::StopAll);
        assert!(
            h.notes()
                .iter()
                .any(|n| matches!(n, ServiceNote::NotReady { service: 0, .. }))
        );
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Exited(1)));
        assert_eq!(h.fleet.next_wakeup(), None, "bounded once");
    }

    #[test]
    fn an_essential_exit_stops_everything_with_its_status() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        let verdict = h.service_exit(t0, 1, WaitStatus::Signaled(9));
        assert_eq!(verdict, Verdict::StopAll);
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Signaled(9)));
        assert_eq!(h.exit(t0, 4242, WaitStatus::Exited(0)), None);
    }

    #[test]
    fn restarts_back_off_doubling_and_start_over_after_a_steady_run() {
        let list = services(vec![service("a", Ready::Spawned, &[], Restart::Always)]);
        let mut t = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t);
        let mut waits = Vec::new();
        for _ in 0..4 {
            let verdict = h.service_exit(t, 0, WaitStatus::Exited(0));
            assert_eq!(verdict, Verdict::Nothing);
            let State::Restarting { at } = h.state(0) else {
                panic!("{:?}", h.fleet.view(0))
            };
            waits.push(at.saturating_duration_since(t));
            assert_eq!(h.fleet.next_wakeup(), Some(at));
            t = at;
            h.time(t);
            assert_eq!(h.state(0), State::Ready);
        }
        assert_eq!(waits, [100 * MS, 200 * MS, 400 * MS, 800 * MS]);
        assert_eq!(h.fleet.view(0).restarts, 4);
        // Up for 10 s: the next failure waits the first backoff again.
        t = t + STEADY;
        h.service_exit(t, 0, WaitStatus::Exited(1));
        assert_eq!(
            h.state(0),
            State::Restarting {
                at: t + DEFAULT_RESTART_DELAY
            }
        );
        assert_eq!(Ending::default().backoff(30), DEFAULT_RESTART_MAX_DELAY);
    }

    #[test]
    fn on_failure_restarts_only_failures_and_a_clean_exit_is_no_end() {
        let list = services(vec![
            service("a", Ready::Spawned, &[], Restart::OnFailure),
            service("b", Ready::Spawned, &[], Restart::No),
        ]);
        let t = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t);
        h.service_exit(t, 0, WaitStatus::Signaled(15));
        assert!(matches!(h.state(0), State::Restarting { .. }));
        h.time(t + DEFAULT_RESTART_DELAY);
        let verdict = h.service_exit(t, 0, WaitStatus::Exited(0));
        assert_eq!(verdict, Verdict::Nothing);
        assert_eq!(h.state(0), State::Exited(WaitStatus::Exited(0)));
        // With nothing left running at all, the job is over.
        let verdict = h.service_exit(t, 1, WaitStatus::Exited(0));
        assert_eq!(verdict, Verdict::StopAll);
    }

    #[test]
    fn past_max_restarts_within_a_minute_the_container_ends() {
        let mut a = service("a", Ready::Spawned, &[], Restart::Always);
        a.max_restarts = 2;
        let list = services(vec![a]);
        let mut t = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t);
        for _ in 0..2 {
            h.service_exit(t, 0, WaitStatus::Exited(3));
            t = t + Duration::from_secs(1);
            h.time(t);
        }
        let verdict = h.service_exit(t, 0, WaitStatus::Exited(3));
        assert_eq!(verdict, Verdict::StopAll);
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Exited(3)));
        assert!(
            h.notes()
                .iter()
                .any(|n| matches!(n, ServiceNote::GaveUp { service: 0, .. }))
        );
    }

    #[test]
    fn the_stop_goes_from_the_last_started_to_the_first() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, true);
        let deadline = t0 + Duration::from_secs(9);
        // The main command first: nothing is signalled while it runs.
        assert_eq!(h.begin_stop(t0, deadline), Verdict::Nothing);
        assert_eq!(h.acts(), []);
        h.main_exit(t0);
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)]);
        h.service_exit(t0, 2, WaitStatus::Exited(0));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        h.service_exit(t0, 1, WaitStatus::Exited(0));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
        let verdict = h.service_exit(t0, 0, WaitStatus::Signaled(15));
        assert_eq!(verdict, Verdict::Down);
        assert_eq!(h.fleet.outcome(), None, "a stopped service decides nothing");
    }

    /// uptime_ms is the run's: neither becoming ready nor stopping starts
    /// it again.
    #[test]
    fn a_run_s_time_counts_from_its_start_through_ready_and_stopping() {
        let t0 = Instant::now();
        let mut h = Harness::new(&chain(), false);
        h.time(t0);
        // db, ready a second after its start; then app and web start
        // (ready once spawned).
        let t1 = t0 + Duration::from_secs(1);
        h.ready(t1, 0);
        assert_eq!(h.state(0), State::Ready);
        assert_eq!(h.fleet.view(0).since, Some(t0));
        assert_eq!(h.fleet.view(2).since, Some(t1));
        // web, the last started, is the first to stop.
        let t5 = t0 + Duration::from_secs(5);
        h.begin_stop(t5, t5 + Duration::from_secs(9));
        assert_eq!(h.state(2), State::Stopping);
        assert_eq!(h.fleet.view(2).since, Some(t1));
    }

    #[test]
    fn a_dead_service_in_the_middle_of_a_chain_still_orders_the_stop() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        let verdict = h.service_exit(t0, 1, WaitStatus::Signaled(9));
        assert_eq!(verdict, Verdict::StopAll);
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)], "web first, db waits");
        h.service_exit(t0, 2, WaitStatus::Exited(0));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
    }

    #[test]
    fn a_service_whose_group_lingers_holds_back_the_ones_before_it() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        h.acts();
        let web = h.pid(2);
        h.exit_with(t0, web, WaitStatus::Exited(0), true);
        assert_eq!(
            h.acts(),
            [Done::Signal(2, SIGTERM)],
            "web's worker, left in its group, gets web's signal, and app waits"
        );
        assert_eq!(h.state(2), State::Stopping);
        assert_eq!(h.fleet.lingering().collect::<Vec<_>>(), [(2, web)]);
        let verdict = h.fleet.on_group_gone(t0, 2, &mut h.rec);
        assert_eq!(verdict, Verdict::Nothing);
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        assert_eq!(h.fleet.lingering().count(), 0);
    }

    #[test]
    fn a_stop_timeout_kills_the_service_before_the_deadline_only() {
        let mut list = chain();
        list.services[2].stop_timeout = Some(Duration::from_secs(2));
        list.services[2].stop_signal = SIGINT;
        list.services[1].stop_timeout = Some(Duration::from_secs(20));
        let t0 = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t0);
        h.ready(t0, 0);
        h.acts();
        let deadline = t0 + Duration::from_secs(9);
        h.begin_stop(t0, deadline);
        assert_eq!(h.acts(), [Done::Signal(2, SIGINT)]);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(2)));
        let t2 = t0 + Duration::from_secs(2);
        h.time(t2);
        assert_eq!(h.acts(), [Done::Kill(2)]);
        h.service_exit(t2, 2, WaitStatus::Signaled(9));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        // 20 s is past the deadline: the deadline's own kill is the bound,
        // and what is timed is db's turn, at half of what app had left.
        let half = Duration::from_millis(3500);
        assert_eq!(h.fleet.next_wakeup(), Some(t2 + half));
    }

    #[test]
    fn nothing_starts_or_restarts_once_the_stop_began() {
        let list = services(vec![
            service("a", Ready::Spawned, &[], Restart::Always),
            service("b", Ready::Fd(3), &[], Restart::No),
            service("c", Ready::Spawned, &[1], Restart::No),
        ]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, true);
        h.time(t0);
        h.service_exit(t0, 0, WaitStatus::Exited(1));
        h.acts();
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        h.time(t0 + Duration::from_secs(1));
        assert_eq!(
            h.acts(),
            [Done::Signal(1, SIGTERM)],
            "a is not restarted, c never starts, the main command never starts"
        );
        assert_eq!(h.state(2), State::Waiting);
    }

    #[test]
    fn a_starting_service_is_checked_no_more_once_the_stop_began() {
        let list = services(vec![service("a", probed(), &[], Restart::Always)]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, true);
        h.time(t0);
        h.time(t0 + 50 * MS);
        h.probed(t0 + 50 * MS, 0, true);
        assert_eq!(h.acts(), [Done::Start(0), Done::Probe(0), Done::StartMain]);
        // Restarted while the main command runs, and not ready yet when
        // the stop begins: it waits for the main command's exit, probed no
        // more.
        let t1 = t0 + Duration::from_secs(1);
        h.service_exit(t1, 0, WaitStatus::Exited(1));
        h.time(t1 + DEFAULT_RESTART_DELAY);
        assert_eq!(h.state(0), State::Starting);
        h.acts();
        let begun = t1 + DEFAULT_RESTART_DELAY;
        let deadline = t1 + Duration::from_secs(9);
        h.begin_stop(begun, deadline);
        assert!(h.rec.done.contains(&Done::Forget(0)));
        assert_eq!(
            h.fleet.next_wakeup(),
            Some(begun + deadline.saturating_duration_since(begun) / 2),
            "only the main command's hold is left to time"
        );
        h.time(t1 + Duration::from_secs(2));
        assert_eq!(h.acts(), []);
        // A late probe answer changes nothing either.
        h.probed(t1 + Duration::from_secs(2), 0, true);
        assert_eq!(h.state(0), State::Starting);
        h.main_exit(t1 + Duration::from_secs(2));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
    }

    /// A start answered only once the stop began (as a recording may
    /// answer): started, it is stopped in its turn; failed, it is gone.
    #[test]
    fn a_start_answered_after_the_stop_began_is_stopped_or_gone() {
        let list = services(vec![
            service("a", Ready::Spawned, &[], Restart::Always),
            service("b", Ready::Spawned, &[], Restart::Always),
        ]);
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        rec.reports.clear();
        fleet.begin_stop(t0, t0 + Duration::from_secs(9), &mut rec);
        rec.done.clear();
        let started = Report::Started { service: 0, pid: 7 };
        fleet.on_report(t0, started, &mut rec);
        assert_eq!(rec.done.last(), Some(&Done::Signal(0, SIGTERM)));
        let failed = Report::StartFailed {
            service: 1,
            status: WaitStatus::Exited(127),
        };
        assert_eq!(fleet.on_report(t0, failed, &mut rec), Verdict::Nothing);
        assert_eq!(fleet.view(1).state, State::Exited(WaitStatus::Exited(127)));
        let exit = Exit {
            pid: 7,
            status: WaitStatus::Signaled(15),
            group_left: false,
        };
        assert_eq!(fleet.on_exit(t0, exit, &mut rec), Some(Verdict::Down));
    }

    #[test]
    fn a_service_that_cannot_start_counts_as_its_exit() {
        let list = services(vec![service("a", Ready::Spawned, &[], Restart::No)]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, true);
        h.rec.fails = vec![(0, WaitStatus::Exited(126))];
        assert_eq!(h.time(t0), Verdict::StopAll);
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Exited(126)));
        assert!(!h.rec.done.contains(&Done::StartMain));
        assert!(h.notes().contains(&ServiceNote::Exited {
            service: 0,
            pid: 0,
            status: WaitStatus::Exited(126)
        }));
    }

    #[test]
    fn a_main_command_that_cannot_start_ends_the_container_with_its_status() {
        let list = services(vec![service("a", Ready::Spawned, &[], Restart::No)]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, true);
        h.time(t0);
        assert_eq!(h.acts(), [Done::Start(0), Done::StartMain]);
        h.rec.reports.clear();
        let verdict = h.report(
            t0,
            Report::MainFailed {
                status: WaitStatus::Exited(127),
            },
        );
        assert_eq!(verdict, Verdict::StopAll);
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Exited(127)));
        // The main command never ran: the services stop at once.
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
    }

    // Commands (`grace stop`, `start`, `restart`, `signal`).

    fn command(h: &mut Harness, now: Instant, service: usize, command: Command) -> Verdict {
        h.report(now, Report::Command { service, command })
    }

    const RESTART: Command = Command::Restart { dependents: false };

    #[test]
    fn a_restart_stops_the_service_and_starts_it_again_and_nothing_else() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        let (db, web) = (h.pid(0), h.pid(2));
        let generation = h.fleet.generation;
        assert_eq!(command(&mut h, t0, 1, RESTART), Verdict::Nothing);
        assert!(h.fleet.generation > generation, "answered by a publish");
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        assert_eq!(h.state(1), State::Stopping);
        // Its exit is not an essential one (restart = "no"): it starts
        // again, at once, since db is ready.
        let t1 = t0 + 5 * MS;
        assert_eq!(
            h.service_exit(t1, 1, WaitStatus::Signaled(15)),
            Verdict::Nothing
        );
        assert_eq!(h.acts(), [Done::Start(1)]);
        assert_eq!(h.state(1), State::Ready);
        assert_eq!(h.fleet.view(1).since, Some(t1));
        assert_eq!((h.pid(0), h.pid(2)), (db, web), "the others keep running");
        assert_eq!(h.fleet.outcome(), None);
        assert!(h.fleet.all_ready());
    }

    #[test]
    fn with_its_dependents_the_last_started_stop_first_and_start_after_it() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        command(&mut h, t0, 0, Command::Restart { dependents: true });
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)]);
        h.service_exit(t0, 2, WaitStatus::Signaled(15));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        h.service_exit(t0, 1, WaitStatus::Signaled(15));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
        h.service_exit(t0, 0, WaitStatus::Signaled(15));
        // db first, the others once it is ready (its fd).
        assert_eq!(h.acts(), [Done::Start(0)]);
        assert_eq!((h.state(1), h.state(2)), (State::Waiting, State::Waiting));
        h.ready(t0, 0);
        assert_eq!(h.acts(), [Done::Start(1), Done::Start(2)]);
        assert!(h.fleet.all_ready());
        assert_eq!(h.fleet.outcome(), None);
    }

    #[test]
    fn a_stopped_service_stays_stopped_until_started_and_its_dependents_run_on() {
        let list = services(vec![service("only", Ready::Spawned, &[], Restart::Always)]);
        let t0 = Instant::now();
        // Alone, with no main command: the container stays up for it.
        let mut alone = Harness::new(&list, false);
        alone.time(t0);
        alone.acts();
        command(&mut alone, t0, 0, Command::Stop);
        assert_eq!(
            alone.service_exit(t0, 0, WaitStatus::Exited(0)),
            Verdict::Nothing
        );
        assert_eq!(alone.state(0), State::Stopped);

        let mut h = chain_up(t0, false);
        let web = h.pid(2);
        command(&mut h, t0, 1, Command::Stop);
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
        assert_eq!(
            h.service_exit(t0, 1, WaitStatus::Signaled(15)),
            Verdict::Nothing
        );
        assert_eq!(h.acts(), [], "not restarted");
        assert_eq!(h.state(1), State::Stopped);
        assert_eq!(h.fleet.view(1).pid, None);
        assert!(!h.fleet.all_ready());
        assert_eq!(h.pid(2), web);
        // Nothing to wait for, nothing more happens.
        assert_eq!(h.fleet.next_wakeup(), None);
        assert_eq!(h.time(t0 + Duration::from_secs(60)), Verdict::Nothing);
        assert_eq!(h.state(1), State::Stopped);
        // A signal to a stopped service goes nowhere; a restart of its
        // dependencies leaves it stopped.
        command(&mut h, t0, 1, Command::Signal(SIGINT));
        command(&mut h, t0, 0, Command::Restart { dependents: true });
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)]);
        h.service_exit(t0, 2, WaitStatus::Signaled(15));
        h.acts();
        h.service_exit(t0, 0, WaitStatus::Signaled(15));
        h.ready(t0, 0);
        assert_eq!(h.acts(), [Done::Start(0)]);
        assert_eq!((h.state(1), h.state(2)), (State::Stopped, State::Waiting));
        command(&mut h, t0, 1, Command::Start);
        assert_eq!(h.acts(), [Done::Start(1), Done::Start(2)]);
        assert!(h.fleet.all_ready());
    }

    #[test]
    fn a_command_s_stop_is_bounded_by_the_stop_timeout_or_the_grace_period() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        h.fleet = core::mem::replace(&mut h.fleet, Fleet::new(&chain(), false))
            .with_grace_period(Duration::from_secs(5));
        command(&mut h, t0, 2, Command::Stop);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(5)));
        h.acts();
        h.time(t0 + Duration::from_secs(5));
        assert_eq!(h.acts(), [Done::Kill(2)]);
    }

    #[test]
    fn a_signal_goes_alone_to_a_running_service_and_commands_wait_for_no_stop() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        command(&mut h, t0, 1, Command::Signal(SIGINT));
        assert_eq!(h.acts(), [Done::Deliver(1, SIGINT)]);
        assert_eq!(h.state(1), State::Ready);
        // Once the container's stop began, a command changes nothing.
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        h.acts();
        for asked in [
            Command::Stop,
            Command::Start,
            RESTART,
            Command::Signal(SIGINT),
        ] {
            command(&mut h, t0, 0, asked);
        }
        assert_eq!(h.acts(), []);
        assert_eq!(h.state(0), State::Ready);
    }

    fn oneshot(name: &str, after: &[usize], stop_command: bool) -> Service {
        let mut s = service(name, Ready::Spawned, after, Restart::No);
        s.kind = Kind::Oneshot;
        s.stop_command = stop_command.then(|| crate::services::model::Command {
            command: vec!["/bin/undo".into()],
            executable: "/bin/undo".into(),
        });
        s
    }

    /// migrate (a oneshot, with a stop command) ← app.
    fn migrated() -> Services {
        services(vec![
            oneshot("migrate", &[], true),
            service("app", Ready::Spawned, &[0], Restart::No),
        ])
    }

    #[test]
    fn a_oneshot_gates_its_dependents_until_it_exits_0_and_counts_as_ready() {
        let t0 = Instant::now();
        let mut h = Harness::new(&migrated(), true);
        h.time(t0);
        assert_eq!(h.acts(), [Done::Start(0)]);
        assert_eq!(h.state(0), State::Starting, "spawned is not done");
        h.ready(t0, 0);
        assert_eq!(h.acts(), [], "a oneshot is not ready by word");
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(
            h.service_exit(t0, 0, WaitStatus::Exited(0)),
            Verdict::Nothing
        );
        assert_eq!(h.state(0), State::Done);
        assert_eq!(h.acts(), [Done::Start(1), Done::StartMain]);
        assert!(h.fleet.all_ready());
        assert_eq!(h.fleet.next_wakeup(), None);
    }

    #[test]
    fn a_failing_oneshot_ends_the_container_with_its_status() {
        let t0 = Instant::now();
        let mut h = Harness::new(&migrated(), false);
        h.time(t0);
        let verdict = h.service_exit(t0, 0, WaitStatus::Exited(3));
        assert_eq!(verdict, Verdict::StopAll);
        assert_eq!(h.fleet.outcome(), Some(WaitStatus::Exited(3)));
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        assert!(!h.rec.done.contains(&Done::Start(1)), "app never starts");
        assert!(!h.rec.done.contains(&Done::Command(0)), "nothing to undo");
    }

    #[test]
    fn a_oneshot_s_stop_command_runs_in_reverse_order_and_is_waited_for() {
        let t0 = Instant::now();
        let mut h = Harness::new(&migrated(), false);
        h.time(t0);
        h.service_exit(t0, 0, WaitStatus::Exited(0));
        h.acts();
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)], "app first");
        h.service_exit(t0, 1, WaitStatus::Exited(0));
        assert_eq!(h.acts(), [Done::Command(0)]);
        assert_eq!(h.state(0), State::Stopping);
        let command = h.pid(0);
        let verdict = h.exit(t0, command, WaitStatus::Exited(4)).unwrap();
        assert_eq!(verdict, Verdict::Down);
        assert!(h.notes().contains(&ServiceNote::CommandExited {
            service: 0,
            pid: command,
            status: WaitStatus::Exited(4)
        }));
        assert_eq!(h.state(0), State::Exited(WaitStatus::Exited(0)));
    }

    #[test]
    fn a_stop_command_runs_instead_of_the_signal_and_the_stop_waits_for_the_service() {
        let mut list = chain();
        list.services[2].stop_command = oneshot("x", &[], true).stop_command;
        let t0 = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t0);
        h.ready(t0, 0);
        h.acts();
        h.begin_stop(t0, t0 + Duration::from_secs(9));
        assert_eq!(h.acts(), [Done::Command(2)]);
        let web = h.pid(2);
        let command = h.rec.reports_seen_command(2);
        assert_eq!(
            h.exit(t0, command, WaitStatus::Exited(0)),
            Some(Verdict::Nothing)
        );
        assert_eq!(
            h.state(2),
            State::Stopping,
            "the command's end is not the service's"
        );
        assert_eq!(h.acts(), []);
        h.exit(t0, web, WaitStatus::Exited(0));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)]);
    }

    #[test]
    fn a_stop_command_that_cannot_start_leaves_the_stop_signal() {
        let mut list = chain();
        list.services[2].stop_command = oneshot("x", &[], true).stop_command;
        let t0 = Instant::now();
        let mut fleet = Fleet::new(&list, false);
        let mut rec = Recording::default();
        fleet.on_time(t0, &mut rec);
        for service in 0..3 {
            fleet.on_report(
                t0,
                Report::Started {
                    service,
                    pid: 10 + service as i32,
                },
                &mut rec,
            );
            fleet.on_report(t0, Report::Ready { service }, &mut rec);
        }
        fleet.begin_stop(t0, t0 + Duration::from_secs(9), &mut rec);
        rec.done.clear();
        fleet.on_report(t0, Report::CommandFailed { service: 2 }, &mut rec);
        assert!(rec.done.contains(&Done::Signal(2, SIGTERM)));
    }

    /// Issue 20, rule 4: with app after db and app ignoring its signal,
    /// db gets its own once half of what remained has passed.
    #[test]
    fn a_service_that_ignores_its_signal_holds_the_ones_before_it_half_of_what_remains() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, false);
        let deadline = t0 + Duration::from_secs(8);
        h.begin_stop(t0, deadline);
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)]);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(4)));
        h.time(t0 + Duration::from_secs(3));
        assert_eq!(h.acts(), []);
        h.time(t0 + Duration::from_secs(4));
        assert_eq!(h.acts(), [Done::Signal(1, SIGTERM)], "app, though web runs");
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(6)));
        h.time(t0 + Duration::from_secs(6));
        assert_eq!(h.acts(), [Done::Signal(0, SIGTERM)]);
        assert_eq!(h.fleet.next_wakeup(), None, "the deadline is the stop's");
    }

    #[test]
    fn a_main_command_that_ignores_its_signal_holds_the_services_half_the_time() {
        let t0 = Instant::now();
        let mut h = chain_up(t0, true);
        h.begin_stop(t0, t0 + Duration::from_secs(8));
        assert_eq!(h.acts(), []);
        assert_eq!(h.fleet.next_wakeup(), Some(t0 + Duration::from_secs(4)));
        h.time(t0 + Duration::from_secs(4));
        assert_eq!(h.acts(), [Done::Signal(2, SIGTERM)]);
    }

    /// `essential = false`: its exit ends it alone; exited 0 it counts as
    /// ready (the main command starts), and a failure does not.
    #[test]
    fn a_service_that_may_end_leaves_the_others_running() {
        let mut warm = service("warm", Ready::Spawned, &[], Restart::No);
        warm.ending.essential = false;
        let mut flaky = warm.clone();
        flaky.name = "flaky".into();
        let list = services(vec![
            warm,
            flaky,
            service("db", Ready::Fd(3), &[], Restart::No),
        ]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, true);
        h.time(t0);
        assert_eq!(
            h.service_exit(t0, 0, WaitStatus::Exited(0)),
            Verdict::Nothing
        );
        assert_eq!(h.state(0), State::Ended(WaitStatus::Exited(0)));
        assert!(h.notes().contains(&ServiceNote::Ended { service: 0 }));
        h.ready(t0, 2);
        assert!(
            h.fleet.all_ready(),
            "warm ended as it may, flaky and db run"
        );
        assert!(h.rec.done.contains(&Done::StartMain));
        assert_eq!(
            h.service_exit(t0, 1, WaitStatus::Exited(2)),
            Verdict::Nothing
        );
        assert_eq!(h.state(1), State::Exited(WaitStatus::Exited(2)));
        assert!(!h.fleet.all_ready(), "a failure counts against ready");
        assert_eq!(h.fleet.outcome(), None);
        assert_eq!(h.state(2), State::Ready);
    }

    /// `success_exit_codes` decides what `on-failure` restarts;
    /// `restart_delay` and `restart_max_delay` pace the restarts.
    #[test]
    fn restarts_follow_the_service_s_codes_and_delays() {
        let mut a = service("a", Ready::Spawned, &[], Restart::OnFailure);
        a.ending.success = Ending::codes([0, 3]);
        a.ending.delay = Duration::from_secs(1);
        a.ending.max_delay = Duration::from_millis(2500);
        let list = services(vec![a, service("b", Ready::Spawned, &[], Restart::No)]);
        let mut t = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t);
        let mut waits = Vec::new();
        for _ in 0..3 {
            h.service_exit(t, 0, WaitStatus::Exited(1));
            let State::Restarting { at } = h.state(0) else {
                panic!("{:?}", h.fleet.view(0))
            };
            waits.push(at.saturating_duration_since(t));
            t = at;
            h.time(t);
        }
        assert_eq!(waits, [1000 * MS, 2000 * MS, 2500 * MS]);
        assert_eq!(
            h.service_exit(t, 0, WaitStatus::Exited(3)),
            Verdict::Nothing
        );
        assert_eq!(h.state(0), State::Exited(WaitStatus::Exited(3)));
        assert!(h.notes().contains(&ServiceNote::Ended { service: 0 }));
    }

    /// A run that leaves processes behind outside the stop is said, and
    /// its restart waits until they are gone, then its backoff.
    #[test]
    fn a_service_that_left_processes_restarts_only_once_they_are_gone() {
        let list = services(vec![
            service("d", Ready::Spawned, &[], Restart::Always),
            service("e", Ready::Spawned, &[], Restart::Always),
        ]);
        let t0 = Instant::now();
        let mut h = Harness::new(&list, false);
        h.time(t0);
        h.acts();
        let pid = h.pid(0);
        h.exit_with(t0, pid, WaitStatus::Exited(0), true);
        assert!(h.notes().contains(&ServiceNote::LeftBehind {
            service: 0,
            restarts: true
        }));
        assert_eq!(h.state(0), State::Exited(WaitStatus::Exited(0)));
        assert_eq!(h.fleet.lingering().collect::<Vec<_>>(), [(0, pid)]);
        assert_eq!(h.fleet.next_wakeup(), None, "no timer while they run");
        let t1 = t0 + Duration::from_secs(5);
        h.time(t1);
        assert_eq!(h.acts(), [], "not restarted over what it left");
        h.fleet.on_group_gone(t1, 0, &mut h.rec);
        assert_eq!(
            h.state(0),
            State::Restarting {
                at: t1 + DEFAULT_RESTART_DELAY
            }
        );
        h.time(t1 + DEFAULT_RESTART_DELAY);
        assert_eq!(h.acts(), [Done::Start(0)]);
        // During the stop, what a service leaves is the stop's business.
        h.begin_stop(t1, t1 + Duration::from_secs(9));
        let e = h.pid(1);
        h.exit_with(t1, e, WaitStatus::Exited(0), true);
        assert!(
            !h.notes()
                .iter()
                .any(|n| matches!(n, ServiceNote::LeftBehind { service: 1, .. }))
        );
    }
}
