//! Points on the monotonic clock, for deadlines: what std's `Instant` would
//! give, without std.

use core::ops::{Add, Sub};
use core::time::Duration;

use crate::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    pub fn now() -> Self {
        Instant(sys::monotonic_now())
    }

    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// Milliseconds on CLOCK_MONOTONIC, which every process on the host
    /// reads alike: how another process (`grace status`) is told when
    /// something happened.
    pub fn as_millis(&self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// The instant `as_millis` gave.
    pub fn from_millis(millis: u64) -> Self {
        Instant(Duration::from_millis(millis))
    }

    /// Zero when `earlier` is in fact later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, duration: Duration) -> Instant {
        Instant(self.0.saturating_add(duration))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, duration: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let now = Instant::now();
        let later = now + Duration::from_secs(2);
        assert_eq!(later - now, Duration::from_secs(2));
        assert_eq!(now - later, Duration::ZERO);
        assert!(now.elapsed() < Duration::from_secs(60));
        assert_eq!((later - Duration::from_secs(2)), now);
        let whole = Instant::from_millis(now.as_millis());
        assert_eq!(Instant::from_millis(whole.as_millis()), whole);
        assert!(now - whole < Duration::from_millis(1));
    }
}
