//! What a grace will do in a stop, read off its own machines: the real
//! `Shutdown` (and, with services, the real `Fleet`) is fed the events a
//! stop brings, with effects that only record, and the schedule is what
//! they recorded. Nothing here decides who is signalled, with what or
//! when, so the prediction cannot drift from the behaviour.
//!
//! Only the world's answers are made up, in two runs:
//! - slow: nothing exits by itself (the pre-stop command overruns, the
//!   main process and the services hold out), so every bound is met and
//!   each time is the latest;
//! - fast: each process exits as soon as it is signalled, which shows who
//!   waits for whom, and the services' order.
//!
//! Between the two machines the events go as the supervisor passes them
//! (`init::supervisor`): the stop's `stop_services` begins the fleet's
//! stop, the fleet's verdicts go back to the stop, the main process's
//! exit goes to both.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::Signal;
use crate::base::time::Instant;
use crate::cli::Config;
use crate::init::order::{self, After, Due};
use crate::init::shutdown::{self, Shutdown, StopEffects};
use crate::process::reap::WaitStatus;
use crate::process::sockets::Connection;
use crate::services::fleet::{Exit, Fleet, FleetEffects, Report, ServiceNote, State, Verdict};
use crate::services::model::{Kind, Services};

/// What begins the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// A stop signal; the main process gets `main_signal`.
    Signal { signal: Signal, main_signal: Signal },
    /// The main process exited and left others.
    MainExit,
}

/// One service's part in the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ServiceStop {
    /// Its index in the services file's start order.
    pub(super) index: usize,
    /// What its process gets, then SIGCONT, unless `command`.
    pub(super) signal: Signal,
    /// Its `stop_command` runs instead.
    pub(super) command: bool,
    /// What the rest of its process group gets once its process has exited.
    pub(super) group_signal: Option<Signal>,
    /// Its process group is SIGKILLed this long after its signal (None:
    /// only the deadline's kill bounds it).
    pub(super) kill_after: Option<Duration>,
}

/// What an ordered stop reads when it begins (`StopEffects::read_order`),
/// as the inspected tree shows it.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree {
    pub(super) grace: i32,
    pub(super) main: Option<i32>,
    /// Every process the stop lists: in reach, not grace, not a zombie.
    pub(super) processes: Vec<order::Process>,
    pub(super) connections: Vec<Connection>,
}

impl Tree {
    /// `pid` exited: a later reading no longer lists it, and its children
    /// are grace's, as the kernel makes them.
    fn exited(&mut self, pid: i32) {
        self.processes.retain(|p| p.pid != pid);
        for p in &mut self.processes {
            if p.ppid == pid {
                p.ppid = self.grace;
            }
        }
    }
}

/// One process of an ordered stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ordered {
    pub(super) pid: i32,
    pub(super) signal: Signal,
    /// Whose exits it waits for, and why: `init::order`'s answer when the
    /// stop read the order.
    pub(super) after: Vec<After>,
    /// When it gets the signal at the latest: when the run in which
    /// nothing exits by itself signalled it (None: in that run the
    /// services held out until the deadline).
    pub(super) at_latest: Option<Duration>,
}

/// A stop, as grace's machines carry it out; times count from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Schedule {
    pub(super) start: Start,
    /// Nothing is signalled before (`--stop-delay`).
    pub(super) delay: Duration,
    /// How long the pre-stop command may run, if one runs.
    pub(super) pre_stop: Option<Duration>,
    /// What the main process gets (None: it has exited).
    pub(super) main: Option<Signal>,
    /// The main process and every other process are signalled as one act.
    pub(super) together: bool,
    /// What every other process gets, followed by SIGCONT.
    pub(super) others: Option<Signal>,
    /// When the others get it at the latest, if the stop's own bounds
    /// decide it (None: only once the main process or the services are
    /// gone).
    pub(super) others_at: Option<Duration>,
    /// The others get it as soon as the main process (and the services)
    /// have exited.
    pub(super) others_follow_main: bool,
    /// The services' stop: each batch once the one before is gone (and the
    /// first once the main process is).
    pub(super) services: Vec<Vec<ServiceStop>>,
    /// The SIGKILL of everyone left.
    pub(super) deadline: Duration,
    /// `--stop-order auto`: the processes the order signals one by one,
    /// as it signalled them (empty: the stop is not ordered).
    pub(super) ordered: Vec<Ordered>,
}

impl Schedule {
    /// The stop `start` begins, for the grace run with `config` and
    /// `services`; `lingering`: the services whose process has others in
    /// its process group.
    pub(super) fn of(
        config: &Config,
        services: Option<&Services>,
        start: Start,
        lingering: &[usize],
        tree: &Tree,
    ) -> Schedule {
        let (slow, slow_waits) = Machines::run(config, services, start, lingering, tree, false);
        let (fast, fast_waits) = Machines::run(config, services, start, lingering, tree, true);
        // As read in the run that reached the order (with services, the
        // slow one may not: they hold out until the deadline).
        let waits = if slow_waits.is_empty() {
            fast_waits
        } else {
            slow_waits
        };
        let since = |at: Instant| at.saturating_duration_since(t0());
        let slow_at = |wanted: &dyn Fn(&Act) -> bool| {
            slow.iter()
                .find(|(_, _, act)| wanted(act))
                .map(|&(at, _, _)| since(at))
        };
        let pre_stop_start = slow_at(&|act| matches!(act, Act::PreStop));
        let deadline = slow_at(&|act| matches!(act, Act::Kill)).unwrap_or(Duration::MAX);
        let pre_stop = pre_stop_start.map(|start| {
            slow_at(&|act| matches!(act, Act::AbandonPreStop))
                .unwrap_or(deadline)
                .saturating_sub(start)
        });
        let delay = slow_at(&|act| {
            matches!(
                act,
                Act::PreStop | Act::Main(_) | Act::Everyone(..) | Act::Others(_)
            )
        })
        .unwrap_or(deadline);
        let main = slow.iter().find_map(|(_, _, act)| match *act {
            Act::Main(signal) | Act::Everyone(signal, _) => Some(signal),
            _ => None,
        });
        let main = main.filter(|_| config.has_command && start != Start::MainExit);
        let together = slow
            .iter()
            .any(|(_, _, act)| matches!(act, Act::Everyone(..)));
        let others_of = |acts: &[(Instant, usize, Act)]| {
            acts.iter().find_map(|&(at, _, act)| match act {
                Act::Everyone(_, signal) | Act::Others(signal) => Some((at, signal)),
                _ => None,
            })
        };
        let signalled_in = |acts: &[(Instant, usize, Act)], pid: i32| {
            acts.iter().find_map(|&(at, _, act)| match act {
                Act::Process(signalled, _) if signalled == pid => Some(since(at)),
                _ => None,
            })
        };
        let mut ordered = Vec::new();
        for &(_, _, act) in &fast {
            if let Act::Process(pid, signal) = act {
                ordered.push(Ordered {
                    pid,
                    signal,
                    after: waits
                        .iter()
                        .find(|(waiter, _)| *waiter == pid)
                        .map_or(Vec::new(), |(_, after)| after.clone()),
                    at_latest: signalled_in(&slow, pid),
                });
            }
        }
        let others_at = others_of(&slow).map(|(at, _)| since(at));
        let fast_others = others_of(&fast);
        let main_signalled = fast.iter().find_map(|&(at, _, act)| match act {
            Act::Main(_) | Act::Everyone(..) => Some(at),
            _ => None,
        });
        let others_follow_main = match (fast_others, main_signalled) {
            (Some((at, _)), Some(main_at)) => at == main_at,
            (Some(_), None) => start == Start::MainExit,
            _ => false,
        };
        // Batches: the services one event signalled together.
        let mut services: Vec<Vec<ServiceStop>> = Vec::new();
        let mut last_step = None;
        for &(_, step, act) in &fast {
            let Act::Service {
                index,
                signal,
                kill_after,
                command,
            } = act
            else {
                continue;
            };
            let stop = ServiceStop {
                index,
                signal,
                command,
                group_signal: fast.iter().find_map(|&(_, _, act)| match act {
                    Act::Group(group, signal) if group == index => Some(signal),
                    _ => None,
                }),
                kill_after,
            };
            match services.last_mut() {
                Some(batch) if last_step == Some(step) => batch.push(stop),
                _ => services.push(vec![stop]),
            }
            last_step = Some(step);
        }
        Schedule {
            start,
            delay,
            pre_stop,
            main,
            together,
            others: fast_others
                .map(|(_, signal)| signal)
                .or(ordered.first().map(|o| o.signal)),
            others_at: others_at.or(ordered.iter().filter_map(|o| o.at_latest).max()),
            others_follow_main,
            services,
            deadline,
            ordered,
        }
    }

    /// The ordered stop's part for `pid`, if it signals it.
    pub(super) fn ordered(&self, pid: i32) -> Option<&Ordered> {
        // A search, not a sort and a binary search: a sort of its own
        // would be kilobytes of the binary, for a container's processes.
        self.ordered.iter().find(|o| o.pid == pid)
    }
}

/// When the simulated stop starts.
fn t0() -> Instant {
    Instant::from_millis(0)
}

/// Made-up pids, each telling who exited.
const MAIN_PID: i32 = 1 << 24;
const PRE_STOP_PID: i32 = MAIN_PID + 1;
fn service_pid(index: usize) -> i32 {
    MAIN_PID + 2 + index as i32
}
/// A service's `stop_command`.
fn command_pid(index: usize) -> i32 {
    service_pid(index) + (1 << 20)
}

/// What the machines asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    PreStop,
    AbandonPreStop,
    Main(Signal),
    Everyone(Signal, Signal),
    Others(Signal),
    Kill,
    /// `kill_after` read from the fleet at the moment of the signal.
    Service {
        index: usize,
        signal: Signal,
        kill_after: Option<Duration>,
        command: bool,
    },
    Group(usize, Signal),
    /// The order signalled this process.
    Process(i32, Signal),
}

/// What each process waited for when the order was read.
type Waits = Vec<(i32, Vec<After>)>;

/// The recording world: every act with its time and the event that
/// caused it.
struct World {
    now: Instant,
    step: usize,
    acts: Vec<(Instant, usize, Act)>,
    /// The stop asked for the services' stop, with this deadline.
    begin_services: Option<Instant>,
    /// Process groups that outlive their service's process, once.
    lingering: Vec<i32>,
    /// The answers to the fleet's requests, oldest first.
    reports: Vec<Report>,
    /// The stop asked for the order.
    order_wanted: bool,
}

impl World {
    fn record(&mut self, act: Act) {
        self.acts.push((self.now, self.step, act));
    }
}

impl StopEffects for World {
    fn note(&mut self, _: shutdown::StopNote) {}
    fn start_pre_stop(&mut self) -> Option<i32> {
        self.record(Act::PreStop);
        Some(PRE_STOP_PID)
    }
    fn abandon_pre_stop(&mut self, _: i32) {
        self.record(Act::AbandonPreStop);
    }
    fn signal_main(&mut self, signal: Signal) {
        self.record(Act::Main(signal));
    }
    fn signal_everyone(&mut self, main: Signal, others: Signal) {
        self.record(Act::Everyone(main, others));
    }
    fn signal_others(&mut self, others: Signal) {
        self.record(Act::Others(others));
    }
    fn catch_up(&mut self, _: Signal, _: bool) {}
    fn kill_stragglers(&mut self, _: Signal) {
        self.record(Act::Kill);
    }
    fn stop_services(&mut self, deadline: Instant) {
        self.begin_services = Some(deadline);
    }
    fn read_order(&mut self) {
        self.order_wanted = true;
    }
    fn signal_processes(&mut self, signal: Signal, due: &mut Vec<Due>) {
        for due in due.iter() {
            self.record(Act::Process(due.pid, signal));
        }
    }
}

impl FleetEffects for World {
    fn start(&mut self, service: usize) {
        self.reports.push(Report::Started {
            service,
            pid: service_pid(service),
        });
    }
    fn probe(&mut self, service: usize) {
        self.reports.push(Report::Probe { service, ok: true });
    }
    fn forget_readiness(&mut self, _: usize) {}
    fn signal(&mut self, service: usize, pid: i32, signal: Signal) {
        if pid < 0 {
            self.record(Act::Group(service, signal));
        } else {
            // Completed with the fleet's kill time by `Machines::react`.
            self.record(Act::Service {
                index: service,
                signal,
                kill_after: None,
                command: false,
            });
        }
    }
    fn stop_command(&mut self, service: usize) {
        self.record(Act::Service {
            index: service,
            // Not sent: the command runs instead.
            signal: crate::base::signals::SIGTERM,
            kill_after: None,
            command: true,
        });
        self.reports.push(Report::CommandStarted {
            service,
            pid: command_pid(service),
        });
    }
    fn kill(&mut self, _: usize, _: i32) {}
    // A prediction of the stop gives no commands.
    fn deliver(&mut self, _: usize, _: i32, _: Signal) {}
    fn start_main(&mut self) {
        self.reports.push(Report::MainStarted);
    }
    fn note(&mut self, _: ServiceNote) {}
}

/// Both machines, and the events between them.
struct Machines {
    /// grace runs a main command (with services it may not).
    has_main: bool,
    stop: Shutdown,
    fleet: Option<Fleet>,
    world: World,
    verdicts: Vec<Verdict>,
    /// What the order is read from; `main` None once it exited.
    tree: Tree,
    waits: Waits,
}

impl Machines {
    /// Every act of one run, from the start to the deadline's kill (slow)
    /// or to the last signal (fast).
    fn run(
        config: &Config,
        services: Option<&Services>,
        start: Start,
        lingering: &[usize],
        tree: &Tree,
        fast: bool,
    ) -> (Vec<(Instant, usize, Act)>, Waits) {
        let mut m = Machines {
            has_main: config.has_command,
            stop: Shutdown::new(config),
            fleet: None,
            world: World {
                now: t0(),
                step: 0,
                acts: Vec::new(),
                begin_services: None,
                lingering: lingering.iter().map(|&i| service_pid(i)).collect(),
                reports: Vec::new(),
                order_wanted: false,
            },
            verdicts: Vec::new(),
            tree: tree.clone(),
            waits: Vec::new(),
        };
        if let Some(services) = services {
            m.stop = Shutdown::new(config).with_services();
            m.fleet = Some(m.services_up(services, config.has_command));
        }
        match start {
            Start::Signal {
                signal,
                main_signal,
            } => {
                m.stop
                    .on_stop_signal(t0(), signal, main_signal, 0, &mut m.world);
                m.settle();
            }
            Start::MainExit => {
                m.main_exits();
                m.world.step += 1;
                m.stop.on_others_left(t0(), &mut m.world);
                m.settle();
            }
        }
        let mut seen = 0;
        // Each round is one event: bounded, since each moves a phase on.
        for _ in 0..256 {
            if fast && seen < m.world.acts.len() {
                let (_, _, act) = m.world.acts[seen];
                seen += 1;
                m.react(seen - 1, act, start);
                continue;
            }
            let finished =
                m.stop.is_over() || (fast && m.stop.step() == Some(shutdown::Step::Draining));
            let next = [
                m.stop.next_wakeup(),
                m.fleet.as_ref().and_then(Fleet::next_wakeup),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|_| !finished) else {
                break;
            };
            m.world.now = m.world.now.max(next);
            m.world.step += 1;
            if let Some(fleet) = &mut m.fleet {
                let verdict = fleet.on_time(m.world.now, &mut m.world);
                m.verdicts.push(verdict);
                m.settle();
            }
            m.stop.on_time(m.world.now, &mut m.world);
            m.settle();
        }
        (m.world.acts, m.waits)
    }

    /// Every service started and ready, and the main command with them.
    fn services_up(&mut self, services: &Services, has_main: bool) -> Fleet {
        let mut fleet = Fleet::new(services, has_main);
        for _ in 0..=services.services.len() {
            fleet.on_time(t0(), &mut self.world);
            for report in core::mem::take(&mut self.world.reports) {
                fleet.on_report(t0(), report, &mut self.world);
            }
            for service in 0..services.services.len() {
                if fleet.view(service).state != State::Starting {
                    continue;
                }
                // A oneshot is ready once it is done.
                if services.services[service].kind == Kind::Oneshot {
                    let exit = Exit {
                        pid: service_pid(service),
                        status: WaitStatus::Exited(0),
                        group_left: false,
                    };
                    fleet.on_exit(t0(), exit, &mut self.world);
                } else {
                    fleet.on_report(t0(), Report::Ready { service }, &mut self.world);
                }
            }
        }
        self.world.acts.clear();
        fleet
    }

    /// In the fast run, each process exits as soon as it is signalled.
    fn react(&mut self, at: usize, act: Act, start: Start) {
        self.world.step += 1;
        match act {
            Act::PreStop => {
                self.stop.on_exit(
                    self.world.now,
                    PRE_STOP_PID,
                    WaitStatus::Exited(0),
                    &mut self.world,
                );
                self.settle();
            }
            Act::Main(_) | Act::Everyone(..) if start != Start::MainExit && self.has_main => {
                self.main_exits()
            }
            Act::Service { index, .. } => {
                let Some(fleet) = &mut self.fleet else {
                    return;
                };
                let now = self.world.now;
                let kill_after = fleet
                    .kill_at(index)
                    .map(|kill| kill.saturating_duration_since(now));
                if let (_, _, Act::Service { kill_after: k, .. }) = &mut self.world.acts[at] {
                    *k = kill_after;
                }
                // What a stop command does is its own: it ends, and the
                // service with it.
                let command = Exit {
                    pid: command_pid(index),
                    status: WaitStatus::Exited(0),
                    group_left: false,
                };
                let verdict = fleet.on_exit(now, command, &mut self.world);
                self.verdicts.extend(verdict);
                let group = service_pid(index);
                let group_left = self.world.lingering.contains(&group);
                self.world.lingering.retain(|&g| g != group);
                let exit = Exit {
                    pid: group,
                    status: WaitStatus::Exited(0),
                    group_left,
                };
                let verdict = fleet.on_exit(now, exit, &mut self.world);
                self.verdicts.extend(verdict);
                if group_left {
                    let verdict = fleet.on_group_gone(now, index, &mut self.world);
                    self.verdicts.push(verdict);
                }
                self.settle();
            }
            Act::Process(pid, _) => {
                self.tree.exited(pid);
                self.stop.on_exits(self.world.now, &[pid], &mut self.world);
                self.settle();
            }
            _ => {}
        }
    }

    fn main_exits(&mut self) {
        let now = self.world.now;
        self.stop.on_main_exit(now, &mut self.world);
        if let Some(fleet) = &mut self.fleet {
            let verdict = fleet.on_main_exit(now, &mut self.world);
            self.verdicts.push(verdict);
        }
        if let Some(main) = self.tree.main.take() {
            self.tree.exited(main);
            self.stop.on_exits(now, &[main], &mut self.world);
        }
        self.settle();
    }

    /// The fleet's verdicts to the stop, and the stop's request to the
    /// fleet, until neither has more.
    fn settle(&mut self) {
        let now = self.world.now;
        loop {
            if core::mem::take(&mut self.world.order_wanted) {
                let tree = &self.tree;
                let (grace, main) = (tree.grace, tree.main);
                let connections = tree.connections.clone();
                self.stop.on_order_read(
                    now,
                    grace,
                    main,
                    &tree.processes,
                    connections,
                    &mut self.world,
                );
                // What each waited for as read, before any exit: those
                // signalled at once waited for nothing.
                if let Some(order) = self.stop.order() {
                    self.waits = tree
                        .processes
                        .iter()
                        .map(|p| (p.pid, order.waits_for(p.pid).to_vec()))
                        .collect();
                }
            }
            if let Some(fleet) = &mut self.fleet {
                for report in core::mem::take(&mut self.world.reports) {
                    let verdict = fleet.on_report(now, report, &mut self.world);
                    self.verdicts.push(verdict);
                }
            }
            if let (Some(deadline), Some(fleet)) =
                (self.world.begin_services.take(), &mut self.fleet)
            {
                let verdict = fleet.begin_stop(now, deadline, &mut self.world);
                self.verdicts.push(verdict);
            }
            match self.verdicts.pop() {
                None => return,
                Some(Verdict::Nothing) => {}
                Some(Verdict::StopAll) => self.stop.on_service_ended(now, &mut self.world),
                Some(Verdict::Down) => self.stop.on_services_down(now, &mut self.world),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGINT, SIGTERM};
    use crate::init::order::Reason;
    use crate::inspect::classify::{Init, Kind};
    use crate::inspect::corpus::{CHAIN, services_tree};
    use crate::inspect::fixtures::{grace_tree, no_file};

    /// The options and services file of the grace at the top of `tree`.
    fn grace(tree: &[crate::inspect::collect::Process]) -> (Config, Option<Services>) {
        let read = |path: &str| match path {
            "/etc/grace/services.toml" => Ok(CHAIN.as_bytes().to_vec()),
            _ => no_file(path),
        };
        match Init::identify(tree, 0, &[], &read).kind {
            Kind::Grace {
                config, services, ..
            } => (*config, services.map(|file| *file.unwrap())),
            other => panic!("{other:?}"),
        }
    }

    fn config(args: &[&str]) -> Config {
        grace(&grace_tree(args)).0
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn on_term(args: &[&str]) -> Schedule {
        Schedule::of(
            &config(args),
            None,
            Start::Signal {
                signal: SIGTERM,
                main_signal: SIGTERM,
            },
            &[],
            &Tree::default(),
        )
    }

    #[test]
    fn all_signals_everyone_at_once() {
        let schedule = on_term(&["--stop-order", "all"]);
        assert!(schedule.together);
        assert_eq!(schedule.main, Some(SIGTERM));
        assert_eq!(schedule.others, Some(SIGTERM));
        assert_eq!((schedule.delay, schedule.deadline), (S(0), S(9)));
        assert!(schedule.ordered.is_empty());
    }

    #[test]
    fn the_default_stop_is_ordered_as_the_order_read_says() {
        // The start-script database: the app (10, main) and its psql
        // child (11), connected to a backend (21) of postgres (20).
        let p = |pid: i32, ppid: i32| order::Process { pid, ppid };
        let tree = Tree {
            grace: 1,
            main: Some(10),
            processes: vec![p(10, 1), p(11, 10), p(20, 1), p(21, 20)],
            connections: vec![Connection {
                client: 11,
                server: 21,
            }],
        };
        let start = Start::Signal {
            signal: SIGTERM,
            main_signal: SIGTERM,
        };
        let schedule = Schedule::of(&config(&[]), None, start, &[], &tree);
        assert!(!schedule.together);
        assert_eq!(schedule.main, Some(SIGTERM));
        assert!(
            schedule.ordered(10).is_none(),
            "the main process has its own"
        );
        let after = |pid: i32| {
            let ordered = schedule.ordered(pid).unwrap();
            assert_eq!(ordered.at_latest, Some(Duration::from_millis(4500)));
            assert_eq!(ordered.signal, SIGTERM);
            ordered
                .after
                .iter()
                .map(|a| (a.pid, a.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(after(11), [(10, Reason::Parent)]);
        assert_eq!(after(20), [(10, Reason::Connected)]);
        assert_eq!(after(21), [(20, Reason::Parent)]);
        assert_eq!(schedule.others_at, Some(Duration::from_millis(4500)));
    }

    #[test]
    fn delay_pre_stop_and_main_first_are_the_machine_s_times() {
        let schedule = on_term(&[
            "--stop-delay",
            "2s",
            "--pre-stop",
            "x",
            "--stop-order",
            "main-first",
        ]);
        assert_eq!(schedule.delay, S(2));
        assert_eq!(schedule.pre_stop, Some(Duration::from_millis(3500)));
        assert!(!schedule.together);
        // The pre-stop command overran until 5.5 s: past main-first's
        // half-time, so the others follow at once.
        assert_eq!(schedule.others_at, Some(Duration::from_millis(5500)));
        assert!(schedule.others_follow_main);
    }

    #[test]
    fn services_stop_after_the_main_process_last_started_first() {
        let (config, services) = grace(&services_tree(&[]));
        let schedule = Schedule::of(
            &config,
            services.as_ref(),
            Start::Signal {
                signal: SIGTERM,
                main_signal: SIGTERM,
            },
            &[2],
            // The main process's helper, left for the order after them.
            &Tree {
                grace: 1,
                main: Some(7),
                processes: vec![
                    order::Process { pid: 7, ppid: 1 },
                    order::Process { pid: 30, ppid: 7 },
                ],
                connections: Vec::new(),
            },
        );
        assert_eq!(schedule.main, Some(SIGTERM));
        let order: Vec<Vec<(usize, Signal, Option<Duration>)>> = schedule
            .services
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .map(|s| (s.index, s.signal, s.kill_after))
                    .collect()
            })
            .collect();
        let quit = Signal::new(3).unwrap();
        assert_eq!(
            order,
            [
                vec![(2, SIGINT, Some(S(5)))],
                vec![(1, SIGTERM, Some(S(2)))],
                vec![(0, quit, None)]
            ]
        );
        assert_eq!(schedule.services[0][0].group_signal, Some(SIGINT));
        assert_eq!(schedule.others, Some(SIGTERM));
        assert_eq!(schedule.deadline, S(9));
    }

    /// A service with a stop_command is predicted to run it, not to get a
    /// signal; a oneshot without one is passed over, and the order holds.
    #[test]
    fn a_stop_command_is_predicted_and_a_done_oneshot_passed_over() {
        use crate::services::model::{Command, Kind};
        let (config, services) = grace(&services_tree(&[]));
        let mut services = services.unwrap();
        services.services[2].stop_command = Some(Command {
            command: vec!["/bin/quit".into()],
            executable: "/bin/quit".into(),
        });
        services.services[1].kind = Kind::Oneshot;
        let start = Start::Signal {
            signal: SIGTERM,
            main_signal: SIGTERM,
        };
        let schedule = Schedule::of(&config, Some(&services), start, &[], &Tree::default());
        let order: Vec<Vec<(usize, bool)>> = schedule
            .services
            .iter()
            .map(|batch| batch.iter().map(|s| (s.index, s.command)).collect())
            .collect();
        assert_eq!(order, [vec![(2, true)], vec![(0, false)]]);
        assert_eq!(schedule.services[0][0].kill_after, Some(S(5)));
    }
}
