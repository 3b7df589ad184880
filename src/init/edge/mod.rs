//! The edge: where the stop's decisions meet real processes.
//!
//! `Edge` carries out the stop's `StopEffects` with system calls. What to
//! do and when is decided in `shutdown`; nothing here decides. By concern:
//!
//! - this file: the edge's state, and the signalling (kill(-1) or a sweep,
//!   SIGCONT, the main process's signal, newcomers), the pre-stop command;
//! - `known`: what grace knows of its processes: the main process and its
//!   status, whether children are left, the outsiders it watches;
//! - `forward`: signals passed on, and those the kernel refused;
//! - `deadline`: the deadline's snapshot-kill-reap-name, with `init::kill`;
//! - `tally`: the stop's count of processes, pure;
//! - `notes`: the wording of every line the edge logs.

mod deadline;
pub mod forward;
mod known;
mod notes;
mod tally;

use crate::base::prelude::*;

use crate::base::signals::{SIGCONT, SIGKILL, Signal};
use crate::base::time::Instant;
use crate::cli::{Config, ForwardTo};
use crate::init::order::{self, Due};
use crate::init::scope::{self, Scope, Sent, SentTo, Signalling};
use crate::init::setup::Setup;
use crate::init::shutdown::{StopEffects, StopNote};
use crate::process::procfs::{self, Disposition, Stat};
use crate::process::reap;
use crate::process::sockets::{self, Connection};
use crate::process::spawn::{self, Inherited};
use crate::process::user::Credentials;
use crate::sys::{self, PidFd, SignalFd};
use crate::{debug, warn};

use forward::Forwarding;
use tally::Tally;

pub use forward::RETRY_DEFERRED;

pub struct Edge<'a> {
    pub config: &'a Config,
    /// grace's environment, which the pre-stop command gets too.
    environment: &'a [Vec<u8>],
    inherited: Inherited,
    /// `--user`: who the pre-stop command runs as.
    credentials: Option<&'a Credentials>,
    pub signals: SignalFd,
    pub own_pid: i32,
    scope: Scope,
    pub main_pid: i32,
    pub main_status: Option<reap::WaitStatus>,
    pub children_left: bool,
    /// When the stop began, for the log's times (None before).
    stop_started: Option<Instant>,
    /// Set by the stop once everyone has been signalled: from then on a
    /// newcomer gets the stop signal too.
    pub draining: bool,
    /// The stop's count of processes, for the summary.
    tally: Tally,
    /// Exits collected by one reaping pass, kept between passes so that a
    /// stop of thousands does not allocate and free a list per SIGCHLD.
    exits: Vec<reap::Exit>,
    /// (pid, command name) of each process killed at the deadline.
    killed_at_deadline: Vec<(i32, String)>,
    /// Forwarded signals the kernel refused, to try again.
    forwarding: Forwarding,
    /// Whom the stop has signalled and with what (the services' stop
    /// included), and newcomers since.
    signalling: Signalling,
    /// As PID 1: processes of the namespace that are not grace's children
    /// (entered with `docker exec`), watched through pidfds because the
    /// kernel reports their exit to somebody else.
    outsiders: Vec<PidFd>,
    /// False once pidfds turned out unsupported (Linux before 5.3), or when
    /// grace is not PID 1: outsiders are then not waited for.
    waits_for_outsiders: bool,
    /// The stop asked for the order (`read_order`): the supervisor reads
    /// it with `read_order_now` in the same wake-up.
    order_wanted: bool,
    /// During an ordered stop: the processes the order waits to see exit
    /// that are not grace's children, by pid, each with its pidfd (the
    /// kernel tells their parents of their exits, not grace).
    order_watched: Vec<(i32, PidFd)>,
    /// Exits of processes in the order that grace saw other than by
    /// reaping, for `Shutdown::on_exits`.
    order_exits: Vec<i32>,
}

impl<'a> Edge<'a> {
    pub fn new(setup: &'a Setup, signals: SignalFd, main_pid: i32) -> Self {
        let own_pid = sys::getpid();
        let scope = Scope::for_pid(own_pid);
        Self {
            config: &setup.config,
            environment: &setup.environment,
            inherited: setup.inherited,
            credentials: setup.credentials.as_ref(),
            signals,
            own_pid,
            scope,
            main_pid,
            main_status: None,
            children_left: true,
            stop_started: None,
            draining: false,
            tally: Tally::default(),
            exits: Vec::new(),
            killed_at_deadline: Vec::new(),
            forwarding: Forwarding::default(),
            signalling: Signalling::new(scope, own_pid),
            outsiders: Vec::new(),
            waits_for_outsiders: scope == Scope::Namespace,
            order_wanted: false,
            order_watched: Vec::new(),
            order_exits: Vec::new(),
        }
    }

    /// Whether the stop asked for the order since the last look.
    pub fn order_wanted(&mut self) -> bool {
        core::mem::take(&mut self.order_wanted)
    }

    /// The processes (grace's own pid left out) and the connections among
    /// them, read now, for `Shutdown::on_order_read`.
    pub fn read_order_now(&mut self) -> sys::Result<(Vec<order::Process>, Vec<Connection>)> {
        self.signalling.before_listing();
        let mut listed = scope::members(self.scope, self.own_pid, None)?;
        listed.retain(|stat| stat.state != 'Z');
        // In pid order, through the one sort of (i32, i32) pairs of the
        // order's tables (a sort of `Stat`s would be kilobytes more).
        let mut by_pid: Vec<(i32, i32)> = listed
            .iter()
            .enumerate()
            .map(|(at, stat)| (stat.pid, at as i32))
            .collect();
        by_pid.sort_unstable();
        let mut listed: Vec<Option<Stat>> = listed.into_iter().map(Some).collect();
        let listed: Vec<Stat> = by_pid
            .iter()
            .filter_map(|&(_, at)| listed[at as usize].take())
            .collect();
        let pids: Vec<i32> = listed.iter().map(|stat| stat.pid).collect();
        let processes = listed
            .iter()
            .map(|stat| order::Process {
                pid: stat.pid,
                ppid: stat.ppid,
            })
            .collect();
        // Everyone listed is the stop's to stop, by its signal or its
        // parent's: counted as kill(-1) counts those present.
        self.tally.saw_signalled(Some(listed.len()));
        self.signalling.set_listed(listed);
        let connections = sockets::read(&pids)?.connections;
        Ok((processes, connections))
    }

    /// A process the stop counts was reaped.
    pub fn count_reaped(&mut self) {
        self.tally.reaped += 1;
    }

    /// Takes in what the services' stop sent, so that the deadline knows
    /// it.
    pub fn absorb_sent(&mut self, sent: &mut Sent) {
        self.signalling.absorb(sent);
    }

    /// Processes created since the signalling that nobody else will stop
    /// get the stop signal. As a subreaper, finding them means listing
    /// /proc: done only when the main process exits, the moment its
    /// helpers appear.
    fn find_newcomers(&mut self, stop_signal: Signal, main_exited: bool) {
        if self.scope == Scope::Descendants && !main_exited {
            return;
        }
        let found = self.signalling.catch_up(stop_signal);
        if found > 0 {
            self.tally.add_signalled(found);
            self.said_signal_late(stop_signal, found);
        }
    }

    fn signal_main_with(&mut self, signal: Signal) {
        if !self.main_alive() {
            return;
        }
        let pid = self.main_pid;
        let identity = procfs::read_stat(pid).ok();
        match sys::kill(pid, signal.number()) {
            Ok(()) => {
                if let Some(stat) = &identity {
                    self.signalling.record(SentTo::of(stat), signal);
                }
                self.said_signal_main(signal);
            }
            Err(error) => debug!(
                "signal_failed",
                [pid = pid, signal = signal],
                "could not signal the main process: {error}"
            ),
        }
        if procfs::read_stat(pid).is_ok_and(|stat| stat.state == 'T') {
            let _ = sys::kill(pid, SIGCONT.number());
        }
    }

    /// One atomic kill(-1) reaches every process in the namespace, including
    /// any forked while grace was deciding. Then SIGCONT, so that stopped
    /// processes can act on it.
    fn signal_namespace(&mut self, stop_signal: Signal) {
        if let Err(error) = self.signalling.signal_namespace(stop_signal) {
            warn!(
                "signal_failed",
                [signal = stop_signal],
                "cannot signal the namespace: {error}"
            );
        }
        // Counted after signalling, so the count never delays the signal,
        // and only up to a few hundred: listing 5,000 /proc entries takes
        // milliseconds that reaping needs when every CPU is busy. Beyond
        // that the summary counts what grace reaps. Processes that exited
        // meanwhile are still listed: grace has not reaped them yet.
        let present = procfs::count_processes_up_to_a_few_hundred()
            .ok()
            .filter(|_| procfs::shows_own_namespace())
            .map(|count| count.saturating_sub(1));
        // kill(-1, SIGCONT) is one call for any number of processes, but it
        // also reaches the main process, which must get only the signal
        // grace received. That is invisible to a running main process that
        // does not catch SIGCONT; otherwise only the stopped processes are
        // continued, one by one.
        let main_would_notice = self.main_alive()
            && procfs::read_dispositions(self.main_pid)
                .map_or(true, |d| d.of(SIGCONT) == Disposition::Handles);
        let continued = if main_would_notice {
            scope::continue_stopped(self.scope, self.own_pid).map(drop)
        } else {
            scope::signal_namespace(SIGCONT)
        };
        if let Err(error) = continued {
            debug!(
                "continue_failed",
                "cannot continue stopped processes ({error}); sending SIGCONT to all"
            );
            let _ = scope::signal_namespace(SIGCONT);
        }
        self.tally.saw_signalled(present);
        self.said_signal_all(stop_signal);
    }

    /// Everyone but the main process: the stop signal, then SIGCONT.
    fn signal_others_with(&mut self, stop_signal: Signal) {
        if self.scope == Scope::Namespace && !self.main_alive() {
            self.signal_namespace(stop_signal);
            return;
        }
        let except = self.main_alive().then_some(self.main_pid);
        match self.signalling.sweep(except, &[stop_signal, SIGCONT]) {
            Ok(count) => {
                let main = usize::from(self.main_alive());
                self.tally.saw_signalled(Some(count + main));
                self.said_signal_others(stop_signal, count);
            }
            Err(error) => {
                self.tally.saw_signalled(None);
                warn!(
                    "signal_failed",
                    [signal = stop_signal],
                    "cannot find the other processes: {error}; signalling the main process group only"
                );
                if self.main_alive() {
                    let _ = sys::kill(-self.main_pid, stop_signal.number());
                    let _ = sys::kill(-self.main_pid, SIGCONT.number());
                }
            }
        }
    }

    /// Passes `signal` on to the main process and to `others` (the
    /// services' processes), each as `to` says.
    pub fn forward(&mut self, signal: Signal, to: ForwardTo, others: &[i32]) {
        // Once reaped, the main pid may belong to someone else.
        if self.main_alive() {
            self.forward_to(signal, to, self.main_pid);
        } else {
            self.said_main_gone(signal);
        }
        for &pid in others {
            self.forward_to(signal, to, pid);
        }
    }

    fn forward_to(&mut self, signal: Signal, to: ForwardTo, recipient: i32) {
        let mut send = |target: i32, signal: Signal| sys::kill(target, signal.number());
        let sent = self.forwarding.forward(signal, to, recipient, &mut send);
        self.said_forwarded(signal, forward::target(recipient, to), sent);
    }

    /// Whether a refused forward waits to be tried again.
    pub fn forward_waits(&self) -> bool {
        self.forwarding.is_waiting()
    }

    /// The refused forwards again, to the main process and `others` if
    /// they are still there.
    pub fn retry_deferred(&mut self, others: &[i32]) {
        if !self.forwarding.is_waiting() {
            return;
        }
        let mut recipients = others.to_vec();
        if self.main_alive() {
            recipients.push(self.main_pid);
        }
        let mut again = Vec::new();
        self.forwarding.retry(&recipients, |recipient, signal| {
            again.push((recipient, signal))
        });
        for (recipient, signal) in again {
            self.forward_to(signal, self.config.forward_to, recipient);
        }
    }
}

impl StopEffects for Edge<'_> {
    fn note(&mut self, note: StopNote) {
        match note {
            StopNote::Began { at, .. }
            | StopNote::ServiceEnded { at }
            | StopNote::MainLeftOthers { at } => self.stop_started = Some(at),
            _ => {}
        }
        self.say(note);
    }

    fn start_pre_stop(&mut self) -> Option<i32> {
        let command = self.config.pre_stop.clone()?;
        let args = [b"-c".to_vec(), command.clone()];
        let options = spawn::Options {
            may_take_terminal: false,
            new_session: false,
            credentials: self.credentials,
            no_new_privs: self.config.no_new_privs,
            ..Default::default()
        };
        match spawn::start(b"/bin/sh", &args, self.environment, self.inherited, options) {
            Ok(started) => {
                self.said_pre_stop(&command, started.pid);
                Some(started.pid)
            }
            Err(error) => {
                warn!("pre_stop_failed", "pre-stop: {error}");
                None
            }
        }
    }

    fn abandon_pre_stop(&mut self, pid: i32) {
        let _ = sys::kill(-pid, SIGKILL.number());
    }

    /// The main process gets exactly the signal grace received, and SIGCONT
    /// if it is stopped so that it can act on it.
    fn signal_main(&mut self, signal: Signal) {
        self.signal_main_with(signal);
    }

    /// The main process its signal, everyone else the stop signal and
    /// SIGCONT.
    fn signal_everyone(&mut self, main: Signal, others: Signal) {
        self.draining = true;
        if self.scope == Scope::Namespace && main == others && self.main_alive() {
            // kill(-1) gives the main process exactly the signal grace
            // received, once, along with everyone else.
            self.signal_namespace(others);
            return;
        }
        // The others first: a process the main process starts once it has
        // its signal is part of its stop, and must not be swept up too.
        self.signal_others_with(others);
        self.signal_main_with(main);
    }

    fn signal_others(&mut self, others: Signal) {
        self.draining = true;
        self.signal_others_with(others);
    }

    fn catch_up(&mut self, others: Signal, main_exited: bool) {
        self.find_newcomers(others, main_exited);
    }

    fn read_order(&mut self) {
        self.order_wanted = true;
    }

    fn signal_processes(&mut self, signal: Signal, due: &mut Vec<Due>) {
        // Counted when listed (`read_order_now`). One the signal no longer
        // reaches has exited unseen (grace heard of it neither by reaping
        // nor through a pidfd): said to the order as an exit, not logged.
        due.retain(|due| {
            let reached = self.signalling.signal_listed(due.pid, signal);
            if !reached {
                self.order_exits.push(due.pid);
            }
            reached
        });
    }

    fn watch_exits(&mut self, pids: &[i32]) {
        self.watch_order_exits(pids);
    }

    fn kill_stragglers(&mut self, main_signal: Signal) {
        if let Err(error) = self.kill_and_name(main_signal) {
            warn!("internal", "after the deadline's kill: {error}");
        }
    }
}
