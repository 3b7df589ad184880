//! An idle grace makes no system call at all: no timer, no polling.

use std::process::{Command, Stdio};

use crate::support::{Grace, Mode, TempDir, probe_args, wait_ready};

#[test]
fn idle_grace_makes_no_system_call_for_three_seconds() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--")
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
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
    // its signalfd); any completed call would appear as a line with its
    // return value.
    assert!(
        trace.contains("read(3"),
        "strace saw grace waiting: {trace}"
    );
    let completed: Vec<&str> = trace.lines().filter(|line| line.contains(") = ")).collect();
    assert!(
        completed.is_empty(),
        "grace made system calls while idle: {completed:?}"
    );

    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
}
