//! The clocks: monotonic for deadlines, wall-clock for log timestamps.

use core::time::Duration;

/// clock_gettime(2) of `clock`, as time since its epoch.
fn clock(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a live timespec for the kernel to fill; these clocks always
    // exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut now) };
    // A wall clock set before 1970 reads as 1970.
    Duration::new(u64::try_from(now.tv_sec).unwrap_or(0), now.tv_nsec as u32)
}

/// CLOCK_MONOTONIC: for deadlines, immune to the wall clock being set.
pub fn monotonic_now() -> Duration {
    clock(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME: for timestamps in logs.
pub fn wall_clock_now() -> Duration {
    clock(libc::CLOCK_REALTIME)
}
