//! The edge: where the stop's decisions meet real processes.
//!
//! `Edge` holds what grace knows of the processes it is responsible for
//! (the main process and its status, whether children are left, the
//! processes entered from outside that it watches, whom the stop has
//! reached) and carries out the stop's `Effects` with system calls:
//! signalling, the pre-stop command, the deadline's kill and its log.
//! What to do and when is decided in `shutdown`; nothing here decides.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::{SIGCONT, SIGKILL, Signal, SignalSet};
use crate::base::time::{self, Instant};
use crate::cli::{Config, ForwardTo};
use crate::init::scope::{self, Reach, Scope, Sweeper};
use crate::init::setup::Setup;
use crate::init::shutdown::{Effects, Note};
use crate::process::procfs::{self, Disposition, Dispositions, Stat};
use crate::process::reap::{self, Remaining, WaitStatus};
use crate::process::spawn::{self, Inherited};
use crate::process::user::Credentials;
use crate::sys::{self, PidFd, ReceivedSignal, SignalFd};
use crate::{base::log, debug, info, warn};

/// After the deadline's SIGKILL, how long grace waits for the kernel to
/// finish the killed processes (one stuck in uninterruptible sleep cannot
/// be waited for forever).
const AFTER_KILL_BOUND: Duration = Duration::from_secs(1);

/// How many times the deadline's SIGKILL is repeated for processes created
/// while it went out (a fork bomb must not keep grace past its bound).
const MAX_KILL_ROUNDS: usize = 16;

/// How many killed processes the default log names one by one; beyond
/// that, one line counts the rest (`-v` and the JSON log list them all).
const NAMED_KILLS: usize = 10;

/// How soon a forward refused by a full real-time signal queue is retried.
/// Only while such a signal is waiting does grace wake up on a timer.
pub const RETRY_DEFERRED: Duration = Duration::from_millis(10);

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
    pub main_status: Option<WaitStatus>,
    pub children_left: bool,
    /// When the stop began, for the log's times (None before).
    stop_started: Option<Instant>,
    /// Set by the stop once everyone has been signalled: from then on a
    /// newcomer gets the stop signal too.
    pub draining: bool,
    /// Processes reached by the stop, for the summary (None: unknown); a
    /// lower bound when there were too many to count cheaply.
    stopping: Option<usize>,
    /// Processes grace reaped since the stop signalled them: the count when
    /// /proc had too many to list.
    pub reaped_in_stop: usize,
    /// `reaped_in_stop` when the deadline's kill went out: with the killed,
    /// everyone the stop reached, even if some could not be reaped in time.
    reaped_before_kill: Option<usize>,
    /// Exits collected by one reaping pass, kept between passes so that a
    /// stop of thousands does not allocate and free a list per SIGCHLD.
    exits: Vec<reap::Exit>,
    /// (pid, command name) of each process killed at the deadline.
    killed_at_deadline: Vec<(i32, String)>,
    /// Signals the kernel refused to queue for the main process (EAGAIN).
    pub deferred: SignalSet,
    /// Whom the stop has signalled, and newcomers since.
    reach: Reach,
    /// Whether the main process was sent the signal that stops it.
    main_signalled: bool,
    /// As PID 1: processes of the namespace that are not grace's children
    /// (entered with `docker exec`), watched through pidfds because the
    /// kernel reports their exit to somebody else.
    outsiders: Vec<PidFd>,
    /// Outsiders seen to exit during the stop, for the summary.
    outsiders_ended: usize,
    /// False once pidfds turned out unsupported (Linux before 5.3), or when
    /// grace is not PID 1: outsiders are then not waited for.
    waits_for_outsiders: bool,
}

/// Who the deadline kills: those the log names, read just before, and
/// the rest, only listed.
#[derive(Default)]
struct Snapshot {
    named: Vec<Straggler>,
    unread: Vec<i32>,
}

/// One process the deadline kills, as it was just before.
struct Straggler {
    stat: Stat,
    dispositions: Dispositions,
    /// Read for the first few only: the kill must not wait for thousands.
    command: Option<String>,
    /// The service it came from, where its environment says (read with
    /// the command).
    service: Option<String>,
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
            stopping: Some(0),
            reaped_in_stop: 0,
            reaped_before_kill: None,
            exits: Vec::new(),
            killed_at_deadline: Vec::new(),
            deferred: SignalSet::EMPTY,
            reach: Reach::new(scope, own_pid),
            main_signalled: false,
            outsiders: Vec::new(),
            outsiders_ended: 0,
            waits_for_outsiders: scope == Scope::Namespace,
        }
    }

    pub fn main_running(&self) -> bool {
        self.main_status.is_none()
    }

    /// Whether there is a main process to signal: one was started (with
    /// services it starts late, or not at all) and has not exited.
    pub fn main_alive(&self) -> bool {
        self.main_pid > 0 && self.main_status.is_none()
    }

    /// The outsiders' pidfds, for the loop's one wait.
    pub fn watched(&self) -> Vec<&PidFd> {
        self.outsiders.iter().collect()
    }

    /// Every child that has exited so far, and whether children are left.
    pub fn collect_exits(&mut self) -> sys::Result<Vec<reap::Exit>> {
        let mut exits = core::mem::take(&mut self.exits);
        let remaining = reap::reap_all(|exit| exits.push(exit))?;
        self.children_left = remaining == Remaining::SomeChildren;
        Ok(exits)
    }

    /// Hands the list back for the next pass to fill.
    pub fn recycle_exits(&mut self, mut exits: Vec<reap::Exit>) {
        exits.clear();
        self.exits = exits;
    }

    /// Logs a reaped process; the main process's status is kept. Returns
    /// whether it was the main process.
    pub fn record_exit(&mut self, exit: reap::Exit) -> bool {
        let (code, signal) = exit.status.log_fields();
        if exit.pid == self.main_pid && self.main_running() {
            info!(
                "main_exited",
                [
                    pid = exit.pid,
                    exit_code = code,
                    signal = signal,
                    elapsed_ms = self.elapsed_ms()
                ],
                "main process {} {}{}",
                exit.pid,
                exit.status.describe(),
                self.elapsed()
            );
            self.main_status = Some(exit.status);
            return true;
        }
        if self.config.warn_on_reap {
            warn!(
                "reaped",
                [pid = exit.pid, exit_code = code, signal = signal],
                "reaped zombie process {} ({})",
                exit.pid,
                exit.status.describe()
            );
        } else {
            debug!(
                "reaped",
                [pid = exit.pid, exit_code = code, signal = signal],
                "reaped process {} ({}){}",
                exit.pid,
                exit.status.describe(),
                self.elapsed()
            );
        }
        false
    }

    /// Nothing left to wait for: no child, and as PID 1 no other process
    /// in the namespace, once a stop runs or the main process is gone.
    pub fn finished(&mut self, stopping: bool) -> bool {
        !self.children_left && (stopping || !self.main_running()) && !self.outsiders_left()
    }

    pub fn elapsed(&self) -> String {
        match self.stop_started {
            Some(started) => format!(" +{} s", time::decimal_seconds(started.elapsed(), 3)),
            None => String::new(),
        }
    }

    /// Milliseconds since the stop began, for JSON logs (None before).
    pub fn elapsed_ms(&self) -> Option<u128> {
        self.stop_started
            .map(|started| started.elapsed().as_millis())
    }

    pub fn forward(&mut self, signal: Signal, to: ForwardTo) {
        // Once reaped, the main pid may belong to someone else.
        if !self.main_alive() {
            debug!(
                "not_forwarded",
                [signal = signal],
                "received {signal}; the main process is gone, not forwarded"
            );
            return;
        }
        let target = match to {
            ForwardTo::Child => self.main_pid,
            ForwardTo::Group => -self.main_pid,
        };
        match sys::kill(target, signal.number()) {
            Ok(()) => debug!(
                "forward",
                [signal = signal, pid = target],
                "forwarded {signal} to {}",
                describe_target(target)
            ),
            // The kernel's queue of pending real-time signals is shared by
            // the user's processes: a storm from outside can fill it. Keep
            // the signal (coalesced, as the kernel does for standard ones)
            // and try again shortly.
            Err(error) if error.raw_os_error() == Some(libc::EAGAIN) => {
                self.deferred = self.deferred.with(signal);
            }
            Err(error) => debug!(
                "forward_failed",
                [signal = signal, pid = target, error = error.to_string()],
                "could not forward {signal} to {}: {error}",
                describe_target(target)
            ),
        }
    }

    pub fn retry_deferred(&mut self) {
        let deferred = core::mem::take(&mut self.deferred);
        for signal in deferred.iter() {
            self.forward(signal, self.config.forward_to);
        }
    }

    /// Whether processes that are not grace's children are still running
    /// in its namespace. Asked only once grace has no child left, when
    /// /proc lists nothing but them, so the scan is short; each one found
    /// is watched through a pidfd from then on.
    pub fn outsiders_left(&mut self) -> bool {
        if !self.waits_for_outsiders {
            return false;
        }
        self.forget_exited_outsiders();
        if !self.outsiders.is_empty() {
            return true;
        }
        // A process that entered after the stop's signal gets it now.
        if self.draining {
            self.find_newcomers(self.config.stop_signal, false);
        }
        let Ok(members) = scope::members(Scope::Namespace, self.own_pid, None) else {
            return false;
        };
        for member in members {
            match PidFd::open(member.pid) {
                // A zombie's pidfd is readable at once, unless threads of it
                // still run (its first thread called pthread_exit).
                Ok(pidfd) if !pidfd.has_exited() => self.outsiders.push(pidfd),
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(libc::ENOSYS) => {
                    warn!(
                        "no_pidfd",
                        "pidfds need Linux 5.3: processes that are not grace's children \
                         (docker exec) are not waited for, and die with grace"
                    );
                    self.waits_for_outsiders = false;
                    self.outsiders.clear();
                    return false;
                }
                Err(_) => {}
            }
        }
        if !self.outsiders.is_empty() {
            debug!(
                "outsiders",
                [processes = self.outsiders.len()],
                "waiting for {} processes that are not grace's children{}",
                self.outsiders.len(),
                self.elapsed()
            );
        }
        !self.outsiders.is_empty()
    }

    pub fn forget_exited_outsiders(&mut self) {
        let before = self.outsiders.len();
        self.outsiders.retain(|pidfd| !pidfd.has_exited());
        if self.stop_started.is_some() {
            self.outsiders_ended += before - self.outsiders.len();
        }
    }

    /// Processes created since the signalling that nobody else will stop
    /// get the stop signal. As a subreaper, finding them means listing
    /// /proc: done only when the main process exits, the moment its
    /// helpers appear.
    fn find_newcomers(&mut self, stop_signal: Signal, main_exited: bool) {
        if self.scope == Scope::Descendants && !main_exited {
            return;
        }
        let found = self.reach.catch_up(stop_signal);
        if found > 0 {
            self.stopping = self.stopping.map(|n| n + found);
            info!(
                "signal_late",
                [
                    signal = stop_signal,
                    processes = found,
                    elapsed_ms = self.elapsed_ms()
                ],
                "stop: sent {stop_signal} to {found} processes created since{}",
                self.elapsed()
            );
        }
    }

    fn signal_main_with(&mut self, signal: Signal) {
        if !self.main_alive() {
            return;
        }
        match sys::kill(self.main_pid, signal.number()) {
            Ok(()) => {
                self.main_signalled = true;
                info!(
                    "signal_main",
                    [
                        pid = self.main_pid,
                        signal = signal,
                        elapsed_ms = self.elapsed_ms()
                    ],
                    "stop: sent {signal} to the main process {}{}",
                    self.main_pid,
                    self.elapsed()
                )
            }
            Err(error) => debug!(
                "signal_failed",
                [pid = self.main_pid, signal = signal],
                "could not signal the main process: {error}"
            ),
        }
        if procfs::read_stat(self.main_pid).is_ok_and(|stat| stat.state == 'T') {
            let _ = sys::kill(self.main_pid, SIGCONT.number());
        }
    }

    /// One atomic kill(-1) reaches every process in the namespace, including
    /// any forked while grace was deciding. Then SIGCONT, so that stopped
    /// processes can act on it.
    fn signal_namespace(&mut self, stop_signal: Signal) {
        if let Err(error) = self.reach.signal_namespace(stop_signal) {
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
        if self.main_alive() {
            self.main_signalled = true;
        }
        if let Err(error) = continued {
            debug!(
                "continue_failed",
                "cannot continue stopped processes ({error}); sending SIGCONT to all"
            );
            let _ = scope::signal_namespace(SIGCONT);
        }
        self.stopping = match (self.stopping, present) {
            (Some(before), Some(now)) => Some(before.max(now)),
            _ => None,
        };
        info!(
            "signal_all",
            [
                signal = stop_signal,
                processes = self.stopping,
                elapsed_ms = self.elapsed_ms()
            ],
            "stop: sent {stop_signal} to every process{}",
            self.elapsed()
        );
    }

    /// Everyone but the main process: the stop signal, then SIGCONT.
    fn signal_others_with(&mut self, stop_signal: Signal) {
        if self.scope == Scope::Namespace && !self.main_alive() {
            self.signal_namespace(stop_signal);
            return;
        }
        let except = self.main_alive().then_some(self.main_pid);
        match self.reach.sweep(except, &[stop_signal, SIGCONT]) {
            Ok(count) => {
                let main = usize::from(self.main_alive());
                self.stopping = self.stopping.map(|n| n.max(count + main));
                info!(
                    "signal_others",
                    [
                        signal = stop_signal,
                        processes = count,
                        elapsed_ms = self.elapsed_ms()
                    ],
                    "stop: sent {stop_signal} and SIGCONT to {count} other processes{}",
                    self.elapsed()
                );
            }
            Err(error) => {
                self.stopping = None;
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

    /// The deadline: note who is still running, SIGKILL them all, reap
    /// them, and only then say who they were. Nothing is written before
    /// the kill: at thousands of stragglers the log would hold it back.
    fn kill_and_name(&mut self, main_signal: Signal) -> sys::Result<()> {
        // Exits already waiting are no stragglers.
        for exit in self.collect_exits()? {
            self.record_exit(exit);
        }
        self.reaped_before_kill = Some(self.reaped_in_stop);
        let snapshot = self.snapshot_stragglers(main_signal);
        self.kill_everyone();
        self.wait_after_kill()?;
        self.name_the_killed(&snapshot, main_signal);
        Ok(())
    }

    /// Every process still running, with what it does with the signal it
    /// was sent: one read of /proc/PID/stat each, for as many as the log
    /// will name. As PID 1 with the default log, that is the first few:
    /// the others are only listed, since reading thousands of stat files
    /// would hold back the kill by tens of milliseconds.
    fn snapshot_stragglers(&self, main_signal: Signal) -> Snapshot {
        if self.scope == Scope::Namespace && !log::enabled(log::Level::Info) {
            return self.lean_snapshot(main_signal);
        }
        let Ok(members) = scope::members_with_dispositions(self.scope, self.own_pid) else {
            return Snapshot::default();
        };
        // A real-time stop signal is not in stat's masks: then each
        // process's status is read as well.
        let signals = SignalSet::EMPTY
            .with(self.config.stop_signal)
            .with(main_signal);
        let beyond_stat = signals.bits() & !procfs::STAT_SIGNALS != 0;
        let named = members
            .into_iter()
            .filter(|(stat, _)| stat.state != 'Z')
            .enumerate()
            .map(|(index, (stat, dispositions))| Straggler {
                command: (index < NAMED_KILLS).then(|| procfs::read_command(stat.pid, &stat.comm)),
                service: if index < NAMED_KILLS {
                    procfs::read_service(stat.pid)
                } else {
                    None
                },
                dispositions: if beyond_stat {
                    procfs::read_dispositions(stat.pid).unwrap_or(dispositions)
                } else {
                    dispositions
                },
                stat,
            })
            .collect();
        Snapshot {
            named,
            unread: Vec::new(),
        }
    }

    /// The first `NAMED_KILLS` live processes read, every other pid only
    /// listed.
    fn lean_snapshot(&self, main_signal: Signal) -> Snapshot {
        let mut snapshot = Snapshot::default();
        if !procfs::shows_own_namespace() {
            return snapshot;
        }
        let Ok(pids) = procfs::list_pids() else {
            return snapshot;
        };
        let beyond_stat = SignalSet::EMPTY
            .with(self.config.stop_signal)
            .with(main_signal)
            .bits()
            & !procfs::STAT_SIGNALS
            != 0;
        for pid in pids.into_iter().filter(|&pid| pid != self.own_pid) {
            if snapshot.named.len() >= NAMED_KILLS {
                snapshot.unread.push(pid);
                continue;
            }
            let Ok((stat, dispositions)) = procfs::read_stat_and_dispositions(pid) else {
                continue;
            };
            if stat.state == 'Z' {
                continue;
            }
            snapshot.named.push(Straggler {
                command: Some(procfs::read_command(pid, &stat.comm)),
                service: procfs::read_service(pid),
                dispositions: if beyond_stat {
                    procfs::read_dispositions(pid).unwrap_or(dispositions)
                } else {
                    dispositions
                },
                stat,
            });
        }
        snapshot
    }

    fn kill_everyone(&mut self) {
        match self.scope {
            Scope::Namespace => {
                let _ = scope::signal_namespace(SIGKILL);
            }
            Scope::Descendants => {
                let _ = Sweeper::default().sweep(self.scope, self.own_pid, None, &[SIGKILL]);
            }
        }
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
                    "processes still present {AFTER_KILL_BOUND:?} after SIGKILL; exiting anyway"
                );
                return Ok(());
            }
            if self.scope == Scope::Namespace && rounds < MAX_KILL_ROUNDS {
                let last = procfs::read_last_pid();
                if last != killed_up_to {
                    self.kill_everyone();
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

    /// The deadline's log: each killed process with what it did with the
    /// stop signal, or that it never got one. The first few by default,
    /// all of them with `-v` and in the JSON log.
    fn name_the_killed(&mut self, snapshot: &Snapshot, trigger: Signal) {
        let stragglers = &snapshot.named;
        let stop_signal = self.config.stop_signal;
        for (index, straggler) in stragglers.iter().enumerate() {
            let stat = &straggler.stat;
            let is_main = stat.pid == self.main_pid;
            let signal = if is_main { trigger } else { stop_signal };
            let signalled = if is_main {
                self.main_signalled
            } else {
                self.reach.reached(stat)
            };
            let disposition = if signalled {
                straggler.dispositions.of(signal).describe(signal)
            } else {
                format!("never sent {signal}")
            };
            let command = straggler
                .command
                .clone()
                .unwrap_or_else(|| format!("[{}]", stat.comm));
            let service = straggler.service.clone();
            let of_service = service
                .as_ref()
                .map(|name| format!(" of service {name}"))
                .unwrap_or_default();
            let level = if index < NAMED_KILLS {
                log::Level::Warn
            } else {
                log::Level::Info
            };
            if log::enabled(level) {
                log::write(
                    level,
                    "deadline_kill",
                    &[
                        ("pid", log::ToValue::to_value(&stat.pid)),
                        ("command", log::ToValue::to_value(&command)),
                        ("state", log::ToValue::to_value(&stat.state.to_string())),
                        ("signal", log::ToValue::to_value(&signal)),
                        ("signalled", log::ToValue::to_value(&signalled)),
                        ("disposition", log::ToValue::to_value(&disposition)),
                        ("service", log::ToValue::to_value(&service)),
                        ("elapsed_ms", log::ToValue::to_value(&self.elapsed_ms())),
                    ],
                    format_args!(
                        "deadline: killed {} ({command}){of_service}: state {}, {disposition}",
                        stat.pid, stat.state
                    ),
                );
            }
            self.killed_at_deadline.push((stat.pid, stat.comm.clone()));
        }
        self.killed_at_deadline
            .extend(snapshot.unread.iter().map(|&pid| (pid, String::new())));
        let unnamed = stragglers.len().saturating_sub(NAMED_KILLS) + snapshot.unread.len();
        if unnamed > 0 && !log::enabled(log::Level::Info) {
            warn!(
                "deadline_kill_more",
                [processes = unnamed],
                "deadline: killed {unnamed} more processes (-v names each)"
            );
        }
    }

    /// One line at the end of a stop: how many processes, how long, and who
    /// had to be killed.
    pub fn report(&self) {
        let Some(started) = self.stop_started else {
            return;
        };
        if !log::enabled(log::Level::Notice) {
            return;
        }
        let elapsed = started.elapsed();
        let seconds = time::decimal_seconds(elapsed, 2);
        let killed_count = self
            .reaped_before_kill
            .map_or(0, |reaped| reaped + self.killed_at_deadline.len());
        let processes = self.stopping.map(|n| {
            n.max(self.reaped_in_stop + self.outsiders_ended)
                .max(killed_count)
        });
        let what = match processes {
            Some(1) => format!("stopped 1 process in {seconds} s"),
            Some(count) if count > 0 => format!("stopped {count} processes in {seconds} s"),
            _ => format!("stopped in {seconds} s"),
        };
        let killed: Vec<i32> = self
            .killed_at_deadline
            .iter()
            .map(|(pid, _)| *pid)
            .collect();
        let fields = [
            ("processes", log::ToValue::to_value(&processes)),
            ("duration_ms", log::ToValue::to_value(&elapsed.as_millis())),
            ("killed", log::ToValue::to_value(&killed)),
            (
                "exit_code",
                log::ToValue::to_value(
                    &self
                        .main_status
                        .map(|status| status.exit_code(&self.config.success_exits)),
                ),
            ),
        ];
        if self.killed_at_deadline.is_empty() {
            log::write(
                log::Level::Notice,
                "stopped",
                &fields,
                format_args!("{what}"),
            );
        } else {
            let mut names: Vec<String> = self
                .killed_at_deadline
                .iter()
                .take(NAMED_KILLS)
                .map(|(pid, comm)| format!("{pid} ({comm})"))
                .collect();
            let unnamed = self.killed_at_deadline.len().saturating_sub(NAMED_KILLS);
            if unnamed > 0 {
                names.push(format!("and {unnamed} more"));
            }
            log::write(
                log::Level::Notice,
                "stopped",
                &fields,
                format_args!("{what}; killed at deadline: {}", names.join(", ")),
            );
        }
    }
}

impl Effects for Edge<'_> {
    fn note(&mut self, note: Note) {
        match note {
            Note::Began {
                signal,
                sender,
                main_signal,
                at,
            } => {
                self.stop_started = Some(at);
                let rewritten = if main_signal == signal {
                    String::new()
                } else {
                    format!(" (passed on as {main_signal})")
                };
                info!(
                    "stop",
                    [
                        signal = signal,
                        sender = sender,
                        main_signal = main_signal,
                        grace_period_ms = self.config.grace_period.as_millis()
                    ],
                    "stop: {signal} from {}{rewritten}; grace period {:?}",
                    describe_sender(sender),
                    self.config.grace_period
                );
            }
            Note::ServiceEnded { at } => {
                self.stop_started = Some(at);
                info!(
                    "stop",
                    [signal = None::<Signal>, service_ended = true],
                    "stop: a service ended the container; stopping everything"
                );
            }
            Note::MainLeftOthers { at } => {
                self.stop_started = Some(at);
                info!(
                    "stop",
                    [signal = None::<Signal>, main_exited = true],
                    "stop: the main process exited; stopping the processes it left"
                );
            }
            Note::Again { signal, sender } => info!(
                "stop_again",
                [
                    signal = signal,
                    sender = sender,
                    elapsed_ms = self.elapsed_ms()
                ],
                "stop: {signal} again{}; signalling everyone still running",
                self.elapsed()
            ),
            Note::PreStopEnded { pid, status } => {
                let (code, signal) = status.log_fields();
                match status {
                    WaitStatus::Exited(0) => info!(
                        "pre_stop_done",
                        [pid = pid, elapsed_ms = self.elapsed_ms()],
                        "pre-stop: done{}",
                        self.elapsed()
                    ),
                    other => warn!(
                        "pre_stop_failed",
                        [pid = pid, exit_code = code, signal = signal],
                        "pre-stop command {}",
                        other.describe()
                    ),
                }
            }
            Note::PreStopAbandoned { pid } => warn!(
                "pre_stop_abandoned",
                [pid = pid, elapsed_ms = self.elapsed_ms()],
                "pre-stop command still running at its bound; killing it and stopping now"
            ),
        }
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
                info!(
                    "pre_stop",
                    [
                        pid = started.pid,
                        command = String::from_utf8_lossy(&command).into_owned(),
                        elapsed_ms = self.elapsed_ms()
                    ],
                    "pre-stop: running {:?} as pid {}",
                    String::from_utf8_lossy(&command),
                    started.pid
                );
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

    fn kill_stragglers(&mut self, main_signal: Signal) {
        if let Err(error) = self.kill_and_name(main_signal) {
            warn!("internal", "after the deadline's kill: {error}");
        }
    }
}

fn describe_target(target: i32) -> String {
    if target < 0 {
        format!("process group {}", -target)
    } else {
        format!("pid {target}")
    }
}

/// Who sent a signal. The kernel gives pid 0 for a sender outside grace's
/// namespace: the container runtime, for `docker stop`.
fn describe_sender(sender: i32) -> String {
    if sender == 0 {
        "outside grace's PID namespace".to_string()
    } else {
        format!("pid {sender}")
    }
}
