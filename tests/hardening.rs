//! grace under abuse: signal storms, fork and zombie floods, faults at start,
//! hostile descriptors, /proc missing, absurd option values. Nothing may
//! hang, panic, leak zombies or lose a cleanup that fit in the grace period.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    Grace, Mode, TempDir, anon_kb, children_of, finished_cleanup, grace_bin, host_pid_of_probe,
    probe, probe_args, run_plain, signals_received, status_field, stress_bin, wait_exit,
    wait_for_file, wait_for_work, wait_ready, wait_until,
};

const STORM: usize = 100_000;

fn scale() -> usize {
    crate::support::soak_scale()
}
const STORM_SIGNALS: &[i32] = &[1, 10, 12, 28, 34, 35, 36, 37, 38];

fn mask(signals: &[i32]) -> u64 {
    signals
        .iter()
        .fold(0, |mask, &signal| mask | 1 << (signal - 1))
}

/// The signals pending for `pid`: its own and its thread group's.
fn pending(pid: i32) -> u64 {
    ["SigPnd", "ShdPnd"]
        .iter()
        .map(|field| {
            let mask = status_field(pid, field).expect("a pending mask");
            u64::from_str_radix(&mask, 16).expect("a hex signal mask")
        })
        .fold(0, |all, mask| all | mask)
}

/// A storm leaves tens of thousands of real-time signals queued for grace,
/// and the kernel takes seconds to hand them over (each dequeue walks the
/// queue). The test never waits for that: it proves what grace controls.
/// - Memory: grace's RSS, sampled all through the storm, stays flat.
/// - Nothing lost: a signal number whose pending bit was seen clear after
///   some were sent had every one of them read by grace, and must have
///   reached the main process. So must HUP, USR1 and USR2: the kernel
///   hands over lower numbers first, so grace reads them before the
///   SIGTERM that follows the storm.
/// - The stop right after the storm, queue or not: SIGTERM is a standard
///   signal and overtakes the queued real-time ones. The main process must
///   finish its cleanup and die of it before grace's deadline (SIGKILL
///   there would make the exit 137).
#[test]
fn a_signal_storm_leaves_grace_flat_and_the_stop_clean() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--grace-period", "5s", "--"])
        .args([stress_bin().to_str().unwrap(), "summary"])
        .arg(dir.path())
        .arg("main")
        .start(&dir);
    wait_ready(&dir, "main");
    let before = anon_kb(grace.pid);
    let mut peak = before;
    let mut sent = 0;
    let mut received = 0;
    let mut refused = 0;
    let storm = STORM * scale();
    for index in 0..storm {
        let signal = STORM_SIGNALS[index % STORM_SIGNALS.len()];
        // SAFETY: kill(2) with plain integers.
        if unsafe { libc::kill(grace.pid, signal) } != 0 {
            // The real-time queue can fill up (EAGAIN): the storm goes on.
            refused += 1;
        }
        sent |= 1 << (signal - 1);
        if index % 1000 == 999 || index == storm - 1 {
            peak = peak.max(anon_kb(grace.pid));
            received |= sent & !pending(grace.pid);
        }
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert!(
        peak <= before + 64,
        "grace's own memory (RssAnon) grew from {before} kB to {peak} kB"
    );

    let summary = fs::read_to_string(dir.join("main.summary")).expect("the main process finished");
    let seen = summary
        .lines()
        .filter_map(|line| line.strip_prefix("seen ")?.parse::<i32>().ok())
        .fold(0u64, |seen, signal| seen | 1 << (signal - 1));
    // A real-time signal grace read can still be refused on its way to the
    // main process while the user's queue is full (grace retries it, but
    // the stop may come first). Only a storm the kernel never refused
    // guarantees that the queue was never full.
    let standard = mask(&[1, 10, 12, 28]);
    let forwarded = mask(&[1, 10, 12])
        | if refused == 0 {
            received
        } else {
            received & standard
        };
    let lost: Vec<i32> = STORM_SIGNALS
        .iter()
        .copied()
        .filter(|&signal| forwarded & !seen & 1 << (signal - 1) != 0)
        .collect();
    assert!(
        lost.is_empty(),
        "grace read {lost:?} but the main process never saw them: {summary}"
    );
    let count: usize = summary.lines().next().unwrap()[6..].parse().unwrap();
    assert!(count <= storm - refused, "{count} arrived of {storm}");
}

/// A fresh pids cgroup limited to `limit` tasks, removed when dropped (also
/// when the test fails): under a cgroup2 mount that offers the pids
/// controller, else in the cgroup v1 pids hierarchy (hybrid hosts bind it
/// there). A host with neither fails the test: it cannot run here.
struct PidsCgroup(std::path::PathBuf);

impl PidsCgroup {
    fn new(limit: u32) -> Self {
        let group = Self::hierarchy()
            .unwrap_or_else(|| {
                panic!(
                    "cannot run here: no pids cgroup controller (no cgroup2 mount lists pids in \
                     cgroup.controllers, and no cgroup v1 hierarchy is mounted with pids; see \
                     /proc/self/mountinfo)"
                )
            })
            .join(format!("grace-test-{}", std::process::id()));
        fs::create_dir_all(&group)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", group.display()));
        let group = PidsCgroup(group);
        let max = group.0.join("pids.max");
        fs::write(&max, limit.to_string())
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", max.display()));
        group
    }

    /// Where a new pids cgroup can be made, from the mount table.
    fn hierarchy() -> Option<std::path::PathBuf> {
        let mounts = fs::read_to_string("/proc/self/mountinfo").expect("/proc/self/mountinfo");
        let mut v1 = None;
        for line in mounts.lines() {
            // ID PARENT MAJ:MIN ROOT MOUNT-POINT ... - TYPE SOURCE OPTIONS
            let Some((mount, filesystem)) = line.split_once(" - ") else {
                continue;
            };
            let Some(point) = mount.split(' ').nth(4).map(std::path::PathBuf::from) else {
                continue;
            };
            let mut filesystem = filesystem.split(' ');
            match (filesystem.next(), filesystem.nth(1)) {
                (Some("cgroup2"), _) => {
                    let controllers = fs::read_to_string(point.join("cgroup.controllers"));
                    if controllers.is_ok_and(|list| list.split_whitespace().any(|c| c == "pids")) {
                        // A child gets pids.max only once its parent hands
                        // the controller down. Left enabled: others' groups
                        // may rely on it by now.
                        let control = point.join("cgroup.subtree_control");
                        let enabled = fs::read_to_string(&control).unwrap_or_default();
                        if !enabled.split_whitespace().any(|c| c == "pids") {
                            fs::write(&control, "+pids").unwrap_or_else(|error| {
                                panic!("cannot enable pids in {}: {error}", control.display())
                            });
                        }
                        return Some(point);
                    }
                }
                (Some("cgroup"), Some(options)) if options.split(',').any(|o| o == "pids") => {
                    v1 = Some(point);
                }
                _ => {}
            }
        }
        v1
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        // The killed processes leave the cgroup a moment after their
        // namespace is gone; rmdir fails (EBUSY) until then.
        let deadline = Instant::now() + crate::support::BOUND;
        while fs::remove_dir(&self.0).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn a_fork_flood_in_a_pids_cgroup_neither_starves_grace_nor_the_stop() {
    let cgroup = PidsCgroup::new(300);
    let dir = TempDir::new();
    // Writing 0 moves the writer itself: unshare joins the cgroup before
    // it execs, with one write(2) on a descriptor opened beforehand.
    let procs = fs::OpenOptions::new()
        .write(true)
        .open(cgroup.0.join("cgroup.procs"))
        .expect("the cgroup's cgroup.procs");
    let script = format!(
        "{} fork-flood {} & exec {}",
        stress_bin().display(),
        dir.path().display(),
        probe(&dir, "main", &["--handle", "10", "--cleanup-ms", "100"])
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(move |command| {
            // SAFETY: write(2) is async-signal-safe, on a descriptor the
            // closure owns.
            unsafe {
                command.pre_exec(move || {
                    match libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) {
                        1 => Ok(()),
                        _ => Err(std::io::Error::last_os_error()),
                    }
                });
            }
        })
        .args(["--grace-period", "3s", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    wait_for_file(&dir.join("flood.ready"));
    // Responsive while flooded: once the flood fills the cgroup with ten
    // times its resting number of tasks, a forwarded signal still gets
    // through.
    let current = cgroup.0.join("pids.current");
    wait_until("the flood to fill the cgroup", || {
        fs::read_to_string(&current)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .is_some_and(|pids| pids >= 50)
    });
    grace.signal(10);
    wait_until("SIGUSR1 through the flood", || {
        signals_received(&dir, "main") == [10]
    });
    let sent = Instant::now();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    // Before the deadline: nothing the flood made outlasted the stop.
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        sent.elapsed()
    );
    assert!(finished_cleanup(&dir, "main"));
    drop(grace);
    drop(cgroup);
}

#[test]
fn twenty_thousand_short_lived_orphans_are_all_reaped() {
    let dir = TempDir::new();
    let orphans = 20_000 * scale();
    let mut grace = Grace::builder(Mode::Pid1)
        .args([
            "--",
            stress_bin().to_str().unwrap(),
            "orphan-flood",
            &orphans.to_string(),
        ])
        .arg(dir.path())
        .start(&dir);
    wait_for_work("the orphans made", || {
        if dir.join("main.ready").exists() {
            return 0;
        }
        let made = fs::read_to_string(dir.join("orphans.made")).unwrap_or_default();
        orphans.saturating_sub(made.trim().parse().unwrap_or(0))
    });
    let main = host_pid_of_probe(&grace, &dir, "main");
    wait_for_work("every orphan reaped", || {
        children_of(grace.pid)
            .iter()
            .filter(|&&pid| pid != main)
            .count()
    });
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
}

#[test]
fn a_command_that_exits_at_once_never_hangs_grace() {
    for _ in 0..200 * scale() {
        let (code, stderr) = run_plain(&["--", "true"]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, _) = run_plain(&["--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(code, 137);
}

#[test]
fn an_empty_command_name_is_not_found() {
    let (code, stderr) = run_plain(&["--", ""]);
    assert_eq!(code, 127, "{stderr}");
}

#[test]
fn hundreds_of_kilobytes_of_arguments_pass_through() {
    let dir = TempDir::new();
    let out = dir.join("count");
    let big: Vec<String> = (0..400)
        .map(|i| format!("{i:04}{}", "x".repeat(1020)))
        .collect();
    let script = format!("echo $# ${{400}} > {}", out.display());
    let mut args = vec![
        "--".to_string(),
        "sh".into(),
        "-c".into(),
        script,
        "sh".into(),
    ];
    args.extend(big.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stderr) = run_plain(&refs);
    assert_eq!(code, 0, "{stderr}");
    let written = fs::read_to_string(out).unwrap();
    assert_eq!(written.trim(), format!("400 {}", big[399]));
}

#[test]
fn closed_stdout_and_stderr_do_not_stop_grace() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    let status = unsafe {
        Command::new(grace_bin())
            .args(["-vv", "--", "sh", "-c"])
            .arg(format!("touch {}; exit 5", marker.display()))
            .stdin(Stdio::null())
            // SAFETY: close(2) between fork and exec.
            .pre_exec(|| {
                libc::close(1);
                libc::close(2);
                Ok(())
            })
            .status()
            .unwrap()
    };
    assert_eq!(status.code(), Some(5));
    assert!(marker.exists());
}

/// grace as PID 1 of a namespace whose /proc is `proc_setup`: the stop must
/// still reach the sibling (kill(-1) needs no /proc).
fn stop_without_own_proc(proc_setup: &str) {
    let dir = TempDir::new();
    let script = format!(
        "{} & exec {}",
        probe(&dir, "sibling", &["--cleanup-ms", "200"]),
        probe(&dir, "main", &[])
    );
    let inner = format!("{proc_setup} exec {} -- sh -c '{script}'", grace_bin());
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--mount", "--", "sh", "-c", &inner])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_ready(&dir, "sibling");
    wait_ready(&dir, "main");
    let id = unshare.id() as i32;
    let pid1 = children_of(id)[0];
    crate::support::send_signal(pid1, 15);
    let status = wait_exit(&mut unshare, "grace to exit");
    assert_eq!(status.code(), Some(143));
    assert!(finished_cleanup(&dir, "sibling"));
}

#[test]
fn the_stop_works_with_the_hosts_proc() {
    stop_without_own_proc("");
}

#[test]
fn the_stop_works_with_proc_unmounted() {
    stop_without_own_proc("umount -l /proc &&");
}

#[test]
fn a_zero_grace_period_kills_at_once() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--grace-period", "0", "--"])
        .args(probe_args(
            &dir,
            "main",
            &["--ignore", "15", "--exit-on", "10"],
        ))
        .start(&dir);
    wait_ready(&dir, "main");
    let sent = Instant::now();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 137, "{}", grace.stderr());
    assert!(
        sent.elapsed() < crate::support::AFTER_KILL,
        "{:?}",
        sent.elapsed()
    );
}

#[test]
fn absurd_option_values_are_usage_errors() {
    for args in [
        &["--grace-period", "99999999h", "true"][..],
        &["--grace-period", "18446744073709551616s", "true"],
        &["--stop-delay", "1e9", "true"],
        &["-e", "999", "true"],
        &["--stop-signal", "0", "true"],
        &["--pdeathsig", "65", "true"],
        &["--stop-on", ",,,", "true"],
        &["--forward-to", "", "true"],
    ] {
        let (code, stderr) = run_plain(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    let many_v: Vec<&str> = std::iter::repeat_n("-v", 1000)
        .chain(["--", "true"])
        .collect();
    assert_eq!(run_plain(&many_v).0, 0);
}
