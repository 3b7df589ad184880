//! grace's footprint: the static release binary stays within 450 KB on
//! disk, and an idle grace as PID 1 with one command within 400 kB of
//! resident memory. Most of that is the binary's own pages, which the
//! kernel maps 64 KB at a time around each page touched (fault-around),
//! until grace gives back the set-up's when its loop first goes idle
//! (src/sys/image.rs). A change that crosses either bound (a dependency,
//! std, a formatting path pulled into the binary, the release of the
//! set-up's pages lost) fails here, not in a later benchmark run. Both are
//! deterministic for a given binary and kernel: the pages mapped are those
//! the code touches, or fewer when the page cache lacks some. The bench
//! (bench/run) measures the same two figures.

use std::fs;

use crate::support::containers::static_binaries;
use crate::support::{Grace, Mode, TempDir, probe_args, rss_kb, wait_ready, wait_until};

/// Bytes: the static musl release binary on disk.
const MAX_BINARY: u64 = 450_000;
/// kB: VmRSS of an idle grace as PID 1 with one sleeping command (issue
/// 19's bound).
const MAX_IDLE_RSS: u64 = 400;

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
fn an_idle_static_grace_as_pid_1_is_at_most_400_kb_resident() {
    let binary = fs::canonicalize(&static_binaries().grace).expect("static grace");
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--")
        .args(probe_args(&dir, "main", &[]))
        .start_as(&binary, &[], &dir);
    // Once the command is up and grace sleeps in its loop's wait, it has
    // done all its start-up work: what it holds now is what it holds idle.
    wait_ready(&dir, "main");
    wait_until("grace to wait in its event loop", || {
        waiting_in_its_loop(grace.pid)
    });
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

/// Whether `pid` is in the wait of grace's event loop: a read of its
/// signalfd (or a ppoll, when it has more to watch). /proc/PID/syscall
/// names the call and its arguments; the set-up's own reads (a pipe that
/// learns whether the command's exec worked) are of other descriptors.
fn waiting_in_its_loop(pid: i32) -> bool {
    let Ok(call) = fs::read_to_string(format!("/proc/{pid}/syscall")) else {
        return false;
    };
    let mut fields = call.split_whitespace();
    let number = fields.next().and_then(|n| n.parse().ok());
    let fd = fields
        .next()
        .and_then(|fd| i64::from_str_radix(fd.trim_start_matches("0x"), 16).ok());
    match (number, fd) {
        (Some(libc::SYS_ppoll), _) => true,
        (Some(libc::SYS_read), Some(fd)) => fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .is_ok_and(|target| target.as_os_str() == "anon_inode:[signalfd]"),
        _ => false,
    }
}
