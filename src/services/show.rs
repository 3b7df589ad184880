//! `grace status`: the state the running grace published (`published`), as a
//! table for people or JSON for scripts, and an exit code a HEALTHCHECK or
//! a readiness probe can use: 0 when every service is ready and no stop
//! has begun, 1 otherwise.
//!
//! Uptimes are this process's reading of CLOCK_MONOTONIC against the times
//! in the file: the file changes only when a state does, not every second.
//! A file whose grace no longer runs (its pid gone, or reused by a process
//! that started later) is shown as the last state, never as ready.

use core::fmt::Write as _;

use crate::base::prelude::*;

use super::published::{self, Published, ServiceStatus, State};
use crate::base::json::Value as Json;
use crate::base::signals::Signal;
use crate::base::time::Instant;
use crate::cli::StatusOptions;
use crate::process::reap::WaitStatus;
use crate::{error, sys};

/// Not every service ready, a stop begun, or no running grace publishing.
const EXIT_NOT_READY: i32 = 1;

/// Runs `grace status` and returns its exit code. `environment` is grace's
/// own, as (name, value): GRACE_RUN_DIR applies as it does to grace.
pub fn status(options: &StatusOptions, environment: &[(Vec<u8>, Vec<u8>)]) -> i32 {
    let published = match published::find_for_reader(options.run_dir.as_deref(), environment) {
        Ok((_, published)) => published,
        Err(why) => {
            error!(
                "status",
                "{why}: grace runs no services here, publishes to another --run-dir, or had \
                 nowhere to publish (its run_dir warning says why)"
            );
            return EXIT_NOT_READY;
        }
    };
    let running = published::publisher_runs(&published);
    let now = Instant::now();
    let text = if options.json {
        render_json(&published, running, now)
    } else {
        render_text(&published, running, now)
    };
    // A reader that went away is not worth an error.
    let _ = sys::write_all(libc::STDOUT_FILENO, text.as_bytes());
    exit_code(&published, running)
}

/// 0 when every service is ready, no stop has begun and the grace that
/// said so still runs.
fn exit_code(published: &Published, running: bool) -> i32 {
    if running && published.all_ready() {
        0
    } else {
        EXIT_NOT_READY
    }
}

/// `250 ms`, `12 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`.
fn duration_words(out: &mut String, ms: u64) {
    let s = ms / 1000;
    let _ = match s {
        0 => write!(out, "{ms} ms"),
        1..60 => write!(out, "{s} s"),
        60..3600 => write!(out, "{} min {} s", s / 60, s % 60),
        3600..86400 => write!(out, "{} h {} min", s / 3600, s / 60 % 60),
        _ => write!(out, "{} d {} h", s / 86400, s / 3600 % 24),
    };
}

/// How long until `at`, nothing when it has passed.
fn until(at: Instant, now: Instant) -> u64 {
    at.saturating_duration_since(now).as_millis() as u64
}

/// How long the service's process has run; None when none runs.
fn uptime(service: &ServiceStatus, now: Instant) -> Option<u64> {
    service
        .state
        .running()
        .then(|| now.saturating_duration_since(service.since).as_millis() as u64)
}

/// `ready`, `exited 1`, `killed by SIGKILL`, `restarting in 2 s`.
fn state_words(out: &mut String, state: State, now: Instant) {
    if let State::Ended(_) = state {
        out.push_str("ended, ");
    }
    match (state, state.status()) {
        (_, Some(WaitStatus::Exited(code))) => {
            let _ = write!(out, "exited {code}");
        }
        (_, Some(WaitStatus::Signaled(number))) => {
            let _ = match Signal::new(number) {
                Some(signal) => write!(out, "killed by {signal}"),
                None => write!(out, "killed by signal {number}"),
            };
        }
        (State::Restarting { at }, _) => {
            out.push_str("restarting in ");
            duration_words(out, until(at, now));
        }
        (other, _) => out.push_str(other.name()),
    }
}

/// A table, one line per service in start order, then what is wrong, if
/// anything.
pub(crate) fn render_text(published: &Published, running: bool, now: Instant) -> String {
    // The cells first, to size the columns.
    let mut cells: Vec<[String; 5]> = vec![[
        "SERVICE".into(),
        "STATE".into(),
        "PID".into(),
        "RESTARTS".into(),
        "UPTIME".into(),
    ]];
    for (service, _) in &published.services {
        let mut row: [String; 5] = Default::default();
        row[0].push_str(&crate::inspect::printable(&service.name));
        state_words(&mut row[1], service.state, now);
        match service.pid {
            Some(pid) if service.state.running() => {
                let _ = write!(row[2], "{pid}");
            }
            _ => row[2].push('-'),
        }
        let _ = write!(row[3], "{}", service.restarts);
        match uptime(service, now) {
            Some(ms) => duration_words(&mut row[4], ms),
            None => row[4].push('-'),
        }
        cells.push(row);
    }
    // Bytes for characters: names are letters, digits, - and _ (model.rs),
    // the rest is grace's own ASCII.
    let mut widths = [0; 5];
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &cells {
        for (column, cell) in row.iter().enumerate() {
            let width = widths[column];
            let _ = match column {
                0 | 1 => write!(out, "{cell:<width$}  "),
                4 => write!(out, "{cell}"),
                _ => write!(out, "{cell:>width$}  "),
            };
        }
        out.push('\n');
    }
    let count = |of: fn(&State) -> bool| {
        let services = published.services.iter();
        services.filter(|(service, _)| of(&service.state)).count()
    };
    let ready = count(|state| matches!(state, State::Ready | State::Done));
    let ended = count(|state| matches!(state, State::Ended(_)));
    if !running {
        let _ = writeln!(
            out,
            "grace (pid {}) no longer runs: this is the last state it published",
            published.grace_pid
        );
    } else if published.stopping {
        out.push_str("grace is stopping\n");
    } else {
        let _ = write!(
            out,
            "{ready} of {} services ready",
            published.services.len()
        );
        if ended > 0 {
            let _ = write!(out, ", {ended} ended");
        }
        out.push('\n');
    }
    out
}

/// The JSON document (docs/services.md).
pub(crate) fn render_json(published: &Published, running: bool, now: Instant) -> String {
    let optional = |value: Option<i64>| value.map_or(Json::Null, Json::Int);
    let services = published
        .services
        .iter()
        .map(|(service, pgid)| {
            let (code, signal) = match service.state.status() {
                Some(WaitStatus::Exited(code)) => (Some(i64::from(code)), None),
                Some(WaitStatus::Signaled(number)) => (
                    None,
                    Some(Signal::new(number).map_or_else(|| number.to_string(), |s| s.to_string())),
                ),
                _ => (None, None),
            };
            let restart_in = match service.state {
                State::Restarting { at } => Some(until(at, now) as i64),
                _ => None,
            };
            let live = service.state.running();
            Json::Obj(vec![
                ("name", Json::str(service.name.clone())),
                ("state", Json::str(service.state.name())),
                ("exit_code", optional(code)),
                ("signal", Json::opt(signal, Json::Str)),
                ("pid", optional(service.pid.filter(|_| live).map(i64::from))),
                ("pgid", optional(pgid.filter(|_| live).map(i64::from))),
                ("restarts", Json::Int(service.restarts.into())),
                (
                    "uptime_ms",
                    optional(uptime(service, now).map(|ms| ms as i64)),
                ),
                ("restart_in_ms", optional(restart_in)),
            ])
        })
        .collect();
    let document = Json::Obj(vec![
        ("version", Json::Int(published::VERSION.into())),
        ("grace_pid", Json::Int(published.grace_pid.into())),
        ("grace_running", Json::Bool(running)),
        ("stopping", Json::Bool(published.stopping)),
        ("ready", Json::Bool(exit_code(published, running) == 0)),
        ("services", Json::Arr(services)),
    ]);
    document.pretty_document()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::published::tests::every_state;

    fn published(services: Vec<ServiceStatus>, stopping: bool) -> Published {
        Published {
            grace_pid: 1,
            grace_start: 0,
            published: Instant::from_millis(0),
            stopping,
            services: services
                .into_iter()
                .map(|service| {
                    let pid = service.pid;
                    (service, pid)
                })
                .collect(),
        }
    }

    fn all_ready(now: Instant) -> Vec<ServiceStatus> {
        let mut services = every_state(now);
        for service in &mut services {
            service.state = State::Ready;
        }
        services
    }

    #[test]
    fn ready_only_when_every_service_is_and_no_stop_has_begun() {
        let now = Instant::now();
        assert_eq!(exit_code(&published(all_ready(now), false), true), 0);
        assert_eq!(exit_code(&published(Vec::new(), false), true), 0);
        assert_eq!(exit_code(&published(all_ready(now), true), true), 1);
        assert_eq!(exit_code(&published(all_ready(now), false), false), 1);
        for index in 0..every_state(now).len() {
            let mut services = all_ready(now);
            services[index].state = every_state(now)[index].state;
            let expected = i32::from(!services[index].state.counts_ready());
            assert_eq!(exit_code(&published(services, false), true), expected);
        }
    }

    #[test]
    fn the_table_says_each_state_in_words() {
        let now = Instant::from_millis(10_000_000);
        let text = render_text(&published(every_state(now), false), true, now);
        assert_eq!(
            text,
            "SERVICE  STATE              PID  RESTARTS  UPTIME\n\
             db       ready               12         0  3 min 12 s\n\
             cache    starting            13         0  1 s\n\
             web      waiting              -         0  -\n\
             helper   restarting in 2 s    -         3  -\n\
             job      exited 1             -         0  -\n\
             killed   killed by SIGKILL    -        10  -\n\
             app      stopping            30         1  2 h 0 min\n\
             migrate  done                 -         0  -\n\
             warm     ended, exited 0      -         0  -\n\
             2 of 9 services ready, 1 ended\n"
        );
        let text = render_text(&published(all_ready(now), true), true, now);
        assert!(text.ends_with("\ngrace is stopping\n"), "{text}");
        let text = render_text(&published(all_ready(now), false), false, now);
        assert!(
            text.ends_with("\ngrace (pid 1) no longer runs: this is the last state it published\n"),
            "{text}"
        );
    }

    #[test]
    fn durations_in_words() {
        let words = |ms| {
            let mut out = String::new();
            duration_words(&mut out, ms);
            out
        };
        assert_eq!(words(0), "0 ms");
        assert_eq!(words(999), "999 ms");
        assert_eq!(words(59_999), "59 s");
        assert_eq!(words(60_000), "1 min 0 s");
        assert_eq!(words(3_600_000 + 5 * 60_000), "1 h 5 min");
        assert_eq!(words(3 * 86_400_000 + 4 * 3_600_000), "3 d 4 h");
        assert_eq!(words(u64::MAX), "213503982334 d 14 h");
    }

    #[test]
    fn the_json_document_has_the_documented_shape() {
        let now = Instant::from_millis(10_000_000);
        let json = render_json(&published(every_state(now), false), true, now);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["grace_pid"], 1);
        assert_eq!(value["grace_running"], true);
        assert_eq!(value["stopping"], false);
        assert_eq!(value["ready"], false);
        let services = value["services"].as_array().unwrap();
        assert_eq!(services.len(), 9);
        assert_eq!(
            services[0],
            serde_json::json!({
                "name": "db", "state": "ready", "exit_code": null, "signal": null,
                "pid": 12, "pgid": 12, "restarts": 0, "uptime_ms": 192_000,
                "restart_in_ms": null
            })
        );
        assert_eq!(services[3]["restart_in_ms"], 2_400);
        assert_eq!(services[3]["pid"], serde_json::Value::Null);
        assert_eq!(services[4]["exit_code"], 1);
        assert_eq!(services[4]["pid"], serde_json::Value::Null);
        assert_eq!(services[5]["signal"], "SIGKILL");
        assert_eq!(services[7]["state"], "done");
        assert_eq!(services[8]["state"], "ended");
        assert_eq!(services[8]["exit_code"], 0);
        let json = render_json(&published(all_ready(now), false), true, now);
        assert!(json.contains("\"ready\": true,"), "{json}");
    }
}
