//! The services' state, published by the running grace for `grace status`
//! and `grace inspect` to read: a small text file in the run directory
//! (`rundir` says which), replaced whole on every change, and a
//! `ready` file that exists while every service is ready and no stop has
//! begun. A file rather than a socket: PID 1 serves nobody, and a reader
//! that hangs or floods cannot touch it.
//!
//! The file (docs/services.md), one record a line, fields separated by a
//! tab, `-` for a value that does not apply:
//!
//! ```text
//! grace-status 1
//! grace PID START_TICKS PUBLISHED_MS STOPPING
//! service NAME STATE STATUS PID PGID RESTARTS SINCE_MS RESTART_AT_MS
//! ```
//!
//! Times are CLOCK_MONOTONIC milliseconds, the same clock for every process
//! on the host, so that the reader computes uptimes from its own reading of
//! it. START_TICKS is grace's start time from /proc/self/stat: with PID, it
//! tells the reader whether the grace that wrote the file still runs.

use core::fmt::Write as _;

use crate::base::prelude::*;

use super::rundir::{self, RunDir};
use crate::base::time::Instant;
use crate::process::procfs;
use crate::process::reap::WaitStatus;
use crate::sys;

/// The first line, and the format's version: raised on any change a
/// reader of the previous version would misread.
const MAGIC: &str = "grace-status";
pub const VERSION: u32 = 1;

/// The state file's name in the run directory.
pub const STATE_FILE: &str = "state";
/// The largest state file `grace status` reads: a service's record is at
/// most about 120 bytes beside its name, so even a services file at its
/// own limit (`check::FILE_LIMIT`) publishes less than this.
pub const STATE_LIMIT: usize = 8 << 20;
/// The file that exists from "all ready" until the stop begins.
pub const READY_FILE: &str = "ready";

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// For the services it starts after.
    Waiting,
    Starting,
    Ready,
    /// A oneshot that exited 0: counts as ready.
    Done,
    Stopping,
    Exited(WaitStatus),
    Restarting {
        at: Instant,
    },
    /// Stopped by `grace stop`, until `grace start`.
    Stopped,
    /// Exited as it may (`essential = false`, a success): not restarted,
    /// and it counts as ready.
    Ended(WaitStatus),
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Starting => "starting",
            State::Ready => "ready",
            State::Done => "done",
            State::Stopping => "stopping",
            State::Exited(_) => "exited",
            State::Restarting { .. } => "restarting",
            State::Stopped => "stopped",
            State::Ended(_) => "ended",
        }
    }

    /// How its last run ended, for `exited` and `ended`.
    pub fn status(&self) -> Option<WaitStatus> {
        match *self {
            State::Exited(status) | State::Ended(status) => Some(status),
            _ => None,
        }
    }

    /// Whether it counts towards "every service is ready".
    pub fn counts_ready(&self) -> bool {
        matches!(self, State::Ready | State::Done | State::Ended(_))
    }

    /// Whether a process of the service runs (its pid is its own).
    pub fn running(&self) -> bool {
        matches!(self, State::Starting | State::Ready | State::Stopping)
    }
}

/// One service as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub name: String,
    pub state: State,
    pub pid: Option<i32>,
    pub restarts: u32,
    /// When the current run started, or the state was entered when not
    /// running.
    pub since: Instant,
}

/// The state file, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The grace that wrote it, as its PID namespace numbers it.
    pub grace_pid: i32,
    /// Its start time in clock ticks after boot (/proc/PID/stat); 0 when
    /// it could not read its own.
    pub grace_start: u64,
    pub published: Instant,
    pub stopping: bool,
    /// With each service's process group (its pid: the runtime starts
    /// each service in a group of its own).
    pub services: Vec<(ServiceStatus, Option<i32>)>,
}

impl Published {
    /// Every service ready and no stop begun: what `ready` says.
    pub fn all_ready(&self) -> bool {
        !self.stopping
            && self
                .services
                .iter()
                .all(|(service, _)| service.state.counts_ready())
    }
}

/// Appends the whole file for `services` to `out`.
pub(crate) fn encode(
    out: &mut String,
    grace: (i32, u64),
    now: Instant,
    services: &[ServiceStatus],
    stopping: bool,
) {
    let _ = write!(
        out,
        "{MAGIC} {VERSION}\ngrace\t{}\t{}\t{}\t{}\n",
        grace.0,
        grace.1,
        now.as_millis(),
        u8::from(stopping)
    );
    for service in services {
        out.push_str("service\t");
        // Names are letters, digits, - and _ (model.rs); a field separator
        // in one would still only cost that line.
        for c in service.name.chars() {
            out.push(if c.is_control() { '?' } else { c });
        }
        out.push('\t');
        out.push_str(service.state.name());
        out.push('\t');
        match service.state.status() {
            Some(WaitStatus::Exited(code)) => {
                let _ = write!(out, "exit:{code}");
            }
            Some(WaitStatus::Signaled(signal)) => {
                let _ = write!(out, "signal:{signal}");
            }
            None => out.push('-'),
        }
        // The pid, then the process group: the runtime starts each service
        // in a group of its own.
        for pid in [service.pid, service.pid] {
            match pid {
                Some(pid) => {
                    let _ = write!(out, "\t{pid}");
                }
                None => out.push_str("\t-"),
            }
        }
        let _ = write!(
            out,
            "\t{}\t{}\t",
            service.restarts,
            service.since.as_millis()
        );
        match service.state {
            State::Restarting { at } => {
                let _ = write!(out, "{}", at.as_millis());
            }
            _ => out.push('-'),
        }
        out.push('\n');
    }
}

/// Reads the file `encode` wrote. The error says what is wrong with it.
#[inline(never)]
pub fn decode(text: &str) -> Result<Published, String> {
    let mut lines = text.lines();
    let version = lines
        .next()
        .and_then(|line| line.strip_prefix(MAGIC))
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| String::from("not a grace state file"))?;
    if version.parse::<u32>() != Ok(VERSION) {
        return Err(format!(
            "format version {version}, not {VERSION}: written by another grace version"
        ));
    }
    let mut published = None;
    let mut services = Vec::new();
    for (index, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let parsed = match fields.as_slice() {
            ["grace", pid, start, at, stopping] => {
                decode_grace([pid, start, at, stopping]).map(|grace| published = Some(grace))
            }
            [
                "service",
                name,
                state,
                status,
                pid,
                pgid,
                restarts,
                since,
                at,
            ] => decode_service([name, state, status, pid, pgid, restarts, since, at])
                .map(|service| services.push(service)),
            _ => None,
        };
        if parsed.is_none() {
            return Err(format!("line {}: malformed", index + 2));
        }
    }
    let mut published = published.ok_or_else(|| String::from("no grace line"))?;
    published.services = services;
    Ok(published)
}

fn decode_grace([pid, start, at, stopping]: [&str; 4]) -> Option<Published> {
    Some(Published {
        grace_pid: pid.parse().ok()?,
        grace_start: start.parse().ok()?,
        published: Instant::from_millis(at.parse().ok()?),
        stopping: match stopping {
            "0" => false,
            "1" => true,
            _ => return None,
        },
        services: Vec::new(),
    })
}

fn decode_service(
    [name, state, status, pid, pgid, restarts, since, at]: [&str; 8],
) -> Option<(ServiceStatus, Option<i32>)> {
    let optional = |field: &str| match field {
        "-" => Some(None),
        number => number.parse().ok().map(Some),
    };
    let status = match status.split_once(':') {
        Some(("exit", code)) => Some(WaitStatus::Exited(code.parse().ok()?)),
        Some(("signal", number)) => Some(WaitStatus::Signaled(number.parse().ok()?)),
        _ if status == "-" => None,
        _ => return None,
    };
    let state = match (state, status) {
        ("waiting", None) => State::Waiting,
        ("starting", None) => State::Starting,
        ("ready", None) => State::Ready,
        ("done", None) => State::Done,
        ("stopping", None) => State::Stopping,
        ("stopped", None) => State::Stopped,
        ("exited", Some(status)) => State::Exited(status),
        ("ended", Some(status)) => State::Ended(status),
        ("restarting", None) => State::Restarting {
            at: Instant::from_millis(at.parse().ok()?),
        },
        _ => return None,
    };
    if at != "-" && !matches!(state, State::Restarting { .. }) {
        return None;
    }
    // As written: what encode would not write is damage.
    if name.is_empty() || name.chars().any(char::is_control) {
        return None;
    }
    let service = ServiceStatus {
        name: name.to_string(),
        state,
        pid: optional(pid)?,
        restarts: restarts.parse().ok()?,
        since: Instant::from_millis(since.parse().ok()?),
    };
    Some((service, optional(pgid)?))
}

/// The state the running grace published, looked for where it would
/// have published it (`rundir`): the first state whose grace still runs,
/// else the first found, with its path. The error says where grace looked
/// and what it found there. `uids` are the users whose directories the
/// reader trusts besides root's (itself, and whoever PID 1 runs as).
pub fn find(
    explicit: Option<&str>,
    runtime_dir: Option<&str>,
    uids: &[u32],
) -> Result<(String, Published), String> {
    let mut found = None;
    let mut looked = Vec::new();
    for dir in rundir::candidates(explicit, runtime_dir, uids) {
        let path = join(&dir, STATE_FILE);
        let published = match rundir::read_trusted(&dir, STATE_FILE, uids) {
            Ok(Some(bytes)) => {
                decode(&String::from_utf8_lossy(&bytes)).map_err(|why| format!("{path}: {why}"))
            }
            Ok(None) => {
                looked.push(format!("{dir} (none)"));
                continue;
            }
            Err(why) => Err(why),
        };
        match published {
            Ok(published) if publisher_runs(&published) => return Ok((path, published)),
            Ok(published) => {
                looked.push(format!("{path} (its grace is gone)"));
                found.get_or_insert((path, published));
            }
            Err(why) => looked.push(why),
        }
    }
    found.ok_or_else(|| format!("no services' state: looked in {}", looked.join(", ")))
}

/// `find` for a reader run as grace's tools are: in `run_dir` (`--run-dir`)
/// else GRACE_RUN_DIR alone, else the conventional places, for the reader's
/// own uid and PID 1's. `environment` is the reader's own, as (name,
/// value).
pub fn find_for_reader(
    run_dir: Option<&str>,
    environment: &[(Vec<u8>, Vec<u8>)],
) -> Result<(String, Published), String> {
    let variable = |name: &str| {
        crate::base::environment::lookup(environment, name)
            .filter(|value| !value.is_empty())
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    let explicit = run_dir
        .map(str::to_string)
        .or_else(|| variable("GRACE_RUN_DIR"));
    find(
        explicit.as_deref(),
        variable("XDG_RUNTIME_DIR").as_deref(),
        &trusted_users(),
    )
}

/// Whose run directories a reader trusts besides root's: its own user's,
/// and the user the container's init (PID 1) runs as, in that order.
pub fn trusted_users() -> Vec<u32> {
    let mut uids = vec![sys::effective_uid()];
    if let Some(uid) = procfs::read_uid(1)
        && !uids.contains(&uid)
    {
        uids.push(uid);
    }
    uids
}

/// Whether the grace that published `state` still runs: a process with
/// its pid exists, and started when it did (not a later process that got
/// the pid). Pids are the reader's PID namespace's: run inside the
/// container, as the writer was.
pub fn publisher_runs(state: &Published) -> bool {
    match procfs::read_stat(state.grace_pid) {
        Ok(stat) => state.grace_start == 0 || stat.start_time == state.grace_start,
        Err(_) => false,
    }
}

fn join(dir: &str, name: &str) -> String {
    let mut path = String::with_capacity(dir.len() + name.len() + 1);
    path.push_str(dir.strip_suffix('/').unwrap_or(dir));
    path.push('/');
    path.push_str(name);
    path
}

/// Publishes the services' state into the run directory.
pub struct Publisher {
    /// None when no run directory could be had: publishing is off.
    dir: Option<RunDir>,
    /// Written, then renamed over the state file. Named with grace's pid,
    /// so that two graces given the same directory never write the same
    /// file.
    temporary: String,
    grace: (i32, u64),
    /// Whether `ready` exists, as far as this publisher made it.
    ready: bool,
    /// A failure has been warned about and nothing has succeeded since: a
    /// directory that cannot be written to is one warning, not one per
    /// change.
    failing: bool,
    /// Reused from one publish to the next.
    text: String,
}

// Called by the services runtime (src/services/runtime.rs).
impl Publisher {
    /// In the run directory `rundir` chooses (`explicit` is `--run-dir`);
    /// with none, one warning through grace's log and every later publish
    /// is a no-op.
    pub fn new(explicit: Option<&str>, runtime_dir: Option<&str>) -> Publisher {
        let pid = sys::getpid();
        let start = procfs::read_stat(pid).map_or(0, |stat| stat.start_time);
        let dir = match RunDir::prepare(explicit, runtime_dir) {
            Ok(dir) => {
                crate::debug!(
                    "run_dir",
                    [path = dir.path],
                    "the run directory is {}",
                    dir.path
                );
                // A previous grace's files in a directory that outlived it
                // (a volume, a restarted container) say nothing about this
                // one.
                let _ = remove(&dir.dir, READY_FILE);
                let _ = remove(&dir.dir, STATE_FILE);
                Some(dir)
            }
            Err(why) => {
                crate::warn!(
                    "run_dir",
                    [path = ""],
                    "no run directory ({why}): grace status will not work, and a service \
                     with ready = \"notify\" cannot start"
                );
                None
            }
        };
        Publisher {
            dir,
            temporary: format!(".{STATE_FILE}.{pid}"),
            grace: (pid, start),
            ready: false,
            failing: false,
            text: String::new(),
        }
    }

    /// Where grace publishes, if anywhere.
    pub fn run_dir(&self) -> Option<&RunDir> {
        self.dir.as_ref()
    }

    /// Writes the whole state atomically (a temporary file in `dir`, then
    /// rename(2)), and makes `dir/ready` exist iff every service is Ready
    /// and `stopping` is false. Never fails from the caller's point of view
    /// (a failure is one warning, not repeated on every publish).
    #[inline(never)]
    pub fn publish(&mut self, services: &[ServiceStatus], stopping: bool) {
        let Some(dir) = &self.dir else {
            return;
        };
        let ready = !stopping && services.iter().all(|s| s.state.counts_ready());
        self.text.clear();
        encode(
            &mut self.text,
            self.grace,
            Instant::now(),
            services,
            stopping,
        );
        // `ready` never outlives a state that says otherwise, and appears
        // only once the state says so.
        let mut result = Ok(());
        if self.ready && !ready {
            result = remove(&dir.dir, READY_FILE);
            self.ready = result.is_err();
        }
        result = result
            .and_then(|()| sys::create_in(&dir.dir, &self.temporary, self.text.as_bytes()))
            .and_then(|()| sys::rename_in(&dir.dir, &self.temporary, STATE_FILE));
        if result.is_ok() && ready && !self.ready {
            result = sys::create_in(&dir.dir, READY_FILE, b"");
            self.ready = result.is_ok();
        }
        match result {
            Ok(()) => self.failing = false,
            Err(error) if !self.failing => {
                self.failing = true;
                let path = join(&dir.path, STATE_FILE);
                crate::warn!(
                    "run_dir",
                    [path = path],
                    "cannot publish the services' state to {path}: {error}; grace status may \
                     show an older state"
                );
            }
            Err(_) => {}
        }
    }

    /// At grace's exit: removes `ready` (the state file may stay, showing
    /// the last state).
    pub fn finish(&mut self) {
        if let Some(dir) = &self.dir
            && self.ready
            && remove(&dir.dir, READY_FILE).is_ok()
        {
            self.ready = false;
        }
    }
}

/// unlinkat(2) in `dir`, a file already gone being success.
fn remove(dir: &sys::Fd, name: &str) -> sys::Result<()> {
    match sys::unlink_in(dir, name) {
        Err(error) if error.raw_os_error() != Some(libc::ENOENT) => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use core::time::Duration;

    /// One service in each state, for the tests here and in `show`.
    pub fn every_state(now: Instant) -> Vec<ServiceStatus> {
        let ago = |ms| now - Duration::from_millis(ms);
        let service = |name: &str, state, pid, restarts, since| ServiceStatus {
            name: name.into(),
            state,
            pid,
            restarts,
            since,
        };
        vec![
            service("db", State::Ready, Some(12), 0, ago(192_000)),
            service("cache", State::Starting, Some(13), 0, ago(1_500)),
            service("web", State::Waiting, None, 0, ago(1_600)),
            service(
                "helper",
                State::Restarting {
                    at: now + Duration::from_millis(2_400),
                },
                None,
                3,
                ago(100),
            ),
            service(
                "job",
                State::Exited(WaitStatus::Exited(1)),
                Some(20),
                0,
                ago(5_000),
            ),
            service(
                "killed",
                State::Exited(WaitStatus::Signaled(9)),
                None,
                10,
                ago(61_000),
            ),
            service("app", State::Stopping, Some(30), 1, ago(7_200_000)),
            service("migrate", State::Done, None, 0, ago(9_000)),
            service(
                "warm",
                State::Ended(WaitStatus::Exited(0)),
                None,
                0,
                ago(9_000),
            ),
        ]
    }

    fn encoded(services: &[ServiceStatus], stopping: bool, now: Instant) -> String {
        let mut text = String::new();
        encode(&mut text, (1, 4242), now, services, stopping);
        text
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let now = Instant::from_millis(Instant::now().as_millis());
        for stopping in [false, true] {
            let services = every_state(now);
            let text = encoded(&services, stopping, now);
            let read = decode(&text).unwrap();
            assert_eq!(
                (
                    read.grace_pid,
                    read.grace_start,
                    read.published,
                    read.stopping
                ),
                (1, 4242, now, stopping)
            );
            let (back, groups): (Vec<ServiceStatus>, Vec<Option<i32>>) =
                read.services.into_iter().unzip();
            assert_eq!(back, services);
            let pids: Vec<Option<i32>> = services.iter().map(|s| s.pid).collect();
            assert_eq!(groups, pids);
        }
        assert_eq!(decode(&encoded(&[], false, now)).unwrap().services, []);
    }

    #[test]
    fn the_format_is_as_documented() {
        let now = Instant::from_millis(1_000_000);
        let text = encoded(&every_state(now)[3..5], true, now);
        assert_eq!(
            text,
            "grace-status 1\n\
             grace\t1\t4242\t1000000\t1\n\
             service\thelper\trestarting\t-\t-\t-\t3\t999900\t1002400\n\
             service\tjob\texited\texit:1\t20\t20\t0\t995000\t-\n"
        );
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        let good = encoded(
            &every_state(Instant::from_millis(500_000)),
            false,
            Instant::now(),
        );
        for (text, why) in [
            ("", "not a grace state file"),
            ("grace-status\n", "not a grace state file"),
            ("grace-status 2\ngrace\t1\t0\t0\t0\n", "format version 2"),
            ("grace-status 1\n", "no grace line"),
            ("grace-status 1\ngrace\t1\t0\t0\t2\n", "line 2: malformed"),
            ("grace-status 1\ngrace\t1\t0\t0\t0\nservice\tdb\n", "line 3"),
        ] {
            let error = decode(text).unwrap_err();
            assert!(error.starts_with(why), "{text:?}: {error}");
        }
        for field in 1..9 {
            // Each field of a service line, damaged in turn.
            let line = good.lines().nth(2).unwrap();
            let mut fields: Vec<&str> = line.split('\t').collect();
            fields[field] = if field == 1 { "db\tx" } else { "x" };
            let text = format!("grace-status 1\ngrace\t1\t0\t0\t0\n{}\n", fields.join("\t"));
            assert!(decode(&text).is_err(), "field {field}: {text:?}");
        }
        // A name holding a separator cannot break the line apart.
        let mut odd = every_state(Instant::from_millis(500_000));
        odd.truncate(1);
        odd[0].name = "a\tb\nc".into();
        let read = decode(&encoded(&odd, false, Instant::now())).unwrap();
        assert_eq!(read.services[0].0.name, "a?b?c");
    }

    #[test]
    fn the_publisher_writes_the_state_and_the_ready_file() {
        let dir = std::env::temp_dir().join(format!("grace-status-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run_dir = dir.join("run/grace");
        let run = run_dir.to_str().unwrap();
        // A stale ready file from a previous run is gone at once.
        let mut publisher = Publisher::new(Some(run), None);
        std::fs::write(run_dir.join(READY_FILE), "").unwrap();
        let mut publisher_again = Publisher::new(Some(run), None);
        assert!(!run_dir.join(READY_FILE).exists());
        let now = Instant::from_millis(Instant::now().as_millis());
        let mut services = every_state(now);
        services.truncate(2);
        publisher.publish(&services, false);
        let read = |run| find(Some(run), None, &[sys::effective_uid()]).unwrap().1;
        let state = read(run);
        assert_eq!(state.grace_pid, std::process::id() as i32);
        assert!(publisher_runs(&state));
        assert_eq!(state.services.len(), 2);
        assert!(!run_dir.join(READY_FILE).exists());
        services[1].state = State::Ready;
        publisher.publish(&services, false);
        assert!(read(run).all_ready());
        assert!(run_dir.join(READY_FILE).exists());
        publisher.publish(&services, true);
        assert!(!run_dir.join(READY_FILE).exists());
        assert!(read(run).stopping);
        publisher.publish(&services, false);
        assert!(run_dir.join(READY_FILE).exists());
        publisher.finish();
        assert!(!run_dir.join(READY_FILE).exists());
        assert!(run_dir.join(STATE_FILE).exists());
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(&run_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [STATE_FILE]);
        publisher_again.finish();

        // A directory that cannot be made: publishing does nothing, and
        // says so once.
        std::fs::write(dir.join("file"), "").unwrap();
        let mut off = Publisher::new(Some(dir.join("file/run").to_str().unwrap()), None);
        off.publish(&services, false);
        off.finish();
        assert!(off.dir.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_whose_grace_is_gone_is_known_as_such() {
        let now = Instant::now();
        let mut state = decode(&encoded(&[], false, now)).unwrap();
        state.grace_pid = std::process::id() as i32;
        state.grace_start = procfs::read_stat(state.grace_pid).unwrap().start_time;
        assert!(publisher_runs(&state));
        state.grace_start += 1;
        assert!(!publisher_runs(&state), "a later process with the pid");
        state.grace_pid = i32::MAX;
        assert!(!publisher_runs(&state));
    }
}
