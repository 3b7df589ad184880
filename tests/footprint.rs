//! grace's footprint: the static release binary stays within 450 KB on
//! disk, and an idle grace as PID 1 within 600 kB of resident memory (most
//! of which is the binary's text, mapped by the kernel's fault-around).
//! These are issue 14's targets for grace with all of the services work
//! (its RSS target is for 10 services; this measures one command). A change
//! that crosses either (a dependency, std, a formatting path pulled into the
//! binary) fails here, not in a later benchmark run. The bench (bench/run)
//! measures the same two figures.

use std::fs;

use crate::support::containers::static_binaries;
use crate::support::{Grace, Mode, TempDir, probe_args, rss_kb, wait_ready};

/// Bytes: the static musl release binary on disk.
const MAX_BINARY: u64 = 450_000;
/// kB: VmRSS of an idle grace as PID 1 with one sleeping command.
const MAX_IDLE_RSS: u64 = 600;

#[test]
fn the_static_binary_is_at_most_450_kb() {
    let grace = &static_binaries().grace;
    let size = fs::metadata(grace).expect("static grace").len();
    eprintln!("static binary: {size} bytes");
    assert!(
        size <= MAX_BINARY,
        "{} is {size} bytes, over {MAX_BINARY}",
        grace.display()
    );
}

#[test]
fn an_idle_static_grace_as_pid_1_is_at_most_600_kb_resident() {
    let binary = fs::canonicalize(&static_binaries().grace).expect("static grace");
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--")
        .args(probe_args(&dir, "main", &[]))
        .start_as(&binary, &[], &dir);
    // Once the command is up, grace has done all its start-up work and
    // sleeps on its signalfd: what it holds now is what it holds idle.
    wait_ready(&dir, "main");
    assert_eq!(
        fs::read_link(format!("/proc/{}/exe", grace.pid)).ok(),
        Some(binary),
        "PID 1 is the static grace"
    );
    let rss = rss_kb(grace.pid);
    eprintln!("idle VmRSS: {rss} kB");
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert!(
        rss <= MAX_IDLE_RSS,
        "idle VmRSS is {rss} kB, over {MAX_IDLE_RSS} kB"
    );
}
