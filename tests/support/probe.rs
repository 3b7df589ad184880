//! The probe (examples/probe.rs) and its siblings: their command lines,
//! and what a probe wrote down: its ready marker and its log of events,
//! stamped with CLOCK_MONOTONIC in milliseconds.

use std::fs;
use std::path::{Path, PathBuf};

use super::grace::{Grace, host_grace_bin};
use super::process::host_pid_of;
use super::scratch::TempDir;
use super::wait::{wait_for_file, wait_until};

/// examples/probe.rs, which cargo builds with the tests.
pub fn probe_bin() -> PathBuf {
    let path = Path::new(host_grace_bin())
        .with_file_name("examples")
        .join("probe");
    assert!(
        path.exists(),
        "{} is missing: cargo builds it with the tests (cargo build --examples)",
        path.display()
    );
    path
}

/// The events a probe wrote: (event, detail, monotonic ms).
pub fn probe_log(dir: &impl AsRef<Path>, name: &str) -> Vec<(String, i64, u64)> {
    fs::read_to_string(dir.as_ref().join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((
                words.next()?.to_string(),
                words.next()?.parse().ok()?,
                words.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Whether probe `name` got SIGTERM and finished its cleanup.
pub fn finished_cleanup(dir: &impl AsRef<Path>, name: &str) -> bool {
    probe_log(dir, name)
        .iter()
        .any(|(event, signal, _)| event == "cleanup-done" && *signal == 15)
}

/// The signals a probe received, in order.
pub fn signals_received(dir: &impl AsRef<Path>, name: &str) -> Vec<i64> {
    probe_log(dir, name)
        .into_iter()
        .filter(|(event, _, _)| event == "signal")
        .map(|(_, signal, _)| signal)
        .collect()
}

/// A probe command line writing into `dir` under `name`.
pub fn probe_args(dir: &TempDir, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        probe_bin().to_string_lossy().into_owned(),
        "--dir".into(),
        dir.path().to_string_lossy().into_owned(),
        "--name".into(),
        name.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The same probe command line, as one line for a shell script.
pub fn probe(dir: &TempDir, name: &str, extra: &[&str]) -> String {
    probe_args(dir, name, extra).join(" ")
}

/// Sends `signal` to grace and waits until probe `name` has received one
/// more signal.
pub fn send_and_await(grace: &Grace, dir: &TempDir, name: &str, signal: i32) {
    let before = signals_received(dir, name).len();
    grace.signal(signal);
    wait_until(&format!("signal {signal} at {name}"), || {
        signals_received(dir, name).len() > before
    });
}

/// The pid recorded in a probe's ready marker, once it is there (the pid is
/// as seen inside grace's namespace).
pub fn wait_ready(dir: &TempDir, name: &str) -> i32 {
    wait_for_file(&dir.join(&format!("{name}.ready")))
        .trim()
        .parse()
        .expect("pid in ready marker")
}

/// When `name` first logged `event` (with any detail), in monotonic ms.
pub fn event_time(dir: &impl AsRef<Path>, name: &str, event: &str) -> Option<u64> {
    probe_log(dir, name)
        .into_iter()
        .find(|(e, _, _)| e == event)
        .map(|(_, _, ms)| ms)
}

/// examples/subreaper.rs, built beside the probe.
pub fn subreaper_bin() -> PathBuf {
    probe_bin().with_file_name("subreaper")
}

/// The stress workloads (examples/stress.rs), built beside the probe.
pub fn stress_bin() -> PathBuf {
    probe_bin().with_file_name("stress")
}

/// The host pid of the process whose ready marker is `name`, below grace.
pub fn host_pid_of_probe(grace: &Grace, dir: &TempDir, name: &str) -> i32 {
    let inner = wait_ready(dir, name);
    let mut found = None;
    wait_until(&format!("{name} in /proc"), || {
        found = host_pid_of(inner, grace.pid);
        found.is_some()
    });
    found.expect("host pid")
}
