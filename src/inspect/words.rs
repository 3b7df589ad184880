//! Words shared by the plan and the verdicts: a process's label, a
//! duration, a set of signals.

use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::{self, Signal, SignalSet};

use super::collect::Process;
use super::printable;

/// `pid (comm)`, for verdicts.
pub(super) fn label(p: &Process) -> String {
    format!("{} ({})", p.pid, printable(&p.comm))
}

/// `3 s`, `1.5 s`, `500 ms`.
pub(super) fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        return format!("{} ms", duration.subsec_millis());
    }
    let text = crate::base::time::decimal_seconds(duration, 3);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

/// The signals in `bits` (as `SignalSet::bits`), by name.
pub(super) fn signal_names(bits: u64) -> Vec<String> {
    // A loop, not a filtering collect, which would repeat its body.
    let mut names = Vec::new();
    for s in (signals::FIRST..=signals::LAST).filter_map(Signal::new) {
        if bits & (1 << (s.number() - 1)) != 0 {
            names.push(s.to_string());
        }
    }
    names
}

/// `SIGINT,SIGTERM`.
pub(super) fn signal_list(set: SignalSet) -> String {
    signal_names(set.bits()).join(",")
}
