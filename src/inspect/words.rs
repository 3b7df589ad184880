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
    (signals::FIRST..=signals::LAST)
        .filter_map(Signal::new)
        .filter(|s| bits & (1 << (s.number() - 1)) != 0)
        .map(|s| s.to_string())
        .collect()
}

/// `SIGINT,SIGTERM`.
pub(super) fn signal_list(set: SignalSet) -> String {
    signal_names(set.bits()).join(",")
}
