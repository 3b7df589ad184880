//! Waiting with a bound: every wait in a test ends by a condition or by
//! failing, never by a sleep that guesses the machine's speed.

use std::fs;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before it fails. It only
/// turns a hang into a failure: whatever a test waits for is either due by
/// a deadline grace controls (its grace period, 9 s by default, plus
/// `AFTER_KILL`), or a single event that takes milliseconds. Work that
/// takes the machine's time, such as thousands of processes, is waited for
/// with `wait_for_work`.
pub const BOUND: Duration = Duration::from_secs(20);

/// grace's own bound on waiting for what it SIGKILLed at its deadline
/// (AFTER_KILL_BOUND in src/init/): an exit after a deadline kill
/// is due by the deadline plus this. Timings are asserted against grace's
/// own timeline like this, never against a guess of the machine's speed.
pub const AFTER_KILL: Duration = Duration::from_secs(1);

/// scripts/soak sets GRACE_SOAK_SCALE to multiply every flood; CI runs 1.
pub fn soak_scale() -> usize {
    std::env::var("GRACE_SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// `BOUND`, stretched by the soak scale: a flood ten times larger may take
/// ten times longer to make.
pub(super) fn scaled_bound() -> Duration {
    BOUND * u32::try_from(soak_scale()).unwrap_or(u32::MAX)
}

/// Polls `condition` until it holds or `BOUND` (times the soak scale)
/// passes.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + scaled_bound();
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `remaining` (how much of some work is left) until it is 0, for
/// work whose length is the machine's speed times its size: starting or
/// reaping thousands of processes. A loaded machine may take as long as it
/// needs; only a stall fails, when `BOUND` passes without a new low.
pub fn wait_for_work(what: &str, mut remaining: impl FnMut() -> usize) {
    let mut low = usize::MAX;
    let mut stalled_by = Instant::now() + BOUND;
    loop {
        let left = remaining();
        if left == 0 {
            return;
        }
        if left < low {
            low = left;
            stalled_by = Instant::now() + BOUND;
        }
        assert!(
            Instant::now() < stalled_by,
            "timed out waiting for {what}: {left} left, none done in {BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn wait_for_file(path: &Path) -> String {
    wait_until(&format!("{}", path.display()), || path.exists());
    fs::read_to_string(path).expect("read marker")
}

/// The exit status of `child`, which must exit within `BOUND` (times the
/// soak scale).
pub fn wait_exit(child: &mut Child, what: &str) -> ExitStatus {
    let mut status = None;
    wait_until(what, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    status.expect("wait_until returns once it holds")
}
