//! An idle grace makes no system call at all: no timer, no polling.

use std::process::{Command, Stdio};

use crate::support::services::{toml_argv, write_config};
use crate::support::{Grace, Mode, TempDir, probe_args, wait_ready};

#[test]
fn idle_grace_makes_no_system_call_for_three_seconds() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--")
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    assert_idle(&grace, &dir, "read(3");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
}

/// With services, the loop waits in one ppoll on their output pipes and
/// the control socket `grace restart` and the others write to: still no
/// system call while nothing happens.
#[test]
fn idle_grace_with_services_and_its_control_socket_makes_no_system_call() {
    let dir = TempDir::new();
    let run = dir.join("run");
    let text = format!(
        "[service.app]\ncommand = {}\n",
        toml_argv(&probe_args(&dir, "app", &[]))
    );
    let config = write_config(&dir, &text);
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--run-dir")
        .arg(&run)
        .arg("--config")
        .arg(&config)
        .start(&dir);
    wait_ready(&dir, "app");
    assert!(run.join("control").exists(), "no control socket");
    assert_idle(&grace, &dir, "ppoll(");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 0);
}

/// Watches `grace` with strace for 3 s: it sleeps in `wait`, and completes
/// no system call.
fn assert_idle(grace: &Grace, dir: &TempDir, wait: &str) {
    let trace = dir.join("trace");
    let status = Command::new("timeout")
        .args([
            "-s",
            "INT",
            "3",
            "strace",
            "-p",
            &grace.pid.to_string(),
            "-o",
        ])
        .arg(&trace)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("strace (apt-get install strace)");
    assert_eq!(status.code(), Some(124), "strace ran for the whole 3 s");
    let trace = std::fs::read_to_string(trace).unwrap();
    // Attaching shows the one wait grace is sleeping in (a blocking read of
    // its signalfd, or a ppoll); any completed call would appear as a line
    // with its return value.
    assert!(trace.contains(wait), "strace saw grace waiting: {trace}");
    let completed: Vec<&str> = trace.lines().filter(|line| line.contains(") = ")).collect();
    assert!(
        completed.is_empty(),
        "grace made system calls while idle: {completed:?}"
    );
}
