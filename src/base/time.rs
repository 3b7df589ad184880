//! Points on the monotonic clock, for deadlines: what std's `Instant` would
//! give, without std.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

use crate::base::prelude::*;
use crate::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    pub fn now() -> Self {
        Instant(sys::monotonic_now())
    }

    /// A time that never comes: a bound that no longer applies.
    pub fn far_future() -> Self {
        Instant(Duration::MAX)
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

/// `duration` in seconds with `places` decimals (at most 9), rounded, as
/// `{:.N}` of its f64 would print it: without float formatting, which
/// costs the static binary 12 KB, nor u128 formatting and division (1.5 KB).
/// The seconds saturate at u64::MAX, which no duration grace measures nears.
pub fn decimal_seconds(duration: Duration, places: u32) -> String {
    let places = places.min(9);
    let unit = 10u32.pow(places);
    let divisor = 1_000_000_000 / unit;
    let mut whole = duration.as_secs();
    let mut fraction = (duration.subsec_nanos() + divisor / 2) / divisor;
    if fraction == unit {
        whole = whole.saturating_add(1);
        fraction = 0;
    }
    if places == 0 {
        return format!("{whole}");
    }
    format!("{whole}.{fraction:0width$}", width = places as usize)
}

/// A duration as its `{:?}` prints it (`1.5s`, `250ms`, `10µs`, `0ns`),
/// without core's Debug formatting of durations (1.8 KB of the static
/// binary): the whole units, then the fraction's digits without trailing
/// zeros.
pub struct Shown(pub Duration);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        let (whole, mut fraction, mut width, unit) = if secs > 0 {
            (secs, nanos, 9, "s")
        } else if nanos >= 1_000_000 {
            (u64::from(nanos / 1_000_000), nanos % 1_000_000, 6, "ms")
        } else if nanos >= 1_000 {
            (u64::from(nanos / 1_000), nanos % 1_000, 3, "µs")
        } else {
            (u64::from(nanos), 0, 0, "ns")
        };
        write!(f, "{whole}")?;
        if fraction > 0 {
            while fraction % 10 == 0 {
                fraction /= 10;
                width -= 1;
            }
            write!(f, ".{fraction:0width$}")?;
        }
        f.write_str(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_print_as_float_formatting_would() {
        for millis in [
            0u64, 1, 4, 5, 6, 994, 995, 999, 1000, 1399, 1500, 9_000, 61_234,
        ] {
            for extra_micros in [0u64, 1, 499, 501] {
                let d = Duration::from_millis(millis) + Duration::from_micros(extra_micros);
                for places in [2, 3] {
                    // Away from exact ties, where f64's binary value decides.
                    let expected = format!("{:.*}", places as usize, d.as_secs_f64());
                    let tie = d.as_nanos() % 10u128.pow(9 - places) == 5 * 10u128.pow(8 - places);
                    if !tie {
                        assert_eq!(decimal_seconds(d, places), expected, "{d:?} {places}");
                    }
                }
            }
        }
        assert_eq!(decimal_seconds(Duration::from_millis(1399), 3), "1.399");
        assert_eq!(decimal_seconds(Duration::from_millis(2), 0), "0");
        assert_eq!(decimal_seconds(Duration::from_millis(9_999), 2), "10.00");
        assert_eq!(
            decimal_seconds(Duration::from_nanos(1_999_999_999), 9),
            "1.999999999"
        );
    }

    #[test]
    fn shown_prints_as_debug_does() {
        for nanos in [
            0u64,
            1,
            999,
            1_000,
            1_500,
            10_000,
            999_999,
            1_000_000,
            1_000_001,
            250_000_000,
            999_999_999,
            1_000_000_000,
            1_500_000_000,
            9_000_000_000,
            61_234_000_001,
            u64::MAX,
        ] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(Shown(d).to_string(), format!("{d:?}"));
        }
        assert_eq!(
            Shown(Duration::MAX).to_string(),
            format!("{:?}", Duration::MAX)
        );
    }

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
