//! Kill and name: SIGKILL for processes that outlived their time, and a
//! log record for each, one bounded mechanism for the stop's deadline
//! (everyone left in the stop's scope) and a service's `stop_timeout`
//! (its process group).
//!
//! Who is about to die is read before the kill (after it they are gone):
//! the command line, service and dispositions of the first
//! `NAMED_KILLS`, and nothing more than a pid or a stat line of the rest.
//! Nothing is written before the kill: at thousands of processes the log
//! would hold it back. The records then say, for each, what the stop had
//! sent it (from `scope::Sent`) and what it did with it.

use crate::base::prelude::*;
use alloc::borrow::Cow;

use crate::base::log;
use crate::base::signals::{SIGKILL, Signal, SignalSet};
use crate::init::scope::{self, Scope, Sent, Sweeper};
use crate::process::procfs::{self, Dispositions, Stat};
use crate::sys;

/// How many killed processes are read in full and named one by one at
/// the default log level; beyond that, one line counts the rest (`-v` and
/// the JSON log list them all).
pub const NAMED_KILLS: usize = 10;

/// Whom a kill reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whom {
    /// Every process of the stop's scope but grace (`own_pid`).
    Scope { scope: Scope, own_pid: i32 },
    /// One process group: a service's.
    Group(i32),
}

/// Who is about to be killed: those the log names, read just before, and
/// the rest, only listed.
#[derive(Debug, Default)]
pub struct Snapshot {
    named: Vec<Straggler>,
    unread: Vec<i32>,
}

/// One process about to be killed, as it was just before.
#[derive(Debug, Clone)]
pub struct Straggler {
    pub stat: Stat,
    pub dispositions: Dispositions,
    /// Read for the first few only: the kill must not wait for thousands.
    pub command: Option<String>,
    /// The service it came from, where its environment says (read with
    /// the command).
    pub service: Option<String>,
}

/// Why processes are killed: which record the log gets.
#[derive(Debug, Clone, Copy)]
pub enum Why<'a> {
    /// The stop's grace period is over.
    Deadline { elapsed_ms: Option<u128> },
    /// A service overran its `stop_timeout`.
    StopTimeout { service: &'a str },
}

impl Snapshot {
    /// Reads who `whom` holds, with their dispositions of `signals`. With
    /// `lean`, as PID 1 at the default log level, only the first
    /// `NAMED_KILLS` pids are read at all, since reading thousands of stat
    /// files would hold back the kill by tens of milliseconds; otherwise
    /// each is read once (its stat), and the first few in full.
    pub fn take(whom: Whom, signals: SignalSet, lean: bool) -> Snapshot {
        let mut snapshot = Snapshot::default();
        if !procfs::shows_own_namespace() {
            return snapshot;
        }
        // A real-time signal is not in stat's masks: then each named
        // process's status is read as well.
        let beyond_stat = signals.bits() & !procfs::STAT_SIGNALS != 0;
        let members: Vec<(Stat, Dispositions)> = match whom {
            Whom::Scope {
                scope: Scope::Descendants,
                own_pid,
            } => scope::members_with_dispositions(Scope::Descendants, own_pid).unwrap_or_default(),
            _ => {
                let (own_pid, group) = match whom {
                    Whom::Scope { own_pid, .. } => (own_pid, None),
                    Whom::Group(group) => (0, Some(group)),
                };
                let mut members = Vec::new();
                for pid in procfs::list_pids().unwrap_or_default() {
                    if pid == own_pid {
                        continue;
                    }
                    if lean && members.len() >= NAMED_KILLS {
                        snapshot.unread.push(pid);
                        continue;
                    }
                    let Ok(member) = procfs::read_stat_and_dispositions(pid) else {
                        continue;
                    };
                    if member.0.state != 'Z' && group.is_none_or(|group| member.0.pgrp == group) {
                        members.push(member);
                    }
                }
                members
            }
        };
        for (stat, dispositions) in members {
            if stat.state == 'Z' {
                continue;
            }
            let full = snapshot.named.len() < NAMED_KILLS;
            snapshot.named.push(Straggler {
                command: full.then(|| procfs::read_command(stat.pid, &stat.comm)),
                service: full.then(|| procfs::read_service(stat.pid)).flatten(),
                dispositions: if full && beyond_stat {
                    procfs::read_dispositions(stat.pid).unwrap_or(dispositions)
                } else {
                    dispositions
                },
                stat,
            });
        }
        snapshot
    }

    /// How many it holds.
    pub fn len(&self) -> usize {
        self.named.len() + self.unread.len()
    }
}

/// SIGKILL to everyone `whom` holds: one kill(-1) or kill(-group), or as a
/// subreaper a pidfd sweep of the descendants.
pub fn kill(whom: Whom) {
    match whom {
        Whom::Scope {
            scope: Scope::Namespace,
            ..
        } => {
            let _ = scope::signal_namespace(SIGKILL);
        }
        Whom::Scope { scope, own_pid } => {
            let _ = Sweeper::default().sweep(scope, own_pid, None, &[SIGKILL]);
        }
        Whom::Group(group) => {
            let _ = sys::kill(-group, SIGKILL.number());
        }
    }
}

/// One killed process as its log record says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed<'a> {
    pub pid: i32,
    pub command: Cow<'a, str>,
    pub state: char,
    /// The signal it was sent, or was due.
    pub signal: Signal,
    /// Whether it was sent `signal`.
    pub signalled: bool,
    /// What it does with `signal`, or that it never got it.
    pub disposition: String,
    pub service: Option<&'a str>,
}

impl Killed<'_> {
    /// `straggler`, which was due `due` and was sent `sent` (None: nothing).
    pub fn of(straggler: &Straggler, due: Signal, sent: Option<Signal>) -> Killed<'_> {
        let stat = &straggler.stat;
        let signal = sent.unwrap_or(due);
        let disposition = if sent.is_some() {
            straggler.dispositions.of(signal).describe(signal)
        } else {
            format!("never sent {signal}")
        };
        Killed {
            pid: stat.pid,
            command: match &straggler.command {
                Some(command) => Cow::Borrowed(command),
                None => Cow::Owned(format!("[{}]", stat.comm)),
            },
            state: stat.state,
            signal,
            signalled: sent.is_some(),
            disposition,
            service: straggler.service.as_deref(),
        }
    }
}

/// The log's record of each killed process: the first `NAMED_KILLS` as
/// warnings, the rest with `-v` (always in the JSON log's count).
/// `due`: the signal each was due, but the main process (pid, signal) its
/// own; `sent`: what the stop sent. Returns (pid, command name) of each,
/// for the summary.
pub fn name(
    snapshot: &Snapshot,
    why: Why<'_>,
    due: Signal,
    main: Option<(i32, Signal)>,
    sent: &Sent,
) -> Vec<(i32, String)> {
    // The event, then the keys of the values below (see `log::write_named`).
    let (names, more, lead, lead_name) = match why {
        Why::Deadline { .. } => (
            "deadline_kill,pid,command,state,signal,signalled,disposition,service,elapsed_ms",
            "deadline_kill_more,processes",
            "deadline",
            "",
        ),
        Why::StopTimeout { service } => (
            "service_kill,pid,command,state,signal,signalled,disposition,service,elapsed_ms",
            "service_kill_more,processes",
            "stop_timeout of service ",
            service,
        ),
    };
    let elapsed_ms = match why {
        Why::Deadline { elapsed_ms } => elapsed_ms,
        Why::StopTimeout { .. } => None,
    };
    let mut killed = Vec::with_capacity(snapshot.len());
    for (index, straggler) in snapshot.named.iter().enumerate() {
        let stat = &straggler.stat;
        let level = if index < NAMED_KILLS {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        if log::enabled(level) {
            let due = match main {
                Some((pid, signal)) if pid == stat.pid => signal,
                _ => due,
            };
            let record = Killed::of(straggler, due, sent.to(stat));
            // A deadline's record says whose service a process came from;
            // a service's kill says it first.
            let (of, of_name) = match (why, record.service) {
                (Why::Deadline { .. }, Some(service)) => (" of service ", service),
                _ => ("", ""),
            };
            let service = match why {
                Why::Deadline { .. } => record.service,
                Why::StopTimeout { service } => Some(service),
            };
            let Killed {
                pid,
                command,
                state,
                signal,
                signalled,
                disposition,
                ..
            } = &record;
            log::write_named(
                level,
                names,
                &[
                    pid,
                    &&**command,
                    &state.to_string(),
                    signal,
                    signalled,
                    disposition,
                    &service,
                    &elapsed_ms,
                ],
                format_args!(
                    "{lead}{lead_name}: killed {pid} ({command}){of}{of_name}: state {state}, {disposition}"
                ),
            );
        }
        killed.push((stat.pid, stat.comm.clone()));
    }
    for &pid in &snapshot.unread {
        killed.push((pid, String::new()));
    }
    let unnamed = snapshot.len().saturating_sub(NAMED_KILLS);
    if unnamed > 0 && !log::enabled(log::Level::Info) {
        log::write_named(
            log::Level::Warn,
            more,
            &[&unnamed],
            format_args!("{lead}{lead_name}: killed {unnamed} more processes (-v names each)"),
        );
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGINT, SIGTERM};
    use crate::init::scope::SentTo;

    fn straggler(pid: i32, caught: u64, ignored: u64) -> Straggler {
        Straggler {
            stat: Stat {
                pid,
                comm: "probe".to_string(),
                state: 'S',
                ppid: 1,
                pgrp: pid,
                session: pid,
                start_time: 1000 + pid as u64,
            },
            dispositions: Dispositions {
                blocked: 0,
                ignored,
                caught,
            },
            command: Some(format!("probe {pid}")),
            service: None,
        }
    }

    const TERM: u64 = 1 << 14;
    const INT: u64 = 1 << 1;

    #[test]
    fn a_killed_process_is_said_to_do_what_it_does_with_what_it_was_sent() {
        let handler = straggler(5, TERM | INT, 0);
        let record = Killed::of(&handler, SIGTERM, Some(SIGINT));
        assert_eq!(record.signal, SIGINT, "the signal it was sent");
        assert!(record.signalled);
        assert_eq!(record.disposition, "handles SIGINT");

        let ignorer = straggler(6, 0, TERM);
        let record = Killed::of(&ignorer, SIGTERM, Some(SIGTERM));
        assert_eq!(record.disposition, "ignores SIGTERM");
        assert_eq!(record.command, "probe 6");

        let record = Killed::of(&ignorer, SIGTERM, None);
        assert!(!record.signalled);
        assert_eq!(record.disposition, "never sent SIGTERM");
        // Beyond the first few, the kernel's name only.
        let unread = Straggler {
            command: None,
            ..ignorer
        };
        assert_eq!(Killed::of(&unread, SIGTERM, None).command, "[probe]");
    }

    #[test]
    fn what_was_sent_is_found_by_process_then_by_group() {
        let mut sent = Sent::default();
        let one = straggler(10, 0, 0).stat;
        let member = Stat {
            pid: 12,
            pgrp: 10,
            ..straggler(12, 0, 0).stat
        };
        let later = Stat {
            pid: 40,
            pgrp: 10,
            ..straggler(40, 0, 0).stat
        };
        assert_eq!(sent.to(&one), None);
        sent.record(SentTo::of(&one), SIGINT);
        sent.record(
            SentTo::Group {
                group: 10,
                up_to: 30,
            },
            SIGTERM,
        );
        assert_eq!(sent.to(&one), Some(SIGINT));
        assert_eq!(sent.to(&member), Some(SIGTERM));
        assert_eq!(sent.to(&later), None, "created after the group's signal");
        // The same pid, another process: not the one signalled.
        let reused = Stat {
            start_time: 1,
            pgrp: 99,
            ..one.clone()
        };
        assert_eq!(sent.to(&reused), None);
    }
}
