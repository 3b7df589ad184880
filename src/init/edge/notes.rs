//! The wording of every line the edge logs: the stop's notes, the
//! signalling, exits, forwarding, and the summary line at the end (its
//! text a pure function, tested). The deadline's records of the killed
//! are `init::kill`'s.

use crate::base::prelude::*;

use crate::base::signals::Signal;
use crate::base::{log, time};
use crate::init::kill::NAMED_KILLS;
use crate::init::order::Why;
use crate::init::shutdown::StopNote;
use crate::process::reap::{self, WaitStatus};
use crate::{debug, info, warn};

use super::Edge;
use super::forward::Sent;

impl Edge<'_> {
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

    pub(super) fn say(&self, note: StopNote) {
        match note {
            StopNote::Began {
                signal,
                sender,
                main_signal,
                ..
            } => {
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
                    "stop: {signal} from {}{rewritten}; grace period {}",
                    describe_sender(sender),
                    time::Shown(self.config.grace_period)
                );
            }
            StopNote::ServiceEnded { .. } => info!(
                "stop",
                [signal = None::<Signal>, service_ended = true],
                "stop: a service ended the container; stopping everything"
            ),
            StopNote::MainLeftOthers { .. } => info!(
                "stop",
                [signal = None::<Signal>, main_exited = true],
                "stop: the main process exited; stopping the processes it left"
            ),
            StopNote::Again { signal, sender } => info!(
                "stop_again",
                [
                    signal = signal,
                    sender = sender,
                    elapsed_ms = self.elapsed_ms()
                ],
                "stop: {signal} again{}; signalling everyone still running",
                self.elapsed()
            ),
            StopNote::PreStopEnded { pid, status } => {
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
            StopNote::PreStopAbandoned { pid } => warn!(
                "pre_stop_abandoned",
                [pid = pid, elapsed_ms = self.elapsed_ms()],
                "pre-stop command still running at its bound; killing it and stopping now"
            ),
            StopNote::OrderUnread => warn!(
                "stop_order_unread",
                [elapsed_ms = self.elapsed_ms()],
                "stop order: could not read the processes; stopping as main-first"
            ),
            StopNote::Waited { due } => {
                let (after, late) = match due.why {
                    Why::Released(after) => (after, false),
                    Why::Late(after) => (after, true),
                    Why::AtOnce => return,
                };
                let name = |pid: i32| {
                    self.signalling
                        .listed(pid)
                        .map_or(String::new(), |stat| stat.comm.clone())
                };
                let (command, after_command) = (name(due.pid), name(after.pid));
                let when = if late {
                    "at half the grace period, still waiting for"
                } else {
                    "after"
                };
                info!(
                    "stop_ordered",
                    [
                        pid = due.pid,
                        command = command.clone(),
                        after = after.pid,
                        after_command = after_command.clone(),
                        reason = after.reason.name(),
                        late = late,
                        elapsed_ms = self.elapsed_ms()
                    ],
                    "stop: signalled {} ({command}) {when} {} ({after_command}){}: {}{}",
                    due.pid,
                    after.pid,
                    if late { "" } else { " exited" },
                    after.reason.words(),
                    self.elapsed()
                );
            }
        }
    }

    pub(super) fn said_pre_stop(&self, command: &[u8], pid: i32) {
        info!(
            "pre_stop",
            [
                pid = pid,
                command = String::from_utf8_lossy(command).into_owned(),
                elapsed_ms = self.elapsed_ms()
            ],
            "pre-stop: running {} as pid {}",
            crate::base::quoted::Quoted(&String::from_utf8_lossy(command)),
            pid
        );
    }

    pub(super) fn said_exit(&self, exit: reap::Exit, main: bool) {
        let (code, signal) = exit.status.log_fields();
        if main {
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
        } else {
            // `-w` makes it a warning, without the stop's time.
            let (level, what) = if self.config.warn_on_reap {
                (log::Level::Warn, "reaped zombie process")
            } else {
                (log::Level::Debug, "reaped process")
            };
            if log::enabled(level) {
                let elapsed = match level {
                    log::Level::Warn => String::new(),
                    _ => self.elapsed(),
                };
                log::write_named(
                    level,
                    "reaped,pid,exit_code,signal",
                    &[&exit.pid, &code, &signal],
                    format_args!("{what} {} ({}){elapsed}", exit.pid, exit.status.describe()),
                );
            }
        }
    }

    pub(super) fn said_signal_late(&self, signal: Signal, found: usize) {
        info!(
            "signal_late",
            [
                signal = signal,
                processes = found,
                elapsed_ms = self.elapsed_ms()
            ],
            "stop: sent {signal} to {found} processes created since{}",
            self.elapsed()
        );
    }

    pub(super) fn said_signal_main(&self, signal: Signal) {
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
        );
    }

    pub(super) fn said_signal_all(&self, signal: Signal) {
        info!(
            "signal_all",
            [
                signal = signal,
                processes = self.tally.signalled,
                elapsed_ms = self.elapsed_ms()
            ],
            "stop: sent {signal} to every process{}",
            self.elapsed()
        );
    }

    pub(super) fn said_signal_others(&self, signal: Signal, count: usize) {
        info!(
            "signal_others",
            [
                signal = signal,
                processes = count,
                elapsed_ms = self.elapsed_ms()
            ],
            "stop: sent {signal} and SIGCONT to {count} other processes{}",
            self.elapsed()
        );
    }

    pub(super) fn said_main_gone(&self, signal: Signal) {
        debug!(
            "not_forwarded",
            [signal = signal],
            "received {signal}; the main process is gone, not forwarded"
        );
    }

    pub(super) fn said_forwarded(&self, signal: Signal, target: i32, sent: Sent) {
        match sent {
            Sent::Done => debug!(
                "forward",
                [signal = signal, pid = target],
                "forwarded {signal} to {}",
                describe_target(target)
            ),
            Sent::Deferred => {}
            Sent::Failed(error) => debug!(
                "forward_failed",
                [signal = signal, pid = target, error = error.to_string()],
                "could not forward {signal} to {}: {error}",
                describe_target(target)
            ),
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
        let processes = self.tally.processes(self.killed_at_deadline.len());
        let killed: Vec<i32> = self
            .killed_at_deadline
            .iter()
            .map(|(pid, _)| *pid)
            .collect();
        let exit_code = self
            .main_status
            .map(|status| status.exit_code(&self.config.success_exits));
        log::write_named(
            log::Level::Notice,
            "stopped,processes,duration_ms,killed,exit_code",
            &[&processes, &elapsed.as_millis(), &killed, &exit_code],
            format_args!(
                "{}",
                summary(
                    processes,
                    &time::decimal_seconds(elapsed, 2),
                    &self.killed_at_deadline
                )
            ),
        );
    }
}

/// The summary line's text: `processes` stopped in `seconds`, and the
/// first few of `killed` (pid, command name) by name.
fn summary(processes: Option<usize>, seconds: &str, killed: &[(i32, String)]) -> String {
    let what = match processes {
        Some(1) => format!("stopped 1 process in {seconds} s"),
        Some(count) if count > 0 => format!("stopped {count} processes in {seconds} s"),
        _ => format!("stopped in {seconds} s"),
    };
    if killed.is_empty() {
        return what;
    }
    let mut names: Vec<String> = killed
        .iter()
        .take(NAMED_KILLS)
        .map(|(pid, comm)| format!("{pid} ({comm})"))
        .collect();
    let unnamed = killed.len().saturating_sub(NAMED_KILLS);
    if unnamed > 0 {
        names.push(format!("and {unnamed} more"));
    }
    format!("{what}; killed at deadline: {}", names.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_and_names_the_first_few_killed() {
        assert_eq!(summary(Some(1), "0.50", &[]), "stopped 1 process in 0.50 s");
        assert_eq!(
            summary(Some(3), "1.00", &[]),
            "stopped 3 processes in 1.00 s"
        );
        assert_eq!(summary(Some(0), "0.01", &[]), "stopped in 0.01 s");
        assert_eq!(summary(None, "0.01", &[]), "stopped in 0.01 s");
        let killed: Vec<(i32, String)> = (1..=12).map(|pid| (pid, "sh".to_string())).collect();
        assert_eq!(
            summary(Some(12), "9.00", &killed[..2]),
            "stopped 12 processes in 9.00 s; killed at deadline: 1 (sh), 2 (sh)"
        );
        let line = summary(Some(12), "9.00", &killed);
        assert!(line.ends_with("10 (sh), and 2 more"), "{line}");
    }

    #[test]
    fn senders_and_targets_in_words() {
        assert_eq!(describe_sender(0), "outside grace's PID namespace");
        assert_eq!(describe_sender(42), "pid 42");
        assert_eq!(describe_target(-7), "process group 7");
        assert_eq!(describe_target(7), "pid 7");
    }
}
