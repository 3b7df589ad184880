//! What grace knows of the processes it is responsible for: the main
//! process and its status, whether children are left (learned by
//! reaping), the processes entered from outside the namespace, and during
//! an ordered stop the processes whose exit the order waits for; the last
//! two it watches through pidfds since their exits are reported to
//! others.

use crate::base::prelude::*;

use crate::init::scope::{self, Scope};
use crate::process::reap::{self, Remaining};
use crate::sys::{self, PidFd};
use crate::{debug, warn};

use super::Edge;

/// How many processes an ordered stop watches through pidfds at most, so
/// that their descriptors leave grace room under a low `ulimit -n`
/// (1024): one beyond it that exits unseen still has its waiters
/// signalled at half the grace period.
const MAX_ORDER_WATCHED: usize = 256;

impl Edge<'_> {
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

    /// The pidfds of the processes the order watches, for the loop's one
    /// wait, in the order `order_polled` takes them back.
    pub fn order_watched(&self) -> impl Iterator<Item = &PidFd> {
        self.order_watched.iter().map(|(_, pidfd)| pidfd)
    }

    /// What the loop's wait said of `order_watched`'s pidfds, in their
    /// order: those readable have exited.
    pub fn order_polled(&mut self, polled: &[libc::pollfd]) {
        let mut polled = polled.iter();
        let exits = &mut self.order_exits;
        self.order_watched.retain(|(pid, _)| {
            let exited = polled.next().is_some_and(|p| p.revents != 0);
            if exited {
                exits.push(*pid);
            }
            !exited
        });
    }

    /// The exits of processes in the order that grace learned other than
    /// by reaping, since the last call.
    pub fn take_order_exits(&mut self) -> Vec<i32> {
        core::mem::take(&mut self.order_exits)
    }

    /// Watches the exits of `pids` (sorted), and no other, for the order:
    /// each that is not grace's child (whose exit grace reaps) through a
    /// pidfd, opened if its pid still names the process the order listed;
    /// one already gone is an exit at once.
    pub(super) fn watch_order_exits(&mut self, pids: &[i32]) {
        self.order_watched
            .retain(|(pid, _)| pids.binary_search(pid).is_ok());
        for &pid in pids {
            if self.order_watched.len() >= MAX_ORDER_WATCHED {
                return;
            }
            let Err(at) = self.order_watched.binary_search_by_key(&pid, |w| w.0) else {
                continue;
            };
            let Some(listed) = self.signalling.listed(pid) else {
                continue;
            };
            if listed.ppid == self.own_pid {
                continue;
            }
            match scope::open_if_same(listed) {
                Ok(Some(pidfd)) => self.order_watched.insert(at, (pid, pidfd)),
                Ok(None) => self.order_exits.push(pid),
                // No pidfds, or no descriptor left: the rest wait for half
                // the grace period at the latest.
                Err(_) => return,
            }
        }
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
        let main = exit.pid == self.main_pid && self.main_running();
        self.said_exit(exit, main);
        if main {
            self.main_status = Some(exit.status);
        }
        main
    }

    /// Nothing left to wait for: no child, and as PID 1 no other process
    /// in the namespace, once a stop runs or the main process is gone.
    pub fn finished(&mut self, stopping: bool) -> bool {
        !self.children_left && (stopping || !self.main_running()) && !self.outsiders_left()
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
            self.tally.outsiders_ended += before - self.outsiders.len();
        }
    }
}
