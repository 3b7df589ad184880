//! The event loop: one thread, every signal blocked and read from a signalfd,
//! and nothing else. While nothing happens grace sleeps in a single blocking
//! read, so an idle container costs no wake-ups at all; during a stop the
//! only timeout is the next step of the stop, and the only other things
//! waited on are the pidfd of each process entered from outside, during an
//! ordered stop the pidfd of each process whose exit the order waits for
//! and that grace does not reap, the services' descriptors, and room on
//! stderr while grace's own lines wait for it (`log::watch`).
//!
//! The loop turns what the kernel reports into events: `policy` says what a
//! signal means, `shutdown` decides what a stop does next, and `edge`
//! carries it out on the processes.
//!
//! This is the one wait while grace runs. Two bounded waits come after it,
//! each once the loop's events no longer matter, each said in its module:
//! the deadline's, between its SIGKILL and naming the killed
//! (`edge::deadline`, at most a second), and the services' last output
//! lines at exit (`services::output`, `finish`).

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::{self, SIGKILL, SIGPIPE, Signal, SignalSet};
use crate::base::time::Instant;
use crate::debug;
use crate::init::edge::{Edge, RETRY_DEFERRED};
use crate::init::order::Due;
use crate::init::policy::{self, Action};
use crate::init::shutdown::{Shutdown, StopEffects, StopNote};
use crate::process::reap::WaitStatus;
use crate::services::fleet::Verdict;
use crate::services::runtime::Running;
use crate::sys::{self, ReceivedSignal};

pub struct Supervisor<'a> {
    stop: Shutdown,
    edge: Edge<'a>,
    /// The services of a services file, and what their fleet decided that
    /// the stop has yet to hear.
    services: Option<Running<'a>>,
    verdicts: Vec<Verdict>,
    /// Signals to swallow once: the SIGHUP and SIGCONT the kernel sends
    /// when grace gives up its terminal to a command in a new session.
    ignore_once: SignalSet,
    /// Whether children were looked for once the stop began.
    reaped_in_stop: bool,
}

/// The stop's effects with services: the edge's, and the services'
/// ordered stop.
struct StopWithServices<'x, 'a> {
    edge: &'x mut Edge<'a>,
    services: &'x mut Option<Running<'a>>,
    verdicts: &'x mut Vec<Verdict>,
}

impl StopEffects for StopWithServices<'_, '_> {
    fn note(&mut self, note: StopNote) {
        self.edge.note(note)
    }
    fn start_pre_stop(&mut self) -> Option<i32> {
        self.edge.start_pre_stop()
    }
    fn abandon_pre_stop(&mut self, pid: i32) {
        self.edge.abandon_pre_stop(pid)
    }
    fn signal_main(&mut self, signal: Signal) {
        self.edge.signal_main(signal)
    }
    fn signal_everyone(&mut self, main: Signal, others: Signal) {
        self.edge.signal_everyone(main, others)
    }
    fn signal_others(&mut self, others: Signal) {
        self.edge.signal_others(others)
    }
    fn catch_up(&mut self, others: Signal, main_exited: bool) {
        self.edge.catch_up(others, main_exited)
    }
    fn read_order(&mut self) {
        self.edge.read_order()
    }
    fn signal_processes(&mut self, signal: Signal, due: &mut Vec<Due>) {
        self.edge.signal_processes(signal, due)
    }
    fn watch_exits(&mut self, pids: &[i32]) {
        self.edge.watch_exits(pids)
    }
    fn kill_stragglers(&mut self, main_signal: Signal) {
        // What the services' stop sent goes on the record the deadline
        // reads.
        if let Some(running) = self.services {
            self.edge.absorb_sent(&mut running.runtime.sent);
            running.unstopped_at_deadline();
        }
        self.edge.kill_stragglers(main_signal)
    }
    fn stop_services(&mut self, deadline: Instant) {
        if let Some(running) = self.services {
            let verdict = running
                .fleet
                .begin_stop(Instant::now(), deadline, &mut running.runtime);
            self.verdicts.push(verdict);
        }
    }
}

impl<'a> Supervisor<'a> {
    pub fn new(edge: Edge<'a>, services: Option<Running<'a>>, ignore_once: SignalSet) -> Self {
        let stop = Shutdown::new(edge.config);
        Self {
            stop: if services.is_some() {
                stop.with_services()
            } else {
                stop
            },
            edge,
            services,
            verdicts: Vec::new(),
            ignore_once,
            reaped_in_stop: false,
        }
    }

    fn acts(&mut self) -> (&mut Shutdown, StopWithServices<'_, 'a>) {
        (
            &mut self.stop,
            StopWithServices {
                edge: &mut self.edge,
                services: &mut self.services,
                verdicts: &mut self.verdicts,
            },
        )
    }

    /// Hands what the fleet decided to the stop, until nothing is left to
    /// decide; and what the services' runtime learned (how a start went, a
    /// readiness answer) to the fleet.
    fn settle(&mut self, now: Instant) {
        self.read_order(now);
        loop {
            if let Some(running) = &mut self.services {
                running.settle(now, &mut self.verdicts);
                if self.edge.main_pid == 0
                    && let Some(started) = running.runtime.main
                {
                    self.edge.main_pid = started.pid;
                }
            }
            let Some(verdict) = self.verdicts.pop() else {
                return;
            };
            let (stop, mut acts) = self.acts();
            match verdict {
                Verdict::Nothing => {}
                Verdict::StopAll => stop.on_service_ended(now, &mut acts),
                Verdict::Down => stop.on_services_down(now, &mut acts),
            }
        }
    }

    /// The stop asked for the order: read in this same wake-up, while the
    /// main process runs its handler, and handed back.
    fn read_order(&mut self, now: Instant) {
        if !self.edge.order_wanted() {
            return;
        }
        // The main process was just signalled: if it waits for this CPU,
        // it takes its signal before the reading, not after a time slice.
        sys::yield_cpu();
        let read = self.edge.read_order_now();
        let grace = self.edge.own_pid;
        let main = self.edge.main_running().then_some(self.edge.main_pid);
        let (stop, mut acts) = self.acts();
        match read {
            Ok((processes, connections)) => {
                stop.on_order_read(now, grace, main, &processes, connections, &mut acts)
            }
            Err(error) => {
                debug!("stop_order_unread", "stop order: {error}");
                stop.on_order_failed(now, &mut acts);
            }
        }
    }

    /// The order hears of the exits grace saw other than by reaping (a
    /// pidfd it watched, a process its signal no longer reached), until
    /// none is left: each may release processes whose signal finds
    /// another gone.
    fn order_exits(&mut self, now: Instant) {
        loop {
            let pids = self.edge.take_order_exits();
            if pids.is_empty() {
                return;
            }
            let (stop, mut acts) = self.acts();
            stop.on_exits(now, &pids, &mut acts);
        }
    }

    /// How the container ends: the main process's status; without one, a
    /// service's that ended it; else 0, a stop of services all done.
    fn outcome(&self) -> WaitStatus {
        if let Some(status) = self.edge.main_status {
            return status;
        }
        if let Some(running) = &self.services
            && self.edge.main_pid == 0
        {
            return running.fleet.outcome().unwrap_or(WaitStatus::Exited(0));
        }
        // The main process always ends up reaped unless it could not even
        // be SIGKILLed in time; report that as the SIGKILL it was sent.
        WaitStatus::Signaled(SIGKILL.number())
    }

    /// Runs until the main process and everyone grace is responsible for
    /// have exited (or were killed at the deadline); returns how the main
    /// process ended.
    pub fn run(mut self) -> sys::Result<WaitStatus> {
        let mut batch = [ReceivedSignal::default(); 32];
        let mut pollfds: Vec<libc::pollfd> = Vec::new();
        loop {
            // Only a stop, running or due (the main process is gone), or
            // services (their timers) need the time: forwarding a signal
            // does not read the clock.
            let now =
                (self.stop.is_stopping() || !self.edge.main_running() || self.services.is_some())
                    .then(Instant::now);
            if let Some(now) = now {
                if let Some(running) = &mut self.services {
                    let verdict = running.fleet.on_time(now, &mut running.runtime);
                    self.verdicts.push(verdict);
                    self.settle(now);
                }
                if !self.stop.is_stopping()
                    && !self.edge.main_running()
                    && (self.edge.children_left || self.edge.outsiders_left())
                {
                    let (stop, mut acts) = self.acts();
                    stop.on_others_left(now, &mut acts);
                    self.settle(now);
                }
                let (stop, mut acts) = self.acts();
                stop.on_time(now, &mut acts);
                self.settle(now);
                self.order_exits(now);
            }
            // Whether children are left is learned when one exits. A stop
            // begun with none ever started (the only service failed before
            // its fork: no run directory for its notify socket, no such
            // user) would otherwise wait for an exit that never comes.
            if self.stop.is_stopping() && !self.reaped_in_stop {
                self.reaped_in_stop = true;
                self.reap()?;
            }
            if self.stop.is_over() || self.edge.finished(self.stop.is_stopping()) {
                break;
            }
            if let Some(running) = &mut self.services {
                running.publish(self.stop.is_stopping());
            }
            // Measured from after the work just done: signalling thousands
            // takes milliseconds, which must not push the deadline back.
            let services = self
                .services
                .as_ref()
                .and_then(|running| running.fleet.next_wakeup());
            let timeout = timeout(
                now.map(|_| Instant::now()),
                [self.stop.next_wakeup(), services],
                self.edge.forward_waits(),
            );
            pollfds.clear();
            for pidfd in self.edge.watched() {
                pollfds.push(libc::pollfd {
                    fd: pidfd.raw(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let outsiders = pollfds.len();
            for pidfd in self.edge.order_watched() {
                pollfds.push(libc::pollfd {
                    fd: pidfd.raw(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let order_watched = pollfds.len();
            crate::base::log::watch(&mut pollfds);
            if let Some(running) = &self.services {
                running.runtime.watched(&mut pollfds);
            }
            let count = self
                .edge
                .signals
                .receive_polling(&mut batch, timeout, &mut pollfds)?;
            let outsider_exited = pollfds[..outsiders].iter().any(|p| p.revents != 0);
            // Taken before the signals, whose reaping changes what the
            // order watches.
            self.edge.order_polled(&pollfds[outsiders..order_watched]);
            for polled in &pollfds[order_watched..] {
                if polled.revents == 0 || crate::base::log::on_ready(polled.fd) {
                    continue;
                }
                if let Some(running) = &mut self.services {
                    running.runtime.on_ready(polled.fd, polled.revents);
                }
            }
            for received in &batch[..count] {
                self.on_signal(*received)?;
            }
            if outsider_exited {
                self.edge.forget_exited_outsiders();
            }
            if self.edge.forward_waits() {
                let others = self.service_pids();
                self.edge.retry_deferred(&others);
            }
        }
        self.edge.report();
        if let Some(running) = &mut self.services {
            running.runtime.finish();
            if running.runtime.main.is_some_and(|main| main.owns_terminal) {
                crate::process::spawn::reclaim_terminal();
            }
        }
        Ok(self.outcome())
    }

    /// The services' running processes, which forwarded signals reach
    /// beside the main process.
    fn service_pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        if let Some(running) = &self.services {
            for (_, pid) in running.fleet.running() {
                pids.push(pid);
            }
        }
        pids
    }

    fn on_signal(&mut self, received: ReceivedSignal) -> sys::Result<()> {
        let Some(signal) = Signal::new(received.number) else {
            return Ok(());
        };
        let sender = received.sender;
        // A write to a closed stderr raises SIGPIPE in grace itself; that one
        // is grace's own business, not the command's.
        if signal == SIGPIPE && sender == self.edge.own_pid {
            return Ok(());
        }
        // The kernel sends them as if from grace itself (SI_USER).
        if swallow_once(&mut self.ignore_once, signal) {
            debug!(
                "ignored",
                [signal = signal],
                "received {signal} for giving up the terminal; not forwarded"
            );
            return Ok(());
        }
        let phase = if self.stop.is_stopping() {
            policy::Phase::Stopping
        } else {
            policy::Phase::Running
        };
        let decision = policy::decide(self.edge.config, phase, signal, self.edge.own_pid == 1);
        match decision.action {
            Action::Reap => return self.reap(),
            Action::Drop => debug!(
                "dropped",
                [signal = signal, sender = sender],
                "received {signal} from pid {sender}; dropped (--rewrite to 0)"
            ),
            Action::Stop { main_signal } | Action::StopAgain { main_signal } => {
                let now = Instant::now();
                let (stop, mut acts) = self.acts();
                stop.on_stop_signal(now, signal, main_signal, sender, &mut acts);
                self.settle(now);
            }
            Action::Forward { signal, to } => {
                let others = self.service_pids();
                self.edge.forward(signal, to, &others);
            }
            Action::Keep => debug!(
                "not_forwarded",
                [signal = signal, sender = sender],
                "received {signal} from pid {sender}; not forwarded"
            ),
        }
        if decision.suspend {
            debug!(
                "suspend",
                [signal = signal],
                "suspending grace after {signal}"
            );
            let _ = sys::kill(self.edge.own_pid, signals::SIGSTOP.number());
        }
        Ok(())
    }

    /// Reaps every child that has exited, and tells the stop about the
    /// main process and the pre-stop command.
    fn reap(&mut self) -> sys::Result<()> {
        let exits = self.edge.collect_exits()?;
        // Read only when something the stop or the services care about may
        // have happened.
        let now = (self.stop.is_stopping() || self.services.is_some()).then(Instant::now);
        for exit in &exits {
            if self.stop.counts_exit(exit.pid) {
                self.edge.count_reaped();
            }
            if let Some(now) = now {
                let (stop, mut acts) = self.acts();
                if stop.is_stopping() && stop.on_exit(now, exit.pid, exit.status, &mut acts) {
                    self.settle(now);
                    continue;
                }
            }
            if let (Some(running), Some(now)) = (&mut self.services, now)
                && let Some(verdict) = running.on_exit(now, exit.pid, exit.status)
            {
                self.verdicts.push(verdict);
                self.settle(now);
                continue;
            }
            if self.edge.record_exit(*exit) {
                let now = now.unwrap_or_else(Instant::now);
                let (stop, mut acts) = self.acts();
                stop.on_main_exit(now, &mut acts);
                if let Some(running) = &mut self.services {
                    let verdict = running.fleet.on_main_exit(now, &mut running.runtime);
                    self.verdicts.push(verdict);
                }
                self.settle(now);
            }
        }
        if let Some(now) = now
            && self.stop.is_stopping()
        {
            let pids: Vec<i32> = exits.iter().map(|exit| exit.pid).collect();
            let (stop, mut acts) = self.acts();
            stop.on_exits(now, &pids, &mut acts);
        }
        self.edge.recycle_exits(exits);
        if let (Some(running), Some(now)) = (&mut self.services, now) {
            let verdict = running.after_reap(now);
            self.verdicts.push(verdict);
            self.settle(now);
        }
        Ok(())
    }
}

/// How long the loop may sleep: until the earliest of `wakeups` (None:
/// nothing due), measured from `now`, which is None when nothing needs
/// the time (then nothing is due either); a refused forward shortens it to
/// `RETRY_DEFERRED`.
fn timeout<const N: usize>(
    now: Option<Instant>,
    wakeups: [Option<Instant>; N],
    forward_waits: bool,
) -> Option<Duration> {
    let due = wakeups.into_iter().flatten().min();
    let timeout = match (due, now) {
        (Some(at), Some(now)) => Some(at.saturating_duration_since(now)),
        _ => None,
    };
    if forward_waits {
        return Some(timeout.map_or(RETRY_DEFERRED, |t| t.min(RETRY_DEFERRED)));
    }
    timeout
}

/// Whether `signal` is one to swallow once (then it is no longer).
fn swallow_once(once: &mut SignalSet, signal: Signal) -> bool {
    if !once.contains(signal) {
        return false;
    }
    *once = SignalSet::from_bits(once.bits() & !SignalSet::EMPTY.with(signal).bits());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGCONT, SIGHUP, SIGTERM};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_loop_sleeps_until_the_earliest_wakeup_or_for_ever() {
        let t0 = Instant::now();
        assert_eq!(timeout(Some(t0), [None, None], false), None, "idle");
        assert_eq!(
            timeout(Some(t0), [Some(t0 + 30 * MS), Some(t0 + 20 * MS)], false),
            Some(20 * MS)
        );
        assert_eq!(
            timeout(Some(t0 + 50 * MS), [Some(t0 + 30 * MS), None], false),
            Some(Duration::ZERO),
            "overdue: at once"
        );
        // Without the time, nothing is due.
        assert_eq!(timeout(None, [Some(t0)], false), None);
        // A refused forward wakes the loop soon, but no later than due.
        assert_eq!(timeout(None, [None], true), Some(RETRY_DEFERRED));
        assert_eq!(timeout(Some(t0), [Some(t0 + 2 * MS)], true), Some(2 * MS));
        assert_eq!(
            timeout(Some(t0), [Some(t0 + 20 * MS)], true),
            Some(RETRY_DEFERRED)
        );
    }

    #[test]
    fn a_signal_to_swallow_is_swallowed_once() {
        let mut once = SignalSet::EMPTY.with(SIGHUP).with(SIGCONT);
        assert!(!swallow_once(&mut once, SIGTERM));
        assert!(swallow_once(&mut once, SIGHUP));
        assert!(!swallow_once(&mut once, SIGHUP), "once");
        assert!(swallow_once(&mut once, SIGCONT));
        assert_eq!(once.bits(), 0);
    }
}
