//! The event loop: one thread, every signal blocked and read from a signalfd,
//! and nothing else. While nothing happens grace sleeps in a single blocking
//! read, so an idle container costs no wake-ups at all; during a stop the
//! only timeout is the next step of the stop, and the only other thing
//! waited on is the pidfd of each process entered from outside.
//!
//! The loop turns what the kernel reports into events: `policy` says what a
//! signal means, `shutdown` decides what a stop does next, and `edge`
//! carries it out on the processes.

use crate::debug;
use crate::edge::{Edge, RETRY_DEFERRED};
use crate::policy::{self, Action};
use crate::reap::WaitStatus;
use crate::shutdown::Shutdown;
use crate::signals::{self, SIGKILL, SIGPIPE, Signal, SignalSet};
use crate::sys::{self, ReceivedSignal};
use crate::time::Instant;

pub struct Supervisor<'a> {
    stop: Shutdown,
    edge: Edge<'a>,
    /// Signals to swallow once: the SIGHUP and SIGCONT the kernel sends
    /// when grace gives up its terminal to a command in a new session.
    ignore_once: SignalSet,
}

impl<'a> Supervisor<'a> {
    pub fn new(edge: Edge<'a>, ignore_once: SignalSet) -> Self {
        Self {
            stop: Shutdown::new(edge.config),
            edge,
            ignore_once,
        }
    }

    /// Runs until the main process and everyone grace is responsible for
    /// have exited (or were killed at the deadline); returns how the main
    /// process ended.
    pub fn run(mut self) -> sys::Result<WaitStatus> {
        let mut batch = [ReceivedSignal::default(); 32];
        loop {
            // Only a stop, running or due (the main process is gone), needs
            // the time: forwarding a signal does not read the clock.
            let now = (self.stop.is_stopping() || !self.edge.main_running()).then(Instant::now);
            if let Some(now) = now {
                if !self.stop.is_stopping()
                    && (self.edge.children_left || self.edge.outsiders_left())
                {
                    self.stop.on_others_left(now, &mut self.edge);
                }
                self.stop.on_time(now, &mut self.edge);
            }
            if self.stop.is_over() || self.edge.finished(self.stop.is_stopping()) {
                break;
            }
            // Measured from after the work just done: signalling thousands
            // takes milliseconds, which must not push the deadline back.
            let mut timeout = match (self.stop.next_wakeup(), now) {
                (Some(at), Some(_)) => Some(at.saturating_duration_since(Instant::now())),
                _ => None,
            };
            if !self.edge.deferred.is_empty() {
                timeout = Some(timeout.map_or(RETRY_DEFERRED, |t| t.min(RETRY_DEFERRED)));
            }
            let watched = self.edge.watched();
            let (count, outsider_exited) = self
                .edge
                .signals
                .receive_watching(&mut batch, timeout, &watched)?;
            drop(watched);
            for received in &batch[..count] {
                self.on_signal(*received)?;
            }
            if outsider_exited {
                self.edge.forget_exited_outsiders();
            }
            self.edge.retry_deferred();
        }
        self.edge.report();
        // The main process always ends up reaped unless it could not even be
        // SIGKILLed in time; report that as the SIGKILL it was sent.
        Ok(self
            .edge
            .main_status
            .unwrap_or(WaitStatus::Signaled(SIGKILL.number())))
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
        if self.ignore_once.contains(signal) {
            self.ignore_once = SignalSet::from_bits(
                self.ignore_once.bits() & !SignalSet::EMPTY.with(signal).bits(),
            );
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
                self.stop.on_stop_signal(
                    Instant::now(),
                    signal,
                    main_signal,
                    sender,
                    &mut self.edge,
                );
            }
            Action::Forward { signal, to } => self.edge.forward(signal, to),
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
        // Read only when something the stop cares about may have happened.
        let now = self.stop.is_stopping().then(Instant::now);
        for exit in &exits {
            if self.stop.counts_exit(exit.pid) {
                self.edge.reaped_in_stop += 1;
            }
            if let Some(now) = now
                && self
                    .stop
                    .on_exit(now, exit.pid, exit.status, &mut self.edge)
            {
                continue;
            }
            if self.edge.record_exit(*exit) {
                self.stop
                    .on_main_exit(now.unwrap_or_else(Instant::now), &mut self.edge);
            }
        }
        self.edge.recycle_exits(exits);
        Ok(())
    }
}
