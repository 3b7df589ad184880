//! grace's footprint: the static release binary stays within its budget on
//! disk, an idle grace as PID 1 with one command within 400 kB of
//! resident memory, and with ten services within 600 kB (issue 22). Most of that is the binary's own pages, which the
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
use crate::support::services::{toml_argv, write_config};
use crate::support::{Grace, Mode, TempDir, probe_args, rss_kb, wait_ready, wait_until};

/// Bytes: the static musl release binary on disk, `grace import` included
/// (a default feature): the issues' budget (issues 14, 20 and 22). The
/// ordered stop and the services' new keys, control commands and import
/// had taken it to 500,080 B; the services file's own tree over
/// `toml_parser`, two-word `sys::Error`, boxed parse errors, loops for
/// collects and messages quoted without core's Unicode tables brought it
/// back to 447,424 B.
const MAX_BINARY: u64 = 450_000;
/// kB: VmRSS of an idle grace as PID 1 with one sleeping command (issue
/// 19's bound).
const MAX_IDLE_RSS: u64 = 400;
/// kB: VmRSS of an idle grace as PID 1 running ten services (issue 22's
/// bound: their state, output pipes, readiness and control socket).
const MAX_SERVICES_RSS: u64 = 600;

#[test]
fn the_static_binary_stays_within_its_bound() {
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

#[test]
fn an_idle_static_grace_with_ten_services_is_at_most_600_kb_resident() {
    let binary = fs::canonicalize(&static_binaries().grace).expect("static grace");
    let dir = TempDir::new();
    let mut text = String::new();
    for n in 0..10 {
        // Each a probe, so that it says when it runs; the second half
        // each after the one before, as real files are.
        let probe = probe_args(&dir, &format!("s{n}"), &[]);
        text += &format!("[service.s{n}]\ncommand = {}\n", toml_argv(&probe));
        if n >= 5 {
            text += &format!("after = [\"s{}\"]\n", n - 1);
        }
    }
    let config = write_config(&dir, &text);
    let run_dir = dir.join("run");
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--run-dir")
        .arg(&run_dir)
        .arg("--config")
        .arg(&config)
        .start_as(&binary, &[], &dir);
    for n in 0..10 {
        wait_ready(&dir, &format!("s{n}"));
    }
    wait_until("grace to wait in its event loop", || {
        waiting_in_its_loop(grace.pid)
    });
    let rss = rss_kb(grace.pid);
    eprintln!("idle VmRSS with ten services: {rss} kB");
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    assert!(
        rss <= MAX_SERVICES_RSS,
        "idle VmRSS with ten services is {rss} kB, over {MAX_SERVICES_RSS} kB"
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
