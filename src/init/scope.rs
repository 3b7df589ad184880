//! Which processes a stop reaches, and how they are signalled.
//!
//! As PID 1 of its namespace, grace is responsible for every process in it,
//! and `kill(-1, …)` reaches them all in one atomic call, setsid'd daemons and
//! orphans included. When grace is not PID 1 (a shared PID namespace, a pod,
//! `--pid=host`), `kill(-1)` would hit other containers, so grace reaches its
//! own descendants only: found through /proc's parent links and signalled
//! through pidfds, so that a pid reused between reading /proc and signalling
//! is never hit.

use crate::base::prelude::*;

use crate::base::signals::{SIGCONT, Signal};
use crate::process::procfs::{self, Dispositions, Stat};
use crate::sys::{self, PidFd};

/// How many times a sweep re-reads /proc looking for processes forked while
/// it was signalling. A fork bomb must not keep grace sweeping past its
/// deadline.
const MAX_SWEEP_ROUNDS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// grace is PID 1: every process in the namespace.
    Namespace,
    /// grace is a subreaper: its descendants only.
    Descendants,
}

impl Scope {
    pub fn for_pid(pid: i32) -> Self {
        if pid == 1 {
            Scope::Namespace
        } else {
            Scope::Descendants
        }
    }
}

/// The processes in `scope`, other than grace itself and `except`.
pub fn members(scope: Scope, own_pid: i32, except: Option<i32>) -> sys::Result<Vec<Stat>> {
    let mut chosen: Vec<Stat> = members_with_dispositions(scope, own_pid)?
        .into_iter()
        .map(|(stat, _)| stat)
        .collect();
    chosen.retain(|stat| Some(stat.pid) != except);
    Ok(chosen)
}

/// The processes in `scope` but grace, each with its signal dispositions,
/// from one read of /proc/PID/stat apiece.
pub fn members_with_dispositions(
    scope: Scope,
    own_pid: i32,
) -> sys::Result<Vec<(Stat, Dispositions)>> {
    if !procfs::shows_own_namespace() {
        return Err(sys::Error::with_detail(
            libc::ENOENT,
            "/proc is not mounted for grace's PID namespace",
        ));
    }
    // A process may exit between the listing and the read: it is simply
    // no longer a member.
    let all: Vec<(Stat, Dispositions)> = procfs::list_pids()?
        .into_iter()
        .filter_map(|pid| procfs::read_stat_and_dispositions(pid).ok())
        .collect();
    let mut chosen = match scope {
        Scope::Namespace => all,
        Scope::Descendants => descendants_of(own_pid, all),
    };
    chosen.retain(|(stat, _)| stat.pid != own_pid);
    Ok(chosen)
}

fn descendants_of<T>(root: i32, mut rest: Vec<(Stat, T)>) -> Vec<(Stat, T)> {
    // No map from parent to children: a BTreeMap of members was 3 KB of
    // the binary, and one pass over the rest per parent is fast enough for
    // the processes of a container.
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        let mut i = 0;
        while i < rest.len() {
            if rest[i].0.ppid == parent {
                let child = rest.remove(i);
                queue.push(child.0.pid);
                found.push(child);
            } else {
                i += 1;
            }
        }
    }
    found
}

/// Signals every member of a scope exactly once, re-reading /proc until a
/// round finds nobody new, so processes forked mid-sweep are not missed.
#[derive(Debug, Default)]
pub struct Sweeper {
    /// Whom it signalled, by (pid, start time): a process's identity
    /// across pid reuse.
    sent: Sent,
}

impl Sweeper {
    /// Sends each of `signals` in turn to every member, once in this
    /// sweep (one signalled before, by an ordered stop or a first sweep,
    /// gets it again: a second stop signal means everyone); returns how
    /// many processes were signalled.
    pub fn sweep(
        &mut self,
        scope: Scope,
        own_pid: i32,
        except: Option<i32>,
        signals: &[Signal],
    ) -> sys::Result<usize> {
        let mut total = 0;
        // Sorted, as `Sent::swept` is, for the same reason.
        let mut signalled_now: Vec<i32> = Vec::new();
        for round in 0..MAX_SWEEP_ROUNDS {
            let mut new = 0;
            for member in members(scope, own_pid, except)? {
                if signalled_now.binary_search(&member.pid).is_ok() || member.state == 'Z' {
                    continue;
                }
                // A process that appeared under a parent this sweep has
                // signalled was most likely started by that parent's
                // handler, as part of its cleanup: as with kill(-1), it is
                // the parent's to stop.
                if round > 0 && signalled_now.binary_search(&member.ppid).is_ok() {
                    continue;
                }
                if signal_if_same(&member, signals) {
                    self.sent.record_swept(&member, signals[0]);
                    if let Err(at) = signalled_now.binary_search(&member.pid) {
                        signalled_now.insert(at, member.pid);
                    }
                    new += 1;
                }
            }
            total += new;
            if new == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// Opens a pidfd on `member`, checks that the pid still names the process
/// that was read from /proc (same start time), and signals through the
/// pidfd. False when the process is gone (a zombie included) or the pid
/// was reused.
fn signal_if_same(member: &Stat, signals: &[Signal]) -> bool {
    let Ok(Some(pidfd)) = open_if_same(member) else {
        return false;
    };
    signals
        .iter()
        .all(|signal| pidfd.send_signal(signal.number()).is_ok())
}

/// A pidfd on `member` if its pid still names the process read from
/// /proc (same start time) and it has not exited (None: gone, a zombie,
/// or the pid reused); an error other than its absence (no pidfds, no
/// descriptor left) as such.
pub fn open_if_same(member: &Stat) -> sys::Result<Option<PidFd>> {
    let pidfd = match PidFd::open(member.pid) {
        Ok(pidfd) => pidfd,
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(procfs::read_stat(member.pid)
        .is_ok_and(|now| now.start_time == member.start_time && now.state != 'Z')
        .then_some(pidfd))
}

/// What a stop sent to whom, in one place: the stop's own signalling
/// (kill(-1), sweeps, newcomers, the main process) and the services' stop
/// (each service's signal, to its process and then to its group; taken
/// in with `absorb`) write here, and the deadline reads it to say
/// truthfully whether, and with what, each straggler was signalled.
#[derive(Debug, Default)]
pub struct Sent {
    /// Processes a sweep or catch-up signalled, by (pid, start time): a
    /// process's identity across pid reuse. All got `swept_with`. Kept
    /// sorted (smaller in the binary than a BTreeSet of its own).
    swept: Vec<(i32, u64)>,
    swept_with: Option<Signal>,
    /// The few processes signalled on their own: the main process, the
    /// services'. (pid, start time, signal).
    processes: Vec<(i32, u64, Signal)>,
    /// Process groups signalled at once: (group, the namespace's last pid
    /// just before, the signal). A member with a pid up to that one was
    /// present, and got it.
    groups: Vec<(i32, i32, Signal)>,
    /// Every process with a pid up to this one, present when the last
    /// kill(-1) went out, got this signal.
    namespace: Option<(i32, Signal)>,
}

/// One signal sent, as `Sent` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentTo {
    /// To one process, known by (pid, start time).
    Process { pid: i32, start_time: u64 },
    /// To a process group; `up_to`: the namespace's last pid just before.
    Group { group: i32, up_to: i32 },
}

impl SentTo {
    pub fn of(process: &Stat) -> Self {
        SentTo::Process {
            pid: process.pid,
            start_time: process.start_time,
        }
    }
}

impl Sent {
    pub fn record(&mut self, to: SentTo, signal: Signal) {
        match to {
            SentTo::Process { pid, start_time } => self.processes.push((pid, start_time, signal)),
            SentTo::Group { group, up_to } => self.groups.push((group, up_to, signal)),
        }
    }

    /// What `other` recorded, recorded here too.
    pub fn absorb(&mut self, other: &mut Sent) {
        self.processes.append(&mut other.processes);
        self.groups.append(&mut other.groups);
    }

    fn record_swept(&mut self, process: &Stat, signal: Signal) {
        let key = (process.pid, process.start_time);
        if let Err(at) = self.swept.binary_search(&key) {
            self.swept.insert(at, key);
        }
        self.swept_with = Some(signal);
    }

    fn record_namespace(&mut self, up_to: i32, signal: Signal) {
        let up_to = self
            .namespace
            .map_or(up_to, |(before, _)| before.max(up_to));
        self.namespace = Some((up_to, signal));
    }

    /// The signal the stop sent `process`, if it sent one: the last sent to
    /// it alone first, then its group's, then kill(-1)'s.
    pub fn to(&self, process: &Stat) -> Option<Signal> {
        for &(pid, start_time, signal) in self.processes.iter().rev() {
            if pid == process.pid && start_time == process.start_time {
                return Some(signal);
            }
        }
        if self.contains(process.pid, process.start_time) {
            return self.swept_with;
        }
        for &(group, up_to, signal) in self.groups.iter().rev() {
            if group == process.pgrp && process.pid <= up_to {
                return Some(signal);
            }
        }
        match self.namespace {
            Some((up_to, signal)) if process.pid <= up_to => Some(signal),
            _ => None,
        }
    }

    fn contains(&self, pid: i32, start_time: u64) -> bool {
        self.swept.binary_search(&(pid, start_time)).is_ok()
    }
}

/// Sends `signal` to `target` (a pid, or a negative process group), then
/// SIGCONT so that a stopped process can act on it; returns what `Sent`
/// must record, None when nothing was sent. The process is identified
/// before the kill, when its pid still names it.
pub fn send(target: i32, signal: Signal) -> Option<SentTo> {
    let to = if target < 0 {
        Some(SentTo::Group {
            group: -target,
            up_to: procfs::read_last_pid().unwrap_or(i32::MAX),
        })
    } else {
        procfs::read_stat(target).ok().map(|stat| SentTo::of(&stat))
    };
    let sent = sys::kill(target, signal.number()).is_ok();
    let _ = sys::kill(target, SIGCONT.number());
    to.filter(|_| sent)
}

/// The stop's signalling: it reaches the scope's processes, records whom
/// (in `Sent`), and gives the stop signal to processes that appear later.
///
/// As PID 1, one kill(-1) reaches every process present (the kernel holds
/// off forks while it runs), and pids grow: the namespace's last pid, read
/// around that kill, separates the processes it reached from those created
/// after. Newcomers are found by trying just the pids handed out since,
/// which costs nothing while no process is created. As a subreaper, every
/// process is signalled one by one and remembered.
#[derive(Debug)]
pub struct Signalling {
    scope: Scope,
    own_pid: i32,
    /// Processes signalled one by one, and in its `Sent`, everything the
    /// stop sent.
    sweeper: Sweeper,
    /// The highest pid already looked at for newcomers (None: the
    /// namespace's last pid cannot be read, and newcomers are not sought).
    frontier: Option<i32>,
    /// Pids that had no process yet when tried: a fork still in progress
    /// holds its pid before the process can be signalled. Tried once more.
    unsettled: Vec<i32>,
    /// Newcomers whose parent still runs, looked at again each time.
    waiting: Vec<i32>,
    /// The processes an ordered stop listed, by pid: it signals them as
    /// its order releases them, so none of them is a newcomer.
    listed: Vec<Stat>,
}

/// How many pids are kept for another look: a fork flood must not make
/// the lists grow without bound.
const MAX_PENDING: usize = 1024;

impl Signalling {
    pub fn new(scope: Scope, own_pid: i32) -> Self {
        Signalling {
            scope,
            own_pid,
            sweeper: Sweeper::default(),
            frontier: None,
            unsettled: Vec::new(),
            waiting: Vec::new(),
            listed: Vec::new(),
        }
    }

    /// `kill(-1, signal)`, remembering which pids it reached.
    pub fn signal_namespace(&mut self, signal: Signal) -> sys::Result<()> {
        // Read before, not after: grace may be put off the CPU between the
        // kill and a read after it, while new processes keep coming. A pid
        // handed out in between, by a fork that finished just before the
        // kill, counts as a newcomer; catch_up signals only the orphaned
        // or entered among them, so a second signal is all but impossible.
        let reached = procfs::read_last_pid();
        let result = signal_namespace(signal);
        if let Some(reached) = reached {
            self.sweeper.sent.record_namespace(reached, signal);
            self.frontier = self.frontier.max(Some(reached));
        }
        result
    }

    /// Sends `signals` to every member but `except`; returns how many were
    /// signalled.
    pub fn sweep(&mut self, except: Option<i32>, signals: &[Signal]) -> sys::Result<usize> {
        if self.scope == Scope::Namespace && self.frontier.is_none() {
            // Everyone the sweep lists has a pid up to this one; later ones
            // are newcomers.
            self.frontier = procfs::read_last_pid();
        }
        self.sweeper
            .sweep(self.scope, self.own_pid, except, signals)
    }

    /// Gives `stop_signal` (and SIGCONT if stopped) to the processes
    /// created since the stop's signal went out that nobody else will
    /// stop: orphans (grace is their parent now) and processes entered
    /// from outside the namespace. One whose parent still runs is left to
    /// that parent: it may be the very cleanup the parent's handler
    /// started, and it is looked at again once orphaned. Returns how many
    /// were signalled.
    pub fn catch_up(&mut self, stop_signal: Signal) -> usize {
        if self.scope == Scope::Descendants {
            return self.catch_up_descendants(stop_signal);
        }
        let Some(frontier) = self.frontier else {
            return 0;
        };
        let Some(last) = procfs::read_last_pid() else {
            return 0;
        };
        // Pids wrap at pid_max; past the wrap every pid is new again.
        let first = if last < frontier { 1 } else { frontier + 1 };
        let retry = core::mem::take(&mut self.unsettled);
        let waiting = core::mem::take(&mut self.waiting);
        let mut found = 0;
        for pid in waiting.into_iter().chain(retry).chain(first..=last) {
            found += usize::from(self.reach_newcomer(pid, stop_signal));
        }
        self.frontier = Some(last);
        found
    }

    fn catch_up_descendants(&mut self, stop_signal: Signal) -> usize {
        let Ok(members) = members(self.scope, self.own_pid, None) else {
            return 0;
        };
        let mut found = 0;
        for member in &members {
            if member.ppid == self.own_pid
                && member.state != 'Z'
                && !self.sweeper.sent.contains(member.pid, member.start_time)
                && self
                    .listed(member.pid)
                    .is_none_or(|listed| listed.start_time != member.start_time)
                && signal_if_same(member, &[stop_signal, SIGCONT])
            {
                self.sweeper.sent.record_swept(member, stop_signal);
                found += 1;
            }
        }
        found
    }

    /// Signals `pid` if it is a newcomer nobody else will stop.
    fn reach_newcomer(&mut self, pid: i32, stop_signal: Signal) -> bool {
        if pid == self.own_pid {
            return false;
        }
        let pidfd = match PidFd::open(pid) {
            Ok(pidfd) => pidfd,
            Err(error) => {
                // ESRCH: gone already, or a fork that has not finished.
                // EINVAL: a thread, not a process.
                if error.raw_os_error() == Some(libc::ESRCH) && self.unsettled.len() < MAX_PENDING {
                    self.unsettled.push(pid);
                }
                return false;
            }
        };
        let Ok(stat) = procfs::read_stat(pid) else {
            return false;
        };
        if stat.state == 'Z' || self.sweeper.sent.contains(pid, stat.start_time) {
            return false;
        }
        // ppid 0: the parent lives outside the namespace (`docker exec`).
        let unowned = stat.ppid == self.own_pid || stat.ppid == 0;
        if !unowned {
            if self.waiting.len() < MAX_PENDING {
                self.waiting.push(pid);
            }
            return false;
        }
        if pidfd.send_signal(stop_signal.number()).is_err() {
            return false;
        }
        if stat.state == 'T' {
            let _ = pidfd.send_signal(SIGCONT.number());
        }
        self.sweeper.sent.record_swept(&stat, stop_signal);
        true
    }

    /// The processes an ordered stop will signal one by one are about to
    /// be listed: pids handed out from now on are newcomers.
    pub fn before_listing(&mut self) {
        if self.scope == Scope::Namespace && self.frontier.is_none() {
            self.frontier = procfs::read_last_pid();
        }
    }

    /// The processes the ordered stop listed, in pid order.
    pub fn set_listed(&mut self, listed: Vec<Stat>) {
        self.listed = listed;
    }

    /// The listed process `pid`, as listed.
    pub fn listed(&self, pid: i32) -> Option<&Stat> {
        let at = self
            .listed
            .binary_search_by_key(&pid, |stat| stat.pid)
            .ok()?;
        Some(&self.listed[at])
    }

    /// `signal` and SIGCONT to the listed process `pid`, if its pid still
    /// names it and it has not exited; recorded like a sweep's. Whether
    /// it was signalled.
    pub fn signal_listed(&mut self, pid: i32, signal: Signal) -> bool {
        let Ok(at) = self.listed.binary_search_by_key(&pid, |stat| stat.pid) else {
            return false;
        };
        let process = &self.listed[at];
        let reached = signal_if_same(process, &[signal, SIGCONT]);
        if reached {
            self.sweeper.sent.record_swept(process, signal);
        }
        reached
    }

    /// What the stop sent to whom.
    pub fn sent(&self) -> &Sent {
        &self.sweeper.sent
    }

    /// Records a signal sent elsewhere (the main process's).
    pub fn record(&mut self, to: SentTo, signal: Signal) {
        self.sweeper.sent.record(to, signal);
    }

    /// Takes in what the services' stop recorded.
    pub fn absorb(&mut self, other: &mut Sent) {
        self.sweeper.sent.absorb(other);
    }
}

/// Sends SIGCONT to every stopped member, so that a process stopped by
/// SIGSTOP or Ctrl-Z can act on the stop signal it was just sent; running
/// processes are not disturbed.
pub fn continue_stopped(scope: Scope, own_pid: i32) -> sys::Result<()> {
    for member in members(scope, own_pid, None)?
        .iter()
        .filter(|m| m.state == 'T')
    {
        signal_if_same(member, &[SIGCONT]);
    }
    Ok(())
}

/// `kill(-1, signal)`: every process in the namespace but grace itself.
pub fn signal_namespace(signal: Signal) -> sys::Result<()> {
    match sys::kill(-1, signal.number()) {
        // ESRCH: there was nobody left to signal.
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: i32, ppid: i32) -> Stat {
        Stat {
            pid,
            comm: format!("p{pid}"),
            state: 'S',
            ppid,
            pgrp: pid,
            session: pid,
            start_time: 100 + pid as u64,
        }
    }

    #[test]
    fn what_kill_minus_one_and_sweeps_sent_is_known_by_pid_and_identity() {
        let mut sent = Sent::default();
        sent.record_namespace(20, SIGCONT);
        sent.record_swept(&stat(30, 1), SIGCONT);
        assert_eq!(sent.to(&stat(20, 1)), Some(SIGCONT), "present at kill(-1)");
        assert_eq!(sent.to(&stat(21, 1)), None, "created after it");
        assert_eq!(sent.to(&stat(30, 1)), Some(SIGCONT), "swept");
        let reused = Stat {
            start_time: 1,
            ..stat(30, 1)
        };
        assert_eq!(sent.to(&reused), None, "the pid of a swept process, reused");
        // A later kill(-1) reaches further, never less far.
        sent.record_namespace(10, SIGCONT);
        assert_eq!(sent.to(&stat(20, 1)), Some(SIGCONT));
        // What the services' stop recorded is taken in.
        let mut services = Sent::default();
        services.record(SentTo::of(&stat(40, 1)), SIGCONT);
        sent.absorb(&mut services);
        assert_eq!(sent.to(&stat(40, 1)), Some(SIGCONT));
    }

    #[test]
    fn descendants_follow_parent_links_only() {
        // 1 is the namespace's init, 10 is grace, 20 a bystander beside it.
        let all = vec![
            stat(1, 0),
            stat(10, 1),
            stat(20, 1),
            stat(11, 10),
            stat(12, 11),
            stat(13, 12),
            stat(21, 20),
            stat(14, 10),
        ];
        let all = all.into_iter().map(|stat| (stat, ())).collect();
        let mut pids: Vec<i32> = descendants_of(10, all).iter().map(|s| s.0.pid).collect();
        pids.sort();
        assert_eq!(pids, [11, 12, 13, 14]);
    }
}
