//! Forwarding: a signal the policy passes on goes to each recipient (the
//! main process, the services' processes), to the process or to its
//! group as `--forward-to` says; one the kernel refuses because its queue
//! of real-time signals is full is kept and tried again.
//!
//! The one place where `ForwardTo` becomes a kill target, and where the
//! refused are kept: the sending itself is handed in, so the unit tests
//! below record it.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::{Signal, SignalSet};
use crate::cli::ForwardTo;
use crate::sys;

/// How soon a forward refused by a full real-time signal queue is retried.
/// Only while such a signal is waiting does grace wake up on a timer.
pub const RETRY_DEFERRED: Duration = Duration::from_millis(10);

/// What `to` makes of a signal meant for `pid`: the process, or its group.
pub fn target(pid: i32, to: ForwardTo) -> i32 {
    match to {
        ForwardTo::Child => pid,
        ForwardTo::Group => -pid,
    }
}

/// How one forward went.
#[derive(Debug)]
pub enum Sent {
    Done,
    /// The kernel's queue was full: kept for `retry`.
    Deferred,
    Failed(sys::Error),
}

/// Signals refused for a full queue, by recipient, until they go through.
#[derive(Debug, Default)]
pub struct Forwarding {
    deferred: Vec<(i32, SignalSet)>,
}

impl Forwarding {
    /// Whether a refused signal waits (then grace wakes up on a timer).
    pub fn is_waiting(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// `signal` to `recipient` (a pid) as `to` says, with `send(target,
    /// signal)`. The kernel's queue of pending real-time signals is shared
    /// by the user's processes: a storm from outside can fill it. A signal
    /// refused then is kept (coalesced, as the kernel does for standard
    /// ones) and tried again by `retry`.
    pub fn forward(
        &mut self,
        signal: Signal,
        to: ForwardTo,
        recipient: i32,
        send: &mut impl FnMut(i32, Signal) -> sys::Result<()>,
    ) -> Sent {
        match send(target(recipient, to), signal) {
            Ok(()) => Sent::Done,
            Err(error) if error.raw_os_error() == Some(libc::EAGAIN) => {
                match self.deferred.iter_mut().find(|(pid, _)| *pid == recipient) {
                    Some((_, signals)) => *signals = signals.with(signal),
                    None => self
                        .deferred
                        .push((recipient, SignalSet::EMPTY.with(signal))),
                }
                Sent::Deferred
            }
            Err(error) => Sent::Failed(error),
        }
    }

    /// The refused signals, to whichever of their recipients are still
    /// among `recipients` (a reaped pid may be someone else's by now).
    /// Calls `each(recipient, signal)` for each, which forwards it again.
    pub fn retry(&mut self, recipients: &[i32], mut each: impl FnMut(i32, Signal)) {
        for (recipient, signals) in core::mem::take(&mut self.deferred) {
            if !recipients.contains(&recipient) {
                continue;
            }
            for signal in signals.iter() {
                each(recipient, signal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGHUP;

    fn rt(offset: i32) -> Signal {
        Signal::new(34 + offset).unwrap()
    }

    #[test]
    fn forward_to_says_process_or_group() {
        assert_eq!(target(7, ForwardTo::Child), 7);
        assert_eq!(target(7, ForwardTo::Group), -7);
    }

    #[test]
    fn a_refused_signal_is_kept_per_recipient_and_retried_only_to_the_living() {
        let mut sent: Vec<(i32, Signal)> = Vec::new();
        // The queue is full for all but 9.
        let mut send = |target: i32, signal: Signal| {
            if target != -9 {
                return Err(sys::Error::from_raw_os_error(libc::EAGAIN));
            }
            sent.push((target, signal));
            Ok(())
        };
        let mut forwarding = Forwarding::default();
        for signal in [rt(1), rt(1), rt(2)] {
            for recipient in [5, 9, 11] {
                forwarding.forward(signal, ForwardTo::Group, recipient, &mut send);
            }
        }
        assert!(forwarding.is_waiting());
        assert_eq!(sent, [(-9, rt(1)), (-9, rt(1)), (-9, rt(2))]);
        // 11 was reaped meanwhile: its pid is nobody's to be sent to.
        let mut again = Vec::new();
        forwarding.retry(&[5, 9], |recipient, signal| again.push((recipient, signal)));
        assert_eq!(again, [(5, rt(1)), (5, rt(2))], "coalesced, 11 dropped");
        assert!(!forwarding.is_waiting());
    }

    #[test]
    fn other_failures_are_not_kept() {
        let mut forwarding = Forwarding::default();
        let mut send = |_: i32, _: Signal| Err(sys::Error::from_raw_os_error(libc::ESRCH));
        let outcome = forwarding.forward(SIGHUP, ForwardTo::Child, 5, &mut send);
        assert!(matches!(outcome, Sent::Failed(_)));
        assert!(!forwarding.is_waiting());
    }
}
