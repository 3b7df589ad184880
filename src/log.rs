//! grace's own messages: one line each on stderr, prefixed `grace:`.
//!
//! Writing never fails from grace's point of view: as PID 1, a closed or
//! broken stderr must not cost the container its init, so errors are dropped.
//! Each line goes out in a single write(2) so lines from grace and the
//! command do not interleave mid-line.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    /// The default also shows notices such as the shutdown summary.
    Notice = 2,
    Info = 3,
    Debug = 4,
}

static THRESHOLD: AtomicU8 = AtomicU8::new(Level::Notice as u8);

/// `quiet` shows errors only; each `-v` adds a level above the default.
pub fn set_verbosity(quiet: bool, verbose: u8) {
    let level = if quiet {
        Level::Error as u8
    } else {
        (Level::Notice as u8)
            .saturating_add(verbose)
            .min(Level::Debug as u8)
    };
    THRESHOLD.store(level, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= THRESHOLD.load(Ordering::Relaxed)
}

/// Writes one line; the macros check `enabled` first so that a message
/// that will not be shown costs nothing, its arguments included.
pub fn write(level: Level, message: fmt::Arguments<'_>) {
    let prefix = match level {
        Level::Error => "grace: error: ",
        Level::Warn => "grace: warning: ",
        _ => "grace: ",
    };
    let line = format!("{prefix}{message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Error) {
            $crate::log::write($crate::log::Level::Error, format_args!($($arg)*))
        }
    };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Warn) {
            $crate::log::write($crate::log::Level::Warn, format_args!($($arg)*))
        }
    };
}
#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Notice) {
            $crate::log::write($crate::log::Level::Notice, format_args!($($arg)*))
        }
    };
}
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Info) {
            $crate::log::write($crate::log::Level::Info, format_args!($($arg)*))
        }
    };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::Debug) {
            $crate::log::write($crate::log::Level::Debug, format_args!($($arg)*))
        }
    };
}
