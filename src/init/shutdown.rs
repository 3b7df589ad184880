//! The stop as a state machine: every decision and every transition of a
//! stop, from what starts it to the deadline's kill.
//!
//! A stop runs through delay → pre-stop → signalling (main first or
//! everyone) → draining → over, against one deadline fixed when it starts.
//! Events go in (a stop signal, the main process's exit, the pre-stop
//! command's exit, the main process leaving others behind, time passing);
//! what must happen comes out through `StopEffects`, which the supervisor
//! carries out with real system calls and the tests below record. Nothing
//! here reads a clock or touches a process, so every path is tested in
//! microseconds; the namespace tests prove the real effects.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::Signal;
use crate::base::time::Instant;
use crate::cli::{Config, StopOrder};
use crate::init::order::{Due, Order, Process, Why};
use crate::process::reap::WaitStatus;
use crate::process::sockets::Connection;

/// Where a stop stands: the step it is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `--stop-delay`: everything keeps running until `until`.
    Delaying { until: Instant },
    /// `--pre-stop` is running as `pid`; it is killed at `until`.
    PreStop { pid: i32, until: Instant },
    /// `--stop-order main-first`: the main process has its signal; the
    /// others get theirs when it exits or at `until`.
    MainFirst { until: Instant },
    /// `--stop-order auto`: the main process has its signal; the others
    /// get theirs as the order (`init::order`) releases them, everyone
    /// left at `latest` (half the grace period).
    Ordered { latest: Instant },
    /// With services: the main process has its signal, and the services
    /// get theirs in reverse dependency order; everyone else gets the stop
    /// signal once the last service is gone.
    Services,
    /// Everyone has been signalled; waiting for the last process.
    Draining,
    /// The deadline came: everyone left was killed.
    Over,
}

/// What the stop asks of the world. Each is carried out at once; only
/// starting the pre-stop command reports back.
pub trait StopEffects {
    /// Something worth a log line happened.
    fn note(&mut self, note: StopNote);
    /// Starts the pre-stop command: its pid, or None if it could not start
    /// (the edge says why).
    fn start_pre_stop(&mut self) -> Option<i32>;
    /// SIGKILLs the pre-stop command, which overran its bound.
    fn abandon_pre_stop(&mut self, pid: i32);
    /// The main process gets `signal` (and SIGCONT if it is stopped).
    fn signal_main(&mut self, signal: Signal);
    /// The main process gets `main`, every other process `others` and
    /// SIGCONT, as one act.
    fn signal_everyone(&mut self, main: Signal, others: Signal);
    /// Every process but the main one: `others` and SIGCONT.
    fn signal_others(&mut self, others: Signal);
    /// Processes created since the signalling that nobody else will stop
    /// get `others`. `main_exited`: asked because the main process just
    /// exited, the moment its helpers appear.
    fn catch_up(&mut self, others: Signal, main_exited: bool);
    /// The deadline: SIGKILL everyone left, wait for them, name them.
    /// `main_signal` is what the main process was sent.
    fn kill_stragglers(&mut self, main_signal: Signal);
    /// The services stop in reverse dependency order, each within
    /// `deadline`; `Shutdown::on_services_down` says when the last is
    /// gone. Without services there is nothing to do.
    fn stop_services(&mut self, _deadline: Instant) {}
    /// Reads the process tree and the connections among processes, and
    /// hands them back through `Shutdown::on_order_read` (or
    /// `on_order_failed`). Only `--stop-order auto` asks.
    fn read_order(&mut self) {}
    /// Each of `due` gets the stop signal and SIGCONT, if it is still the
    /// process the order saw (pidfd, or the start-time check); those it
    /// no longer reaches are taken out of `due`, and reported as exited
    /// (`Shutdown::on_exits`).
    fn signal_processes(&mut self, _signal: Signal, _due: &mut Vec<Due>) {}
    /// The order waits to hear of the exits of `pids` (sorted), which
    /// may not be grace's children: from now on each is reported through
    /// `Shutdown::on_exits` when it exits, and nothing else is watched
    /// (none once the order is over).
    fn watch_exits(&mut self, _pids: &[i32]) {}
}

/// What the stop tells the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopNote {
    /// A stop signal from `sender` began the stop; the main process gets
    /// `main_signal`.
    Began {
        signal: Signal,
        sender: i32,
        main_signal: Signal,
        at: Instant,
    },
    /// The main process exited on its own, leaving others: they are
    /// stopped.
    MainLeftOthers { at: Instant },
    /// A stop signal during the stop: everyone still running is signalled
    /// again.
    Again { signal: Signal, sender: i32 },
    /// The pre-stop command ended (on its own or killed).
    PreStopEnded { pid: i32, status: WaitStatus },
    /// The pre-stop command overran its bound and was killed.
    PreStopAbandoned { pid: i32 },
    /// A service ended the container (its exit, its failure to become
    /// ready): everything is stopped.
    ServiceEnded { at: Instant },
    /// The order could not be read: the stop goes on as main-first.
    OrderUnread,
    /// The order signalled a process that had waited (`due.why` says for
    /// whom, or that half the grace period came).
    Waited { due: Due },
}

/// The stop under way.
#[derive(Debug, Clone)]
struct Ongoing {
    started: Instant,
    deadline: Instant,
    /// What the main process gets; None when it exited on its own.
    trigger: Option<Signal>,
    step: Step,
    /// The pre-stop command's pid while it runs (it may outlive its step
    /// when abandoned, until it is reaped).
    pre_stop: Option<i32>,
    /// Whether this stop runs the pre-stop command (only a signalled one).
    with_pre_stop: bool,
    /// `Step::Ordered`: the order once read, and the main process's pid,
    /// which already has its signal.
    order: Option<(Order, Option<i32>)>,
}

/// The stop's state machine, from grace's start to its exit.
#[derive(Debug, Clone)]
pub struct Shutdown {
    grace_period: Duration,
    stop_delay: Duration,
    order: StopOrder,
    stop_signal: Signal,
    has_pre_stop: bool,
    main_running: bool,
    /// Services run: the stop goes through them in order.
    ordered: bool,
    stop: Option<Ongoing>,
}

impl Shutdown {
    pub fn new(config: &Config) -> Self {
        Shutdown {
            grace_period: config.grace_period,
            stop_delay: config.stop_delay,
            order: config.stop_order,
            stop_signal: config.stop_signal,
            has_pre_stop: config.pre_stop.is_some(),
            main_running: true,
            ordered: false,
            stop: None,
        }
    }

    /// A stop that goes through the services in order first.
    pub fn with_services(mut self) -> Self {
        self.ordered = true;
        self
    }

    // The events.

    /// A stop signal: begins the stop, or hurries one already running
    /// (Ctrl-C twice must land).
    pub fn on_stop_signal(
        &mut self,
        now: Instant,
        signal: Signal,
        main_signal: Signal,
        sender: i32,
        fx: &mut dyn StopEffects,
    ) {
        match &mut self.stop {
            None => {
                fx.note(StopNote::Began {
                    signal,
                    sender,
                    main_signal,
                    at: now,
                });
                self.begin(Some(main_signal), now);
                self.advance(now, fx);
            }
            Some(stop) if stop.step == Step::Over => {}
            Some(stop) => {
                stop.trigger = Some(main_signal);
                stop.step = Step::Draining;
                if stop.order.take().is_some() {
                    fx.watch_exits(&[]);
                }
                fx.note(StopNote::Again { signal, sender });
                fx.signal_everyone(main_signal, self.stop_signal);
            }
        }
    }

    /// The main process was reaped.
    pub fn on_main_exit(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        self.main_running = false;
        if self.catches_up() {
            fx.catch_up(self.stop_signal, true);
        }
        self.advance(now, fx);
    }

    /// The main process is gone and others remain: they are stopped, with
    /// no delay and no pre-stop command, since nothing is left to serve.
    pub fn on_others_left(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        if self.stop.is_some() || self.main_running {
            return;
        }
        fx.note(StopNote::MainLeftOthers { at: now });
        self.begin(None, now);
        self.advance(now, fx);
    }

    /// A service ended the container: everything stops, as when the main
    /// process exits, with no delay and no pre-stop command.
    pub fn on_service_ended(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        if self.stop.is_some() {
            return;
        }
        fx.note(StopNote::ServiceEnded { at: now });
        self.begin(None, now);
        self.advance(now, fx);
    }

    /// The last service is gone: whoever is left gets the stop signal, in
    /// the order of `--stop-order auto` (everyone by half of what is left
    /// of the grace period), or at once.
    pub fn on_services_down(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        if let Some(stop) = &mut self.stop
            && stop.step == Step::Services
        {
            if self.order == StopOrder::Auto {
                let latest = now + stop.deadline.saturating_duration_since(now) / 2;
                stop.step = Step::Ordered { latest };
                fx.read_order();
            } else {
                stop.step = Step::Draining;
                fx.signal_others(self.stop_signal);
            }
        }
    }

    /// The order was read (`StopEffects::read_order`): `processes` with
    /// `connections` among them, `grace` and `main` the pids of grace and
    /// of the main process (None once it exited). Those due now are
    /// signalled at once.
    pub fn on_order_read(
        &mut self,
        now: Instant,
        grace: i32,
        main: Option<i32>,
        processes: &[Process],
        connections: Vec<Connection>,
        fx: &mut dyn StopEffects,
    ) {
        let Some(stop) = &mut self.stop else {
            return;
        };
        let Step::Ordered { latest } = stop.step else {
            return;
        };
        let order = Order::new(grace, main, processes, connections, now, latest);
        stop.order = Some((order, main));
        self.release(now, fx);
    }

    /// The order could not be read (no /proc, netlink refused, too many
    /// processes): the stop goes on as main-first.
    pub fn on_order_failed(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        let Some(stop) = &mut self.stop else {
            return;
        };
        let Step::Ordered { latest } = stop.step else {
            return;
        };
        fx.note(StopNote::OrderUnread);
        stop.step = Step::MainFirst { until: latest };
        self.advance(now, fx);
        if self.step() == Some(Step::Draining) {
            fx.catch_up(self.stop_signal, false);
        }
    }

    /// Processes exited (one batch of a wake-up: reaped, or seen to exit
    /// through `StopEffects::watch_exits`): the order releases what
    /// waited for them.
    pub fn on_exits(&mut self, now: Instant, pids: &[i32], fx: &mut dyn StopEffects) {
        let Some(stop) = &mut self.stop else {
            return;
        };
        let Some((order, _)) = &mut stop.order else {
            return;
        };
        order.on_exits(now, pids);
        self.release(now, fx);
    }

    /// Signals what the order has due at `now`; once everyone has the
    /// signal the stop drains, catching up with what was created since.
    fn release(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        if self.drive_order(now, fx) {
            fx.catch_up(self.stop_signal, false);
        } else if let Some(Ongoing {
            order: Some((order, _)),
            ..
        }) = &self.stop
        {
            fx.watch_exits(&order.watched());
        }
    }

    /// `Step::Ordered` at `now`: whether it just ended (to `Draining`).
    fn drive_order(&mut self, now: Instant, fx: &mut dyn StopEffects) -> bool {
        let Some(stop) = &mut self.stop else {
            return false;
        };
        let Step::Ordered { latest } = stop.step else {
            return false;
        };
        let Some((order, main)) = &mut stop.order else {
            // Not read yet (it is, in the wake-up that asked): at half
            // time, as main-first.
            if now >= latest {
                stop.step = Step::Draining;
                fx.signal_others(self.stop_signal);
                return true;
            }
            return false;
        };
        let main = *main;
        let mut due: Vec<Due> = order
            .take_due(now)
            .into_iter()
            .filter(|due| Some(due.pid) != main)
            .collect();
        if !due.is_empty() {
            fx.signal_processes(self.stop_signal, &mut due);
            for &due in due.iter().filter(|due| due.why != Why::AtOnce) {
                fx.note(StopNote::Waited { due });
            }
        }
        if order.next_due().is_none() {
            stop.step = Step::Draining;
            stop.order = None;
            fx.watch_exits(&[]);
            return true;
        }
        false
    }

    /// A process was reaped: whether it was the pre-stop command (then the
    /// stop goes on to signalling).
    pub fn on_exit(
        &mut self,
        now: Instant,
        pid: i32,
        status: WaitStatus,
        fx: &mut dyn StopEffects,
    ) -> bool {
        let Some(stop) = &mut self.stop else {
            return false;
        };
        if stop.pre_stop != Some(pid) {
            return false;
        }
        stop.pre_stop = None;
        fx.note(StopNote::PreStopEnded { pid, status });
        if matches!(stop.step, Step::PreStop { .. }) {
            self.signal(now, fx);
        }
        true
    }

    /// Time passed (a timer, or any wake-up during a stop): carries out
    /// every step that is due, the deadline's kill included, and looks for
    /// processes created since the signalling.
    pub fn on_time(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        let Some(stop) = &mut self.stop else {
            return;
        };
        if stop.step == Step::Over {
            return;
        }
        if now >= stop.deadline {
            stop.step = Step::Over;
            fx.kill_stragglers(stop.trigger.unwrap_or(self.stop_signal));
            return;
        }
        self.advance(now, fx);
        if self.catches_up() {
            fx.catch_up(self.stop_signal, false);
        }
    }

    /// Whether processes created since the signalling are looked for:
    /// once everyone has been signalled, and during an ordered stop,
    /// whose order lists only those present when it was read (a newcomer
    /// whose parent runs is that parent's, as ever).
    fn catches_up(&self) -> bool {
        matches!(self.step(), Some(Step::Draining | Step::Ordered { .. }))
    }

    // The questions the supervisor asks.

    pub fn is_stopping(&self) -> bool {
        self.stop.is_some()
    }

    pub fn is_over(&self) -> bool {
        self.step() == Some(Step::Over)
    }

    pub fn step(&self) -> Option<Step> {
        self.stop.as_ref().map(|stop| stop.step)
    }

    /// The order of `Step::Ordered`, once read: what `grace inspect` asks
    /// who waits for whom.
    pub fn order(&self) -> Option<&Order> {
        self.stop.as_ref()?.order.as_ref().map(|(order, _)| order)
    }

    /// Whether a process reaped now was reached by the stop's signal (not
    /// an exit during the delay, nor the pre-stop command).
    pub fn counts_exit(&self, pid: i32) -> bool {
        self.stop.as_ref().is_some_and(|stop| {
            matches!(
                stop.step,
                Step::MainFirst { .. } | Step::Ordered { .. } | Step::Services | Step::Draining
            ) && stop.pre_stop != Some(pid)
        })
    }

    /// When grace must wake up even if nothing happens; None: never.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let stop = self.stop.as_ref()?;
        let step_end = match stop.step {
            Step::Delaying { until } | Step::PreStop { until, .. } => until,
            Step::MainFirst { until } => until,
            Step::Ordered { latest } => match &stop.order {
                Some((order, _)) => order.next_due().unwrap_or(stop.deadline),
                None => latest,
            },
            Step::Services | Step::Draining => stop.deadline,
            Step::Over => return None,
        };
        Some(step_end.min(stop.deadline))
    }

    // The transitions.

    /// When the main process exited by itself there is nothing left to
    /// keep serving, so the delay and the pre-stop command are skipped.
    fn begin(&mut self, trigger: Option<Signal>, now: Instant) {
        // Saturating: an absurd period is a deadline that never comes.
        let deadline = now + self.grace_period;
        let signalled = trigger.is_some();
        let delay = if signalled {
            self.stop_delay
        } else {
            Duration::ZERO
        };
        self.stop = Some(Ongoing {
            started: now,
            deadline,
            trigger,
            step: Step::Delaying {
                until: (now + delay).min(deadline),
            },
            pre_stop: None,
            with_pre_stop: signalled && self.has_pre_stop,
            order: None,
        });
    }

    /// Every step due at `now`.
    fn advance(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        let main_running = self.main_running;
        let Some(stop) = &mut self.stop else {
            return;
        };
        match stop.step {
            Step::Delaying { until } if now >= until || !main_running => {
                if stop.with_pre_stop && main_running {
                    self.start_pre_stop(now, fx);
                } else {
                    self.signal(now, fx);
                }
            }
            Step::PreStop { pid, until } if now >= until => {
                fx.note(StopNote::PreStopAbandoned { pid });
                fx.abandon_pre_stop(pid);
                self.signal(now, fx);
            }
            Step::MainFirst { until } if now >= until || !main_running => {
                stop.step = Step::Draining;
                fx.signal_others(self.stop_signal);
            }
            Step::Ordered { .. } => {
                self.drive_order(now, fx);
            }
            _ => {}
        }
    }

    /// The pre-stop command may use at most half of what is left, so the
    /// processes keep the other half for their own cleanup.
    fn start_pre_stop(&mut self, now: Instant, fx: &mut dyn StopEffects) {
        let Some(stop) = &mut self.stop else {
            return;
        };
        match fx.start_pre_stop() {
            Some(pid) => {
                let until = now + stop.deadline.saturating_duration_since(now) / 2;
                stop.pre_stop = Some(pid);
                stop.step = Step::PreStop { pid, until };
            }
            None => self.signal(now, fx),
        }
    }

    /// The signalling step: the main process first, or everyone at once.
    fn signal(&mut self, _now: Instant, fx: &mut dyn StopEffects) {
        let main_running = self.main_running;
        let Some(stop) = &mut self.stop else {
            return;
        };
        let main_signal = stop.trigger.unwrap_or(self.stop_signal);
        if self.ordered {
            stop.step = Step::Services;
            if main_running {
                fx.signal_main(main_signal);
            }
            fx.stop_services(stop.deadline);
        } else if self.order == StopOrder::MainFirst && main_running {
            // The others wait at most until half the grace period.
            let until = (stop.started + self.grace_period / 2).min(stop.deadline);
            stop.step = Step::MainFirst { until };
            fx.signal_main(main_signal);
        } else if self.order == StopOrder::Auto {
            // The main process first, so its signal is never delayed by
            // the reading; the others as the order says (with the main
            // process gone, each still after its own parent).
            let latest = (stop.started + self.grace_period / 2).min(stop.deadline);
            stop.step = Step::Ordered { latest };
            if main_running {
                fx.signal_main(main_signal);
            }
            fx.read_order();
        } else if main_running && stop.trigger.is_some() {
            stop.step = Step::Draining;
            fx.signal_everyone(main_signal, self.stop_signal);
        } else {
            stop.step = Step::Draining;
            fx.signal_others(self.stop_signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGINT, SIGTERM};
    use crate::init::order::{After, Reason};

    fn config(args: &[&str]) -> Config {
        let mut words: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        words.push(b"cmd".to_vec());
        match crate::cli::parse(words) {
            Ok(crate::cli::Invocation::Init(config)) => *config,
            other => panic!("{other:?}"),
        }
    }

    const MS: Duration = Duration::from_millis(1);
    const PRE_STOP_PID: i32 = 50;

    /// What the stop asked for, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Done {
        StopNote(StopNote),
        StartPreStop,
        AbandonPreStop(i32),
        SignalMain(Signal),
        SignalEveryone(Signal, Signal),
        SignalOthers(Signal),
        CatchUp(bool),
        Kill(Signal),
        StopServices(Instant),
        ReadOrder,
        SignalProcesses(Signal, Vec<Due>),
    }

    #[derive(Default)]
    struct Recording {
        done: Vec<Done>,
        /// Whether the pre-stop command starts.
        pre_stop_fails: bool,
        /// What the order last asked to watch.
        watching: Option<Vec<i32>>,
        /// Processes the signal no longer reaches.
        gone: Vec<i32>,
    }

    impl StopEffects for Recording {
        fn note(&mut self, note: StopNote) {
            self.done.push(Done::StopNote(note));
        }
        fn start_pre_stop(&mut self) -> Option<i32> {
            self.done.push(Done::StartPreStop);
            (!self.pre_stop_fails).then_some(PRE_STOP_PID)
        }
        fn abandon_pre_stop(&mut self, pid: i32) {
            self.done.push(Done::AbandonPreStop(pid));
        }
        fn signal_main(&mut self, signal: Signal) {
            self.done.push(Done::SignalMain(signal));
        }
        fn signal_everyone(&mut self, main: Signal, others: Signal) {
            self.done.push(Done::SignalEveryone(main, others));
        }
        fn signal_others(&mut self, others: Signal) {
            self.done.push(Done::SignalOthers(others));
        }
        fn catch_up(&mut self, _others: Signal, main_exited: bool) {
            self.done.push(Done::CatchUp(main_exited));
        }
        fn kill_stragglers(&mut self, main_signal: Signal) {
            self.done.push(Done::Kill(main_signal));
        }
        fn stop_services(&mut self, deadline: Instant) {
            self.done.push(Done::StopServices(deadline));
        }
        fn read_order(&mut self) {
            self.done.push(Done::ReadOrder);
        }
        fn signal_processes(&mut self, signal: Signal, due: &mut Vec<Due>) {
            self.done.push(Done::SignalProcesses(signal, due.clone()));
            due.retain(|due| !self.gone.contains(&due.pid));
        }
        fn watch_exits(&mut self, pids: &[i32]) {
            self.watching = Some(pids.to_vec());
        }
    }

    impl Recording {
        /// What was done since the last look, notes left out.
        fn acts(&mut self) -> Vec<Done> {
            core::mem::take(&mut self.done)
                .into_iter()
                .filter(|d| !matches!(d, Done::StopNote(_)))
                .collect()
        }
        fn notes(&self) -> Vec<StopNote> {
            self.done
                .iter()
                .filter_map(|d| match d {
                    Done::StopNote(note) => Some(*note),
                    _ => None,
                })
                .collect()
        }
    }

    fn started(args: &[&str], t0: Instant, fx: &mut Recording) -> Shutdown {
        let mut s = Shutdown::new(&config(args));
        s.on_stop_signal(t0, SIGTERM, SIGTERM, 0, fx);
        s
    }

    #[test]
    fn with_services_the_main_process_then_the_services_then_everyone_else() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = Shutdown::new(&config(&[])).with_services();
        s.on_stop_signal(t0, SIGTERM, SIGTERM, 0, &mut fx);
        let deadline = t0 + Duration::from_secs(9);
        assert_eq!(
            fx.acts(),
            [Done::SignalMain(SIGTERM), Done::StopServices(deadline)]
        );
        assert_eq!(s.step(), Some(Step::Services));
        assert_eq!(s.next_wakeup(), Some(deadline));
        s.on_main_exit(t0 + MS, &mut fx);
        s.on_time(t0 + 2 * MS, &mut fx);
        assert_eq!(fx.acts(), [], "no sweep while services stop");
        // The rest in the order, everyone by half of what is left.
        let down = t0 + 1000 * MS;
        s.on_services_down(down, &mut fx);
        assert_eq!(fx.acts(), [Done::ReadOrder]);
        let latest = down + 4000 * MS;
        assert_eq!(s.step(), Some(Step::Ordered { latest }));
        let orphan = [Process {
            pid: CHILD,
            ppid: GRACE,
        }];
        s.on_order_read(down, GRACE, None, &orphan, Vec::new(), &mut fx);
        let at_once = Due {
            pid: CHILD,
            why: Why::AtOnce,
        };
        assert_eq!(
            fx.acts(),
            [
                Done::SignalProcesses(SIGTERM, vec![at_once]),
                Done::CatchUp(false)
            ]
        );
        assert_eq!(s.step(), Some(Step::Draining));
        s.on_time(deadline, &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(SIGTERM)]);
        // With `--stop-order all`, everyone left at once.
        let mut s = Shutdown::new(&config(&["--stop-order", "all"])).with_services();
        s.on_stop_signal(t0, SIGTERM, SIGTERM, 0, &mut fx);
        fx.acts();
        s.on_services_down(down, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalOthers(SIGTERM)]);
        assert_eq!(s.step(), Some(Step::Draining));
    }

    #[test]
    fn a_service_ending_the_container_stops_it_at_once_and_a_second_signal_hurries() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s =
            Shutdown::new(&config(&["--stop-delay", "5s", "--pre-stop", "x"])).with_services();
        s.on_service_ended(t0, &mut fx);
        assert_eq!(fx.notes(), [StopNote::ServiceEnded { at: t0 }]);
        assert_eq!(
            fx.acts(),
            [
                Done::SignalMain(SIGTERM),
                Done::StopServices(t0 + Duration::from_secs(9))
            ],
            "no delay, no pre-stop command: nothing is left to serve"
        );
        s.on_service_ended(t0 + MS, &mut fx);
        assert_eq!(fx.acts(), [], "one stop");
        s.on_stop_signal(t0 + 2 * MS, SIGINT, SIGINT, 0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGINT, SIGTERM)]);
        s.on_services_down(t0 + 3 * MS, &mut fx);
        assert_eq!(fx.acts(), [], "already draining");
    }

    #[test]
    fn nothing_happens_before_a_stop() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = Shutdown::new(&config(&[]));
        s.on_time(t0 + Duration::from_secs(3600), &mut fx);
        assert!(!s.is_stopping());
        assert_eq!(s.next_wakeup(), None);
        assert_eq!(fx.acts(), []);
    }

    #[test]
    fn all_signals_everyone_at_once_and_kills_at_the_deadline() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--stop-order", "all"], t0, &mut fx);
        assert_eq!(
            fx.notes(),
            [StopNote::Began {
                signal: SIGTERM,
                sender: 0,
                main_signal: SIGTERM,
                at: t0
            }]
        );
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGTERM, SIGTERM)]);
        assert_eq!(s.step(), Some(Step::Draining));
        assert_eq!(s.next_wakeup(), Some(t0 + Duration::from_secs(9)));
        // Every wake-up while draining looks for newcomers.
        s.on_time(t0 + 10 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(false)]);
        s.on_main_exit(t0 + 20 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(true)]);
        s.on_time(t0 + Duration::from_secs(9) - MS, &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(false)]);
        s.on_time(t0 + Duration::from_secs(9), &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(SIGTERM)]);
        assert!(s.is_over());
        assert_eq!(s.next_wakeup(), None);
        // Nothing after the end.
        s.on_time(t0 + Duration::from_secs(10), &mut fx);
        s.on_stop_signal(t0 + Duration::from_secs(10), SIGINT, SIGINT, 0, &mut fx);
        assert_eq!(fx.acts(), []);
    }

    #[test]
    fn a_rewritten_signal_is_what_the_main_process_gets() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = Shutdown::new(&config(&["--stop-order", "all", "--stop-signal", "INT"]));
        let quit = Signal::new(3).unwrap();
        s.on_stop_signal(t0, SIGTERM, quit, 7, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(quit, SIGINT)]);
        s.on_time(t0 + Duration::from_secs(9), &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(quit)]);
    }

    #[test]
    fn stop_delay_keeps_everything_running_until_it_ends() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--stop-order", "all", "--stop-delay", "2s"], t0, &mut fx);
        assert_eq!(fx.acts(), []);
        assert_eq!(s.next_wakeup(), Some(t0 + 2000 * MS));
        s.on_time(t0 + 1999 * MS, &mut fx);
        assert_eq!(fx.acts(), []);
        s.on_time(t0 + 2000 * MS, &mut fx);
        assert_eq!(
            fx.acts(),
            [Done::SignalEveryone(SIGTERM, SIGTERM), Done::CatchUp(false)]
        );
    }

    #[test]
    fn the_main_process_exiting_ends_the_delay() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--stop-order", "all", "--stop-delay", "2s"], t0, &mut fx);
        s.on_main_exit(t0 + MS, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalOthers(SIGTERM)]);
    }

    #[test]
    fn stop_delay_never_outlasts_the_grace_period() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let s = started(&["--stop-delay", "1m", "--grace-period", "3s"], t0, &mut fx);
        assert_eq!(s.next_wakeup(), Some(t0 + Duration::from_secs(3)));
    }

    #[test]
    fn pre_stop_comes_after_the_delay_gets_half_of_what_is_left_then_signalling() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let args = [
            "--stop-order",
            "all",
            "--stop-delay",
            "1s",
            "--pre-stop",
            "true",
            "--grace-period",
            "9s",
        ];
        let mut s = started(&args, t0, &mut fx);
        s.on_time(t0 + 1000 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::StartPreStop]);
        assert_eq!(
            s.step(),
            Some(Step::PreStop {
                pid: PRE_STOP_PID,
                until: t0 + 5000 * MS
            })
        );
        // Its exit is not the stop's to count.
        assert!(!s.counts_exit(PRE_STOP_PID));
        assert!(s.on_exit(t0 + 2000 * MS, PRE_STOP_PID, WaitStatus::Exited(0), &mut fx));
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGTERM, SIGTERM)]);
        // Another exit is not the pre-stop's.
        assert!(!s.on_exit(t0 + 2001 * MS, 51, WaitStatus::Exited(0), &mut fx));
        assert!(s.counts_exit(51));
    }

    #[test]
    fn a_pre_stop_command_that_overruns_is_abandoned() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(
            &[
                "--stop-order",
                "all",
                "--pre-stop",
                "sleep 99",
                "--grace-period",
                "8s",
            ],
            t0,
            &mut fx,
        );
        assert_eq!(fx.acts(), [Done::StartPreStop]);
        s.on_time(t0 + 3999 * MS, &mut fx);
        assert_eq!(fx.acts(), []);
        s.on_time(t0 + 4000 * MS, &mut fx);
        assert_eq!(
            fx.acts(),
            [
                Done::AbandonPreStop(PRE_STOP_PID),
                Done::SignalEveryone(SIGTERM, SIGTERM),
                Done::CatchUp(false)
            ]
        );
        // Reaped later, it is still known as the pre-stop command.
        assert!(!s.counts_exit(PRE_STOP_PID));
        assert!(s.on_exit(
            t0 + 4001 * MS,
            PRE_STOP_PID,
            WaitStatus::Signaled(9),
            &mut fx
        ));
        assert_eq!(fx.acts(), []);
        assert!(s.counts_exit(PRE_STOP_PID));
    }

    #[test]
    fn a_pre_stop_command_that_cannot_start_goes_straight_to_signalling() {
        let t0 = Instant::now();
        let mut fx = Recording {
            pre_stop_fails: true,
            ..Recording::default()
        };
        let s = started(&["--stop-order", "all", "--pre-stop", "true"], t0, &mut fx);
        assert_eq!(
            fx.acts(),
            [Done::StartPreStop, Done::SignalEveryone(SIGTERM, SIGTERM)]
        );
        assert_eq!(s.step(), Some(Step::Draining));
    }

    #[test]
    fn main_first_signals_the_others_on_main_exit() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let args = ["--stop-order", "main-first", "--grace-period", "10s"];
        let mut s = started(&args, t0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalMain(SIGTERM)]);
        assert_eq!(s.next_wakeup(), Some(t0 + 5000 * MS));
        // No newcomers are sought before the others have been signalled.
        s.on_time(t0 + 4999 * MS, &mut fx);
        assert_eq!(fx.acts(), []);
        s.on_main_exit(t0 + 1000 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalOthers(SIGTERM)]);
    }

    #[test]
    fn main_first_signals_the_others_at_half_time_at_the_latest() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let args = ["--stop-order", "main-first", "--grace-period", "10s"];
        let mut s = started(&args, t0, &mut fx);
        fx.acts();
        s.on_time(t0 + 5000 * MS, &mut fx);
        assert_eq!(
            fx.acts(),
            [Done::SignalOthers(SIGTERM), Done::CatchUp(false)]
        );
    }

    fn auto(t0: Instant, fx: &mut Recording) -> Shutdown {
        let config = config(&["--stop-order", "auto", "--grace-period", "10s"]);
        let mut s = Shutdown::new(&config);
        s.on_stop_signal(t0, SIGTERM, SIGTERM, 0, fx);
        s
    }

    const GRACE: i32 = 1;
    const MAIN: i32 = 10;
    const CHILD: i32 = 11;

    /// An ordered stop begun at `t0` whose order, read at once, is
    /// `shell_and_child`; what it did so far taken.
    fn auto_shell_and_child(t0: Instant, fx: &mut Recording) -> Shutdown {
        let mut s = auto(t0, fx);
        s.on_order_read(t0, GRACE, Some(MAIN), &shell_and_child(), Vec::new(), fx);
        fx.acts();
        s
    }

    /// The shape 3: a shell (the main process) and its child.
    fn shell_and_child() -> [Process; 2] {
        [
            Process {
                pid: MAIN,
                ppid: GRACE,
            },
            Process {
                pid: CHILD,
                ppid: MAIN,
            },
        ]
    }

    #[test]
    fn auto_signals_the_main_process_first_and_then_reads_the_order() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let s = auto(t0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalMain(SIGTERM), Done::ReadOrder]);
        let latest = t0 + 5000 * MS;
        assert_eq!(s.step(), Some(Step::Ordered { latest }));
        assert_eq!(s.next_wakeup(), Some(latest));
        assert!(s.counts_exit(MAIN));
    }

    #[test]
    fn auto_signals_a_child_once_its_parent_exited() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        fx.acts();
        s.on_order_read(
            t0 + MS,
            GRACE,
            Some(MAIN),
            &shell_and_child(),
            Vec::new(),
            &mut fx,
        );
        assert_eq!(
            fx.acts(),
            [],
            "the child waits; the main process has its signal"
        );
        assert_eq!(s.next_wakeup(), Some(t0 + 5000 * MS));
        // Newcomers are looked for while the order runs.
        s.on_time(t0 + 4999 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(false)]);
        s.on_main_exit(t0 + 2000 * MS, &mut fx);
        s.on_exits(t0 + 2000 * MS, &[MAIN], &mut fx);
        let done = fx.done.clone();
        assert_eq!(
            fx.acts(),
            [
                Done::CatchUp(true),
                Done::SignalProcesses(
                    SIGTERM,
                    vec![Due {
                        pid: CHILD,
                        why: released_by(&done, CHILD)
                    }]
                ),
                Done::CatchUp(false)
            ]
        );
        assert!(
            matches!(released_by(&done, CHILD), Why::Released(after) if after.pid == MAIN),
            "{done:?}"
        );
        assert_eq!(s.step(), Some(Step::Draining));
        assert_eq!(s.next_wakeup(), Some(t0 + 10000 * MS));
        s.on_time(t0 + 10000 * MS, &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(SIGTERM)]);
    }

    /// What the notes say released `pid`.
    fn released_by(done: &[Done], pid: i32) -> Why {
        done.iter()
            .find_map(|d| match d {
                Done::StopNote(StopNote::Waited { due }) if due.pid == pid => Some(due.why),
                _ => None,
            })
            .expect("a note for each process that waited")
    }

    #[test]
    fn auto_signals_whoever_still_waits_at_half_the_grace_period() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto_shell_and_child(t0, &mut fx);
        s.on_time(t0 + 5000 * MS, &mut fx);
        let late = Due {
            pid: CHILD,
            why: Why::Late(After {
                pid: MAIN,
                reason: Reason::Parent,
            }),
        };
        assert!(fx.notes().contains(&StopNote::Waited { due: late }));
        assert_eq!(
            fx.acts(),
            [
                Done::SignalProcesses(SIGTERM, vec![late]),
                Done::CatchUp(false)
            ]
        );
        assert_eq!(s.step(), Some(Step::Draining));
    }

    #[test]
    fn auto_signals_a_process_that_waits_for_nothing_at_once() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        fx.acts();
        // The main process exited before the order was read: its child is
        // grace's, and nobody is left to wait for.
        let orphan = [Process {
            pid: CHILD,
            ppid: GRACE,
        }];
        s.on_order_read(t0 + MS, GRACE, None, &orphan, Vec::new(), &mut fx);
        assert_eq!(
            fx.acts(),
            [
                Done::SignalProcesses(
                    SIGTERM,
                    vec![Due {
                        pid: CHILD,
                        why: Why::AtOnce
                    }]
                ),
                Done::CatchUp(false)
            ]
        );
        assert!(
            !fx.notes()
                .iter()
                .any(|n| matches!(n, StopNote::Waited { .. }))
        );
    }

    /// The main process; a unit (20) whose child (21) is a client of a
    /// server unit (30): the server waits for the client's unit.
    fn client_in_a_unit_and_its_server(s: &mut Shutdown, t0: Instant, fx: &mut Recording) -> Due {
        let tree = [
            Process {
                pid: MAIN,
                ppid: GRACE,
            },
            Process {
                pid: 20,
                ppid: GRACE,
            },
            Process { pid: 21, ppid: 20 },
            Process {
                pid: 30,
                ppid: GRACE,
            },
        ];
        let link = Connection {
            client: 21,
            server: 30,
        };
        s.on_order_read(t0, GRACE, Some(MAIN), &tree, vec![link], fx);
        s.on_main_exit(t0 + MS, fx);
        s.on_exits(t0 + MS, &[MAIN], fx);
        // The client exits, reaped by its parent (which still runs): grace
        // hears of it only through what it watches.
        s.on_exits(t0 + 2 * MS, &[21], fx);
        Due {
            pid: 30,
            why: Why::Released(After {
                pid: 21,
                reason: Reason::Connected,
            }),
        }
    }

    #[test]
    fn auto_watches_the_exits_it_waits_for_until_it_is_over() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        let server = client_in_a_unit_and_its_server(&mut s, t0, &mut fx);
        assert!(fx.notes().contains(&StopNote::Waited { due: server }));
        assert_eq!(fx.watching, Some(Vec::new()), "nothing once over");
        assert_eq!(s.step(), Some(Step::Draining));
        // What it watched while it ran: what is waited for, and the ends
        // of the connection.
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        let tree = [
            Process {
                pid: 20,
                ppid: MAIN,
            },
            Process { pid: 21, ppid: 20 },
        ];
        s.on_order_read(t0, GRACE, None, &tree, Vec::new(), &mut fx);
        assert_eq!(fx.watching, Some(vec![20]));
    }

    #[test]
    fn auto_neither_signals_nor_names_a_process_already_gone() {
        let t0 = Instant::now();
        let mut fx = Recording {
            gone: vec![30],
            ..Recording::default()
        };
        let mut s = auto(t0, &mut fx);
        let server = client_in_a_unit_and_its_server(&mut s, t0, &mut fx);
        assert!(!fx.notes().contains(&StopNote::Waited { due: server }));
        assert_eq!(s.step(), Some(Step::Draining));
    }

    #[test]
    fn auto_without_the_order_stops_as_main_first() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        fx.acts();
        s.on_order_failed(t0 + MS, &mut fx);
        assert_eq!(fx.notes().last(), Some(&StopNote::OrderUnread));
        assert_eq!(
            s.step(),
            Some(Step::MainFirst {
                until: t0 + 5000 * MS
            })
        );
        assert_eq!(fx.acts(), []);
        s.on_time(t0 + 5000 * MS, &mut fx);
        assert_eq!(
            fx.acts(),
            [Done::SignalOthers(SIGTERM), Done::CatchUp(false)]
        );
        // Unread yet when the main process exits (the read comes in the
        // same wake-up): the order still decides.
        let mut fx = Recording::default();
        let mut s = auto(t0, &mut fx);
        fx.acts();
        s.on_main_exit(t0 + MS, &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(true)]);
        let tree = [
            Process {
                pid: CHILD,
                ppid: GRACE,
            },
            Process {
                pid: CHILD + 1,
                ppid: CHILD,
            },
        ];
        s.on_order_read(t0 + 2 * MS, GRACE, None, &tree, Vec::new(), &mut fx);
        let at_once = Due {
            pid: CHILD,
            why: Why::AtOnce,
        };
        assert_eq!(
            fx.acts(),
            [Done::SignalProcesses(SIGTERM, vec![at_once])],
            "the orphan now; its child once it exited"
        );
    }

    #[test]
    fn the_default_is_the_ordered_stop_even_once_the_main_process_is_gone() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let s = started(&[], t0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalMain(SIGTERM), Done::ReadOrder]);
        assert!(matches!(s.step(), Some(Step::Ordered { .. })));
        // The main process left others: they are stopped in the order too.
        let mut s = Shutdown::new(&config(&[]));
        s.on_main_exit(t0, &mut fx);
        s.on_others_left(t0, &mut fx);
        assert_eq!(fx.acts(), [Done::ReadOrder]);
        assert_eq!(
            s.step(),
            Some(Step::Ordered {
                latest: t0 + 4500 * MS
            })
        );
    }

    #[test]
    fn a_second_signal_during_an_ordered_stop_signals_everyone() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = auto_shell_and_child(t0, &mut fx);
        s.on_stop_signal(t0 + MS, SIGINT, SIGINT, 0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGINT, SIGTERM)]);
        s.on_exits(t0 + 2 * MS, &[MAIN], &mut fx);
        assert_eq!(fx.acts(), [], "the order is over");
    }

    #[test]
    fn main_exiting_on_its_own_stops_the_others_without_delay_or_pre_stop() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = Shutdown::new(&config(&[
            "--stop-order",
            "all",
            "--stop-delay",
            "5s",
            "--pre-stop",
            "true",
        ]));
        // While the main process runs, others left behind mean nothing.
        s.on_others_left(t0, &mut fx);
        assert!(!s.is_stopping());
        s.on_main_exit(t0, &mut fx);
        assert!(!s.is_stopping());
        s.on_others_left(t0, &mut fx);
        assert_eq!(fx.notes(), [StopNote::MainLeftOthers { at: t0 }]);
        assert_eq!(fx.acts(), [Done::SignalOthers(SIGTERM)]);
        assert_eq!(s.next_wakeup(), Some(t0 + Duration::from_secs(9)));
        s.on_time(t0 + Duration::from_secs(9), &mut fx);
        // No signal started it: the main process's share is the stop signal.
        assert_eq!(fx.acts(), [Done::Kill(SIGTERM)]);
    }

    #[test]
    fn a_second_stop_signal_skips_the_delay_and_signals_everyone_again() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--stop-delay", "5s"], t0, &mut fx);
        s.on_stop_signal(t0 + MS, SIGINT, SIGINT, 3, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGINT, SIGTERM)]);
        assert_eq!(s.step(), Some(Step::Draining));
        assert!(fx.notes().is_empty());
        // The deadline stays the first stop's.
        s.on_time(t0 + Duration::from_secs(9), &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(SIGINT)]);
    }

    #[test]
    fn a_second_stop_signal_during_the_pre_stop_command_goes_on_at_once() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--pre-stop", "sleep 99"], t0, &mut fx);
        fx.acts();
        s.on_stop_signal(t0 + MS, SIGTERM, SIGTERM, 0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGTERM, SIGTERM)]);
        // Its bound no longer matters, and its exit changes nothing.
        s.on_time(t0 + Duration::from_secs(5), &mut fx);
        assert_eq!(fx.acts(), [Done::CatchUp(false)]);
        assert!(s.on_exit(
            t0 + Duration::from_secs(5),
            PRE_STOP_PID,
            WaitStatus::Exited(0),
            &mut fx
        ));
        assert_eq!(fx.acts(), []);
    }

    #[test]
    fn a_zero_grace_period_kills_at_the_first_look() {
        let t0 = Instant::now();
        let mut fx = Recording::default();
        let mut s = started(&["--stop-order", "all", "--grace-period", "0"], t0, &mut fx);
        assert_eq!(fx.acts(), [Done::SignalEveryone(SIGTERM, SIGTERM)]);
        assert_eq!(s.next_wakeup(), Some(t0));
        s.on_time(t0, &mut fx);
        assert_eq!(fx.acts(), [Done::Kill(SIGTERM)]);
    }
}
