//! Everything at once: a services container on a private dockerd lives
//! through a signal storm, a fork flood under its pids limit, a service
//! restarting in a loop, a service flooding its output, grace's own stdout
//! and stderr unread, and `docker exec`'d jobs coming and going; then it is
//! stopped. Pass: the stop begins within 100 ms of SIGTERM, every cleanup
//! that fits the grace period finishes, no zombie outlives grace's reaping,
//! grace's RSS stays flat (±100 kB) while it all goes on, and grace exits
//! with a status of its own (no panic, no SIGKILL from docker).
//!
//! CI runs it for 20 s; scripts/soak multiplies that by its scale.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::containers::{Container, Rootfs, install, static_binaries, wait_probe};
use crate::support::docker::Dockerd;
use crate::support::{
    BOUND, anon_kb, children_of, finished_cleanup, monotonic_ms, probe_log, send_signal,
    soak_scale, state_of, wait_for_file, wait_until,
};

/// How long the chaos lasts before the stop, at scale 1.
const CHAOS: Duration = Duration::from_secs(20);
/// The services file's grace period: the holder of grace's unread output
/// ignores SIGTERM, so the stop lasts this long and ends in grace's kill.
const GRACE_PERIOD: Duration = Duration::from_secs(6);
/// The signals of the storm, which every service handles or ignores: the
/// storm is forwarded to them all.
const STORM: &[i32] = &[libc::SIGUSR1, libc::SIGUSR2, libc::SIGHUP, libc::SIGWINCH];

fn services(tag: &str) -> String {
    // The shells ignore the storm's signals; ignored dispositions survive
    // exec, so the fork flood ignores them too.
    let ignore = "trap '' HUP USR1 USR2;";
    format!(
        r#"grace_period = "{grace}s"

# The cleanup that must finish: 1 s after SIGTERM, with every storm signal
# handled (and written down).
[service.worker]
command = ["/probe", "--dir", "/markers", "--tag", "{tag}", "--name", "worker", "--handle", "1,10,12,28", "--cleanup-ms", "1000"]

# Counts the storm without I/O per signal; on SIGTERM writes its summary.
[service.counter]
command = ["/stress", "summary", "/markers", "counter"]

# Floods its output: grace relays it into a pipe nobody reads.
[service.flood]
command = ["sh", "-c", "{ignore} while :; do echo 'a line of output that nobody will ever read, from the flooding service'; done"]

# Forks orphans as fast as it can, into the container's pids limit.
[service.forker]
command = ["sh", "-c", "{ignore} exec /stress fork-flood /markers"]
restart = "always"
max_restarts = 100000

# Fails at once, for ever.
[service.flaky]
command = ["sh", "-c", "exit 3"]
restart = "on-failure"
max_restarts = 100000
"#,
        grace = GRACE_PERIOD.as_secs(),
    )
}

/// The entrypoint: grace's stdout and stderr go into a FIFO whose only
/// reader never reads (and ignores SIGTERM, so it holds the FIFO until
/// grace's deadline). The shell execs grace, which is then PID 1.
const ENTRYPOINT: &str = "mkfifo /tmp/out && \
    { sh -c \"trap '' TERM; exec sleep 2147483647\" </tmp/out & } && \
    exec /grace --warn-on-reap --config /services.toml >/tmp/out 2>&1";

#[test]
fn docker_chaos_then_stop_keeps_grace_responsive_flat_and_every_cleanup() {
    let chaos = CHAOS * u32::try_from(soak_scale()).unwrap_or(1);
    let rootfs = Rootfs::new();
    install(&rootfs.root(), &static_binaries().stress, "/stress");
    let tag = rootfs.tag();
    std::fs::write(rootfs.root().join("services.toml"), services(&tag)).unwrap();
    let dockerd = Dockerd::start("{}", &[]);
    let mut container = Container::start(
        dockerd.runtime(),
        rootfs,
        &["/bin/sh", "-c", ENTRYPOINT],
        &["--pids-limit", "300"],
    );
    wait_probe(&container.rootfs, "worker");
    wait_for_file(&container.rootfs.markers().join("counter.ready"));
    wait_for_file(&container.rootfs.markers().join("flood.ready"));
    let inspect = dockerd.docker(&["inspect", &container.name, "--format", "{{.State.Pid}}"]);
    let grace: i32 = String::from_utf8_lossy(&inspect.stdout)
        .trim()
        .parse()
        .expect("grace's host pid");

    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for &signal in STORM {
                    // SAFETY: kill(2) with plain integers, to grace.
                    unsafe { libc::kill(grace, signal) };
                    sent += 1;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            sent
        })
    };
    let jobs = {
        let stop = stop.clone();
        let socket = dockerd.socket();
        let name = container.name.clone();
        std::thread::spawn(move || {
            let mut ran = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Under the pids limit an exec may fail to start: the
                // jobs are load, not witnesses.
                let status = crate::support::docker::docker(&socket)
                    .args(["exec", &name, "sh", "-c", "sleep 0.2 & wait"])
                    .output();
                if status.is_ok_and(|output| output.status.success()) {
                    ran += 1;
                }
            }
            ran
        })
    };

    // RSS from a quarter of the way in: by then every buffer grace keeps
    // (the services' output, its own lines) is as full as it gets.
    let begun = Instant::now();
    let mut samples = Vec::new();
    while begun.elapsed() < chaos {
        if begun.elapsed() >= chaos / 4 {
            samples.push(anon_kb(grace));
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    // No zombie outlives grace's reaping: each one there now is gone soon.
    let zombies: Vec<i32> = children_of(grace)
        .into_iter()
        .filter(|&pid| state_of(pid) == Some('Z'))
        .collect();
    wait_until("every zombie child of grace to be reaped", || {
        zombies
            .iter()
            .all(|&pid| state_of(pid) != Some('Z') || crate::support::parent_of(pid) != Some(grace))
    });

    let sent_at = monotonic_ms();
    send_signal(grace, libc::SIGTERM);
    stop.store(true, Ordering::Relaxed);
    let sent = storm.join().unwrap();
    let ran = jobs.join().unwrap();
    let code = container.wait();
    let took = Duration::from_millis(monotonic_ms() - sent_at);
    let markers = container.rootfs.markers();
    eprintln!(
        "chaos for {chaos:?}: {sent} storm signals, {ran} exec'd jobs, {} RSS samples \
         (min {:?} kB, max {:?} kB); exit {code} after {took:?}",
        samples.len(),
        samples.iter().min(),
        samples.iter().max()
    );

    let term_at = probe_log(&markers, "worker")
        .into_iter()
        .find(|(event, signal, _)| event == "signal" && *signal == 15)
        .map(|(_, _, ms)| ms)
        .expect("the worker got SIGTERM");
    let latency = term_at.saturating_sub(sent_at);
    eprintln!("the worker got SIGTERM {latency} ms after grace did");
    assert!(
        latency <= 100,
        "the worker got SIGTERM {latency} ms after grace did"
    );
    assert!(finished_cleanup(&markers, "worker"), "worker's cleanup");
    assert!(
        markers.join("counter.summary").exists(),
        "the counter wrote its summary on SIGTERM"
    );
    let (min, max) = (
        samples.iter().min().copied().unwrap_or(0),
        samples.iter().max().copied().unwrap_or(0),
    );
    assert!(
        max - min <= 100,
        "grace's own memory (RssAnon) went from {min} to {max} kB"
    );
    // grace's own status: the stop ended at its deadline (the holder), not
    // in docker's SIGKILL or a panic's abort.
    assert!(
        took < GRACE_PERIOD + BOUND,
        "grace exited {took:?} after SIGTERM"
    );
    assert!(
        !matches!(code, 134 | 137 | 139),
        "grace died of a signal: exit {code}"
    );
}
