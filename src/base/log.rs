//! grace's own messages on stderr: one line each, either text prefixed
//! `grace:` for people, or one JSON object per line for log pipelines
//! (`--log-format json`, schema in docs/logging.md).
//!
//! Every message names an event (`stop`, `forward`, `deadline_kill`, …) and
//! may carry fields (`pid`, `signal`, …): text shows only the message, JSON
//! shows everything. JSON lines are written by `crate::base::json`, the writer
//! `grace inspect --json` uses too.
//!
//! Writing never fails nor waits from grace's point of view: as PID 1, a
//! closed, broken or full stderr must not cost the container its init.
//! Once grace runs as an init (`never_block`), lines go through a
//! `crate::base::sink::Sink`: written at once when there is room, else queued
//! (64 KiB at most) and written when the event loop sees POLLOUT; a line
//! that does not fit is dropped whole and counted, and the count is said
//! (`log_dropped`) as soon as the queue has drained. At exit, `finish`
//! gives the queue a bounded time. Before that (a usage error, the
//! short-lived tools) a line is one blocking write(2). Either way a line
//! goes out whole, so lines from grace and the command do not interleave
//! mid-line.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use core::time::Duration;

use crate::base::prelude::*;

use crate::base::json;
use crate::base::signals::Signal;
use crate::base::sink::{QUEUE_LIMIT, Sink};
use crate::sys::{self, RawFd};

/// A field's value in a log line.
pub use crate::base::json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    /// The default also shows notices such as the shutdown summary.
    Notice = 2,
    Info = 3,
    Debug = 4,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `grace: message`, for people.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

impl core::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "invalid log format '{other}': expected text or json"
            )),
        }
    }
}

static THRESHOLD: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static FORMAT: AtomicU8 = AtomicU8::new(0);

/// `quiet` shows errors only; each `-v` adds a level above the default. The
/// default is notices for text, and also the stop's timeline (info) for
/// JSON, which pipelines filter by level anyway.
pub fn configure(format: Format, quiet: bool, verbose: u8) {
    FORMAT.store(format as u8, Ordering::Relaxed);
    let default = match format {
        Format::Text => Level::Notice,
        Format::Json => Level::Info,
    };
    let level = if quiet {
        Level::Error as u8
    } else {
        (default as u8)
            .saturating_add(verbose)
            .min(Level::Debug as u8)
    };
    THRESHOLD.store(level, Ordering::Relaxed);
}

/// Switches the format alone (for errors met before the rest is known).
pub fn set_format(format: Format) {
    FORMAT.store(format as u8, Ordering::Relaxed);
}

pub fn current_format() -> Format {
    if FORMAT.load(Ordering::Relaxed) == Format::Json as u8 {
        Format::Json
    } else {
        Format::Text
    }
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= THRESHOLD.load(Ordering::Relaxed)
}

/// What may be given as a field in the log macros.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_value!(i32, u32, i64, u64, usize, u8, u128);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Str(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
}

impl ToValue for Signal {
    fn to_value(&self) -> Value {
        Value::Str(self.to_string())
    }
}

impl ToValue for [i32] {
    fn to_value(&self) -> Value {
        Value::Arr(self.iter().map(|&n| Value::Int(n.into())).collect())
    }
}

impl ToValue for Vec<i32> {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(value) => value.to_value(),
            None => Value::Null,
        }
    }
}

/// Writes one line if its level is shown. The macros call it whatever the
/// level: asking here rather than at each of their hundred call sites saves
/// 1 KB, and what a line that is not shown still costs is its arguments
/// (a few strings, at events that are rare; no system call). `names`
/// is the event then the fields' keys, joined by commas (one static string
/// to set up at each call site), and `values` the fields' values in that
/// order: they are turned into values here, once, rather than at each of
/// the hundred call sites (where building and dropping them cost 8 KB).
pub fn write_named(
    level: Level,
    names: &'static str,
    values: &[&dyn ToValue],
    message: fmt::Arguments<'_>,
) {
    if enabled(level) {
        write_always(level, names, values, message);
    }
}

/// `write_named` whatever the threshold.
pub fn write_always(
    level: Level,
    names: &'static str,
    values: &[&dyn ToValue],
    message: fmt::Arguments<'_>,
) {
    let mut names = names.split(',');
    let event = names.next().unwrap_or_default();
    let fields: Vec<(&str, Value)> = names
        .zip(values)
        .map(|(key, value)| (key, value.to_value()))
        .collect();
    out(level, event, &fields, message);
}

fn out(level: Level, event: &str, fields: &[(&str, Value)], message: fmt::Arguments<'_>) {
    let line = render(
        current_format(),
        level,
        event,
        fields,
        message,
        sys::wall_clock_now(),
    );
    if !NEVER_BLOCK.load(Ordering::Relaxed) {
        let _ = sys::write_all(libc::STDERR_FILENO, line.as_bytes());
        return;
    }
    // Taken only by a line written while one is being written, which
    // grace never does (and another thread, in the unit tests): dropped.
    let _ = OWN.with(|own| own.line(line.as_bytes()));
}

/// At grace's exit, how long the lines still queued for grace's stdout and
/// stderr (its own, and the services') may take to be written out. A reader
/// that is alive takes 64 KiB in far less; one that is stalled would not
/// take it in seconds either, and a container stop must not wait for it.
pub const LAST_LINES: Duration = Duration::from_millis(200);

/// From now on, grace's lines never wait for stderr: called once grace is
/// going to be an init, before anything starts.
pub fn never_block() {
    NEVER_BLOCK.store(true, Ordering::Relaxed);
}

/// POLLOUT on stderr while lines wait for room: appended to `out`.
pub fn watch(out: &mut Vec<libc::pollfd>) {
    let _ = OWN.with(|own| {
        if let Some(sink) = &own.sink {
            sink.watch(out);
        }
    });
}

/// After a poll that watched `watch`'s descriptor: whether `fd` is it (and
/// then what waited is written, as much as fits).
pub fn on_ready(fd: RawFd) -> bool {
    OWN.with(|own| {
        let Some(sink) = &mut own.sink else {
            return false;
        };
        if sink.poll_fd() != Some(fd) {
            return false;
        }
        own.flush();
        true
    })
    .unwrap_or(false)
}

/// At grace's exit: what is queued, within `budget`; then the rest is
/// given up (there is nowhere left to say so).
pub fn finish(budget: Duration) {
    let start = sys::monotonic_now();
    let _ = OWN.with(|own| {
        let mut fds = Vec::new();
        loop {
            own.flush();
            let Some(sink) = &mut own.sink else {
                return;
            };
            fds.clear();
            sink.watch(&mut fds);
            let left = budget.saturating_sub(sys::monotonic_now().saturating_sub(start));
            if fds.is_empty() || left.is_zero() {
                sink.discard();
                return;
            }
            // Whatever the poll says, the next flush asks again.
            let _ = sys::poll(&mut fds, Some(left));
        }
    });
}

/// Whether lines go through `OWN` (see the module doc).
static NEVER_BLOCK: AtomicBool = AtomicBool::new(false);
static OWN: sys::Exclusive<Own> = sys::Exclusive::new(Own {
    sink: None,
    dropped: 0,
});

/// grace's own lines on their way to stderr.
struct Own {
    /// Opened at the first line (and then `Way::Gone` if stderr is closed).
    sink: Option<Sink>,
    /// Lines dropped since the last `log_dropped`.
    dropped: usize,
}

impl Own {
    fn line(&mut self, line: &[u8]) {
        let sink = self
            .sink
            .get_or_insert_with(|| Sink::open(libc::STDERR_FILENO));
        if sink.queued() + line.len() > QUEUE_LIMIT {
            self.dropped += 1;
            return;
        }
        sink.room().extend_from_slice(line);
        self.flush();
    }

    /// Writes what fits; once everything has, says how many lines were
    /// dropped before.
    fn flush(&mut self) {
        let Some(sink) = &mut self.sink else {
            return;
        };
        sink.flush();
        sink.release();
        if self.dropped == 0 || sink.queued() > 0 || sink.poll_fd().is_none() {
            return;
        }
        let dropped = core::mem::take(&mut self.dropped);
        let line = render(
            current_format(),
            Level::Warn,
            "log_dropped",
            &[("lines", dropped.to_value())],
            format_args!("dropped {dropped} of grace's own lines: stderr was full"),
            sys::wall_clock_now(),
        );
        sink.room().extend_from_slice(line.as_bytes());
        sink.flush();
    }
}

/// One line, newline included.
pub fn render(
    format: Format,
    level: Level,
    event: &str,
    fields: &[(&str, Value)],
    message: fmt::Arguments<'_>,
    now: Duration,
) -> String {
    match format {
        Format::Text => {
            let prefix = match level {
                Level::Error => "grace: error: ",
                Level::Warn => "grace: warning: ",
                _ => "grace: ",
            };
            format!("{prefix}{message}\n")
        }
        Format::Json => {
            let mut line = String::with_capacity(160);
            line.push_str("{\"time\":");
            json::string(&utc_timestamp(now), &mut line);
            line.push_str(",\"level\":");
            json::string(level.name(), &mut line);
            line.push_str(",\"event\":");
            json::string(event, &mut line);
            line.push_str(",\"message\":");
            json::string(&message.to_string(), &mut line);
            for (key, value) in fields {
                line.push(',');
                json::string(key, &mut line);
                line.push(':');
                value.write(&mut line);
            }
            line.push_str("}\n");
            line
        }
    }
}

/// `2025-01-31T12:34:56.789Z` for a time `since` the Unix epoch: UTC,
/// milliseconds, RFC 3339.
pub fn utc_timestamp(since: Duration) -> String {
    let seconds = since.as_secs();
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// well-known era-based conversion: 400-year eras of 146,097 days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The body of the level macros: `EVENT, [key = value, ...], FORMAT, ARGS`,
/// `EVENT, FORMAT, ARGS`, or a lone `FORMAT` (event `message`).
#[macro_export]
macro_rules! log_at {
    ($level:ident, $event:literal, [$($key:ident = $value:expr),* $(,)?], $($arg:tt)+) => {
        $crate::base::log::write_named(
            $crate::base::log::Level::$level,
            concat!($event $(, ",", stringify!($key))*),
            &[$(&$value as &dyn $crate::base::log::ToValue),*],
            format_args!($($arg)+),
        )
    };
    ($level:ident, $event:literal, $format:literal $(, $arg:expr)* $(,)?) => {
        $crate::base::log::write_named(
            $crate::base::log::Level::$level,
            $event,
            &[],
            format_args!($format $(, $arg)*),
        )
    };
    // A message alone, event "message" (for modules that predate events).
    ($level:ident, $format:literal) => {
        $crate::base::log::write_named($crate::base::log::Level::$level, "message", &[], format_args!($format))
    };
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log_at!(Error, $($arg)+) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log_at!(Warn, $($arg)+) };
}
#[macro_export]
macro_rules! notice {
    ($($arg:tt)+) => { $crate::log_at!(Notice, $($arg)+) };
}
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log_at!(Info, $($arg)+) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log_at!(Debug, $($arg)+) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64, millis: u64) -> Duration {
        Duration::from_secs(seconds) + Duration::from_millis(millis)
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(utc_timestamp(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            utc_timestamp(at(951_782_400, 5)),
            "2000-02-29T00:00:00.005Z"
        );
        assert_eq!(
            utc_timestamp(at(1_700_000_000, 123)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            utc_timestamp(at(4_102_444_799, 999)),
            "2099-12-31T23:59:59.999Z"
        );
        // Every day of 1970..2100 follows the one before it.
        let mut previous = String::new();
        for day in 0..47_482u64 {
            let stamp = utc_timestamp(at(day * 86_400, 0));
            assert!(stamp > previous, "{stamp} after {previous}");
            previous = stamp;
        }
    }

    #[test]
    fn text_lines_are_prefixed_and_json_lines_carry_fields() {
        let fields = [
            ("pid", 42.to_value()),
            ("signal", crate::base::signals::SIGTERM.to_value()),
            ("killed", vec![3, 4].to_value()),
            ("command", Some("a \"b\"").to_value()),
            ("nothing", None::<i32>.to_value()),
        ];
        let time = at(1_700_000_000, 123);
        let text = render(
            Format::Text,
            Level::Warn,
            "deadline_kill",
            &fields,
            format_args!("x {}", 1),
            time,
        );
        assert_eq!(text, "grace: warning: x 1\n");
        let json = render(
            Format::Json,
            Level::Warn,
            "deadline_kill",
            &fields,
            format_args!("x {}", 1),
            time,
        );
        assert_eq!(
            json,
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"level\":\"warn\",\
             \"event\":\"deadline_kill\",\"message\":\"x 1\",\"pid\":42,\
             \"signal\":\"SIGTERM\",\"killed\":[3,4],\"command\":\"a \\\"b\\\"\",\
             \"nothing\":null}\n"
        );
    }

    #[test]
    fn lines_that_do_not_fit_are_dropped_whole_and_counted_once_drained() {
        let (reader, writer) = sys::pipe().unwrap();
        let mut own = Own {
            sink: Some(Sink::open(writer.raw())),
            dropped: 0,
        };
        // Nobody reads: the pipe fills, then the queue; nothing waits.
        let line = format!("grace: {}\n", "x".repeat(90));
        for _ in 0..3000 {
            own.line(line.as_bytes());
        }
        assert!(own.dropped > 0);
        let sink = own.sink.as_ref().unwrap();
        assert!(sink.queued() <= QUEUE_LIMIT && sink.queued().is_multiple_of(line.len()));
        // Now it is read: every line whole, then the count.
        let mut got = Vec::new();
        let mut buffer = [0u8; 65536];
        loop {
            while let Ok(Some(n @ 1..)) = sys::read_some(reader.raw(), &mut buffer) {
                got.extend_from_slice(&buffer[..n]);
            }
            if own.sink.as_ref().unwrap().queued() == 0 {
                break;
            }
            own.flush();
        }
        let text = String::from_utf8(got).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (last, written) = lines.split_last().unwrap();
        assert!(written.iter().all(|l| format!("{l}\n") == line));
        let dropped = 3000 - written.len();
        assert!(last.contains(&format!("dropped {dropped} ")), "{last}");
        assert_eq!(own.dropped, 0);
    }

    #[test]
    fn json_shows_the_timeline_by_default() {
        configure(Format::Json, false, 0);
        assert!(enabled(Level::Info) && !enabled(Level::Debug));
        configure(Format::Text, false, 0);
        assert!(enabled(Level::Notice) && !enabled(Level::Info));
        configure(Format::Text, false, 9);
        assert!(enabled(Level::Debug));
        configure(Format::Json, true, 3);
        assert!(enabled(Level::Error) && !enabled(Level::Warn));
        configure(Format::Text, false, 0);
    }
}
