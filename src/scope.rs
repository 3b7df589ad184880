//! Which processes a stop reaches, and how they are signalled.
//!
//! As PID 1 of its namespace, grace is responsible for every process in it,
//! and `kill(-1, …)` reaches them all in one atomic call, setsid'd daemons and
//! orphans included. When grace is not PID 1 (a shared PID namespace, a pod,
//! `--pid=host`), `kill(-1)` would hit other containers, so grace reaches its
//! own descendants only: found through /proc's parent links and signalled
//! through pidfds, so that a pid reused between reading /proc and signalling
//! is never hit.

use crate::prelude::*;

use crate::procfs::{self, Stat};
use crate::signals::Signal;
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
    if !procfs::shows_own_namespace() {
        return Err(sys::Error::with_detail(
            libc::ENOENT,
            "/proc is not mounted for grace's PID namespace",
        ));
    }
    // A process may exit between the listing and the read: it is simply
    // no longer a member.
    let all: Vec<Stat> = procfs::list_pids()?
        .into_iter()
        .filter_map(|pid| procfs::read_stat(pid).ok())
        .collect();
    let mut chosen = match scope {
        Scope::Namespace => all,
        Scope::Descendants => descendants_of(own_pid, all),
    };
    chosen.retain(|stat| stat.pid != own_pid && Some(stat.pid) != except);
    Ok(chosen)
}

fn descendants_of(root: i32, all: Vec<Stat>) -> Vec<Stat> {
    let mut children: BTreeMap<i32, Vec<Stat>> = BTreeMap::new();
    for stat in all {
        children.entry(stat.ppid).or_default().push(stat);
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            queue.push(child.pid);
            found.push(child);
        }
    }
    found
}

/// Signals every member of a scope exactly once, re-reading /proc until a
/// round finds nobody new, so processes forked mid-sweep are not missed.
#[derive(Debug, Default)]
pub struct Sweeper {
    /// (pid, start time): a process's identity across pid reuse.
    signalled: BTreeSet<(i32, u64)>,
}

impl Sweeper {
    /// Sends each of `signals` in turn to every member not yet signalled;
    /// returns how many processes were newly signalled.
    pub fn sweep(
        &mut self,
        scope: Scope,
        own_pid: i32,
        except: Option<i32>,
        signals: &[Signal],
    ) -> sys::Result<usize> {
        let mut total = 0;
        for _ in 0..MAX_SWEEP_ROUNDS {
            let mut new = 0;
            for member in members(scope, own_pid, except)? {
                let identity = (member.pid, member.start_time);
                if self.signalled.contains(&identity) || member.state == 'Z' {
                    continue;
                }
                if signal_if_same(&member, signals) {
                    self.signalled.insert(identity);
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
/// pidfd. False when the process is gone or the pid was reused.
fn signal_if_same(member: &Stat, signals: &[Signal]) -> bool {
    let Ok(pidfd) = PidFd::open(member.pid) else {
        return false;
    };
    match procfs::read_stat(member.pid) {
        Ok(now) if now.start_time == member.start_time => {}
        _ => return false,
    }
    signals
        .iter()
        .all(|signal| pidfd.send_signal(signal.number()).is_ok())
}

/// Sends SIGCONT to every stopped member, so that a process stopped by
/// SIGSTOP or Ctrl-Z can act on the stop signal it was just sent; running
/// processes are not disturbed.
pub fn continue_stopped(scope: Scope, own_pid: i32) -> sys::Result<()> {
    for member in members(scope, own_pid, None)?
        .iter()
        .filter(|m| m.state == 'T')
    {
        signal_if_same(member, &[crate::signals::SIGCONT]);
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
        let mut pids: Vec<i32> = descendants_of(10, all).iter().map(|s| s.pid).collect();
        pids.sort();
        assert_eq!(pids, [11, 12, 13, 14]);
    }
}
