//! Every signal grace may forward reaches the command's own handler.

use crate::support::{
    Grace, Mode, TempDir, grace_runner, probe, probe_args, send_and_await, signals_received,
    wait_ready, wait_until,
};

/// Standard signals a process can catch, minus SIGCHLD and the terminal stop
/// signals that grace keeps to itself, minus SIGTERM which ends each test.
const FORWARDED: &[i32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 18, 23, 24, 25, 26, 27, 28, 29, 30, 31,
];
/// The signals of a synchronous fault. qemu-user keeps them unblocked in
/// its host process to catch the emulated program's own faults, so one sent
/// with kill(2) lands in qemu's handler instead of the signalfd an emulated
/// grace reads (and is never delivered to it): under an emulator they are
/// not sent. On real hardware grace forwards them like any other.
const FAULT_SIGNALS: &[i32] = &[4, 5, 7, 8, 11];
const RTMIN_PLUS_3: i32 = 37;
const RTMAX_MINUS_1: i32 = 63;

fn every_signal_reaches_the_command(mode: Mode) {
    let dir = TempDir::new();
    let mut grace = Grace::builder(mode)
        .arg("--")
        .args(probe_args(&dir, "main", &["--handle", "all"]))
        .start(&dir);
    wait_ready(&dir, "main");

    let emulated = !grace_runner().is_empty();
    let mut expected = Vec::new();
    for &signal in FORWARDED.iter().chain(&[RTMIN_PLUS_3, RTMAX_MINUS_1]) {
        if emulated && FAULT_SIGNALS.contains(&signal) {
            continue;
        }
        send_and_await(&grace, &dir, "main", signal);
        expected.push(i64::from(signal));
    }
    // Kept by grace: if any were forwarded they would land (lowest number
    // first) before the SIGUSR1 sent after them.
    for kept in [17, 20, 21, 22] {
        grace.signal(kept);
    }
    send_and_await(&grace, &dir, "main", 10);
    expected.push(10);
    grace.signal(15);
    expected.push(15);

    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), expected);
}

#[test]
fn every_signal_reaches_the_command_as_pid1() {
    every_signal_reaches_the_command(Mode::Pid1);
}

#[test]
fn every_signal_reaches_the_command_as_subreaper() {
    every_signal_reaches_the_command(Mode::Subreaper);
}

fn group_test(forward_to: &str) -> (Vec<i64>, Vec<i64>) {
    let dir = TempDir::new();
    let probe = |name: &str| probe(&dir, name, &["--handle", "10"]);
    // The grandchild is started by the command's shell, so it shares the
    // command's process group but is not grace's child.
    let script = format!("{} & exec {}", probe("grandchild"), probe("child"));
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--forward-to", forward_to, "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "grandchild");
    wait_ready(&dir, "child");
    send_and_await(&grace, &dir, "child", 10);
    if forward_to == "group" {
        wait_until("SIGUSR1 at the grandchild", || {
            !signals_received(&dir, "grandchild").is_empty()
        });
    }
    grace.signal(15);
    grace.wait_code();
    (
        signals_received(&dir, "child"),
        signals_received(&dir, "grandchild"),
    )
}

#[test]
fn forward_to_group_reaches_a_grandchild() {
    let (child, grandchild) = group_test("group");
    assert_eq!(child.first(), Some(&10));
    assert_eq!(grandchild.first(), Some(&10));
}

#[test]
fn forward_to_child_spares_the_grandchild() {
    let (child, grandchild) = group_test("child");
    assert_eq!(child.first(), Some(&10));
    assert!(!grandchild.contains(&10), "grandchild got {grandchild:?}");
}

#[test]
fn a_broken_stderr_neither_stops_grace_nor_reaches_the_command() {
    let dir = TempDir::new();
    // -vv makes grace write a line per forwarded signal, each one failing
    // with EPIPE and raising SIGPIPE in grace itself.
    let mut grace = Grace::builder(Mode::Pid1)
        .broken_stderr()
        .args(["-vv", "--"])
        .args(probe_args(&dir, "main", &["--handle", "all"]))
        .start(&dir);
    wait_ready(&dir, "main");
    for _ in 0..3 {
        send_and_await(&grace, &dir, "main", 10);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
    assert_eq!(signals_received(&dir, "main"), [10, 10, 10, 15]);
}

#[test]
fn pdeathsig_makes_the_parents_death_a_stop() {
    let dir = TempDir::new();
    let probe = crate::support::probe(&dir, "main", &["--cleanup-ms", "100"]);
    let ready = dir.join("main.ready");
    let log = dir.join("main.log");
    // The inner shell starts grace in the background, waits until grace's
    // command is up (so grace has asked for the signal), and exits: grace's
    // parent is gone. The outer shell, PID 1, waits for the command's log.
    let inner = format!(
        "{grace} -p TERM -- {probe} & while [ ! -e {ready} ]; do sleep 0.01; done",
        grace = crate::support::grace_bin(),
        ready = ready.display(),
    );
    let outer = format!(
        "sh -c '{inner}'; i=0; while ! grep -q cleanup-done {log} 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done",
        log = log.display(),
    );
    let status = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--", "sh", "-c", &outer])
        .stdin(std::process::Stdio::null())
        .status()
        .expect("unshare");
    assert!(status.success());
    assert_eq!(
        signals_received(&dir, "main"),
        [15],
        "SIGTERM via the parent death signal"
    );
    assert!(crate::support::finished_cleanup(&dir, "main"));
}
