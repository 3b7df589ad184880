//! Several services in one container, side by side (issue 14): the same
//! three services, db, app (after db) and web (after app), plus a stray
//! that app double-forks, under grace's `--config`, supervisord, runit's
//! runsvdir, s6-svscan, Horust, pm2-runtime, honcho, foreman and pid1 (a
//! single-process init, with a shell entrypoint), each as the container's
//! PID 1 in podman.
//! Each supervisor gets the configuration its own documentation gives for
//! this: dependencies and readiness where it has them, its stop order, its
//! defaults otherwise. What every process lived through is read from the
//! probes' logs (CLOCK_MONOTONIC ms, one clock for the host and every
//! container).
//!
//! A generator, not a test (a minute of containers): a bench target that
//! `scripts/compare-services [--quick]` runs, which prints the markdown
//! table and writes it into BENCHMARKS.md. It runs the containers through
//! the integration tests' harness (tests/support/).
//!
//! The peers are Python (supervisord, honcho), Node (pm2), Ruby (foreman)
//! or dynamically linked: their containers bind-mount the host's /usr
//! read-only (npm's and the honcho venv's installs under /usr/local too), with /lib and /lib64
//! as the symlinks into it that Debian has, next to the busybox /bin that
//! the services use. grace's container gets the same mount; it needs none.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// The tests' helpers, of which a generator uses a part.
#[allow(dead_code, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod peers;
mod section;

use peers::{installed, on_path};
use support::containers::{Container, Rootfs, Runtime, container_probe, static_binaries};
use support::{executable, monotonic_ms, probe_log};

/// The services, in start order, and how long each one's cleanup lasts.
const SERVICES: &[&str] = &["db", "app", "web"];
const CLEANUP_MS: u64 = 300;
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a container may take to act on a service's SIGKILL before the
/// run counts it as kept running: grace's ordered stop after it takes
/// 2 × CLEANUP_MS; a restart shows within a few seconds too.
const AFTER_KILL: Duration = Duration::from_secs(5);

struct Peer {
    name: &'static str,
    /// Writes the peer's configuration into the rootfs and returns the
    /// container's command, or why the peer cannot run here.
    setup: fn(&Path) -> Result<Vec<String>, String>,
}

const PEERS: &[Peer] = &[
    Peer {
        name: "grace `--config`",
        setup: setup_grace,
    },
    Peer {
        name: "supervisord",
        setup: setup_supervisord,
    },
    Peer {
        name: "runit `runsvdir`",
        setup: setup_runit,
    },
    Peer {
        name: "s6 `s6-svscan`",
        setup: setup_s6,
    },
    Peer {
        name: "Horust",
        setup: setup_horust,
    },
    Peer {
        name: "pm2 `pm2-runtime`",
        setup: setup_pm2,
    },
    Peer {
        name: "honcho",
        setup: setup_honcho,
    },
    Peer {
        name: "foreman",
        setup: setup_foreman,
    },
    Peer {
        name: "pid1 (`pid1-exe`)",
        setup: setup_pid1,
    },
];

fn write_script(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    executable(path, text);
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The services as busybox sh scripts at /svc/NAME: a `start` mark, then
/// (for app) the stray, a double-forked probe in a session of its own,
/// then the service itself, a probe with a CLEANUP_MS cleanup.
fn write_services(root: &Path) {
    let probe = |name: &str, extra: &str| container_probe(name, extra, "compare-services");
    for service in SERVICES {
        let stray = if *service == "app" {
            format!(
                "{}\n",
                probe("stray", &format!("--daemonize --cleanup-ms {CLEANUP_MS}"))
            )
        } else {
            String::new()
        };
        write_script(
            &root.join("svc").join(service),
            &format!(
                "#!/bin/sh\n{}\n{stray}exec {}\n",
                probe(service, "--mark start"),
                probe(service, &format!("--cleanup-ms {CLEANUP_MS}"))
            ),
        );
    }
    // The host's /usr comes in read-only; Debian's /lib and /lib64 are
    // symlinks into it.
    fs::create_dir_all(root.join("usr")).unwrap();
    std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
    std::os::unix::fs::symlink("usr/lib64", root.join("lib64")).unwrap();
    for dir in ["run", "var/run", "var/log"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    write(&root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    write(&root.join("etc/group"), "root:x:0:\n");
}

/// "This build rejects --config", or Ok once grace has the services
/// runtime.
fn grace_has_services() -> Result<(), String> {
    let output = Command::new(&static_binaries().grace)
        .args(["--config", "/nonexistent/services.toml"])
        .output()
        .map_err(|e| format!("cannot run grace: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or("").trim();
    if first.contains("option") && first.contains("--config") {
        return Err(format!(
            "unavailable: this build has no services runtime (`{first}`)"
        ));
    }
    Ok(())
}

/// The file that issue 14 specifies: each service ready once its probe
/// has written NAME.ready, each started after the one before, stopped in
/// reverse.
pub const GRACE_SERVICES_TOML: &str = r#"grace_period = "10s"

[service.db]
command = ["/svc/db"]
ready = { exec = ["test", "-e", "/markers/db.ready"], interval = "20ms" }
stop_signal = "TERM"

[service.app]
command = ["/svc/app"]
after = ["db"]
ready = { exec = ["test", "-e", "/markers/app.ready"], interval = "20ms" }
stop_signal = "TERM"

[service.web]
command = ["/svc/web"]
after = ["app"]
ready = { exec = ["test", "-e", "/markers/web.ready"], interval = "20ms" }
stop_signal = "TERM"
"#;

fn setup_grace(root: &Path) -> Result<Vec<String>, String> {
    grace_has_services()?;
    write(&root.join("services.toml"), GRACE_SERVICES_TOML);
    Ok(strings(&["/grace", "--config", "/services.toml"]))
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn needs(binary: &str, package: &str) -> Result<(), String> {
    if Path::new(binary).exists() {
        Ok(())
    } else {
        Err(format!("not installed (apt-get install {package})"))
    }
}

/// supervisord has no dependencies: `priority` orders the start (without
/// waiting) and, reversed, the stop; stopasgroup/killasgroup as its
/// documentation recommends for programs that fork.
fn setup_supervisord(root: &Path) -> Result<Vec<String>, String> {
    needs("/usr/bin/supervisord", "supervisor")?;
    let mut conf = String::from(
        "[supervisord]\nnodaemon=true\nuser=root\nlogfile=/dev/null\nlogfile_maxbytes=0\n\
         pidfile=/run/supervisord.pid\nchildlogdir=/tmp\n\n\
         [unix_http_server]\nfile=/run/supervisor.sock\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix:///run/supervisor.sock\n",
    );
    for (index, service) in SERVICES.iter().enumerate() {
        let _ = write!(
            conf,
            "\n[program:{service}]\ncommand=/svc/{service}\npriority={}\n\
             stopasgroup=true\nkillasgroup=true\n\
             stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\
             redirect_stderr=true\n",
            index + 1
        );
    }
    write(&root.join("etc/supervisord.conf"), &conf);
    Ok(strings(&[
        "/usr/bin/supervisord",
        "-n",
        "-c",
        "/etc/supervisord.conf",
    ]))
}

/// runit: a run script per service; a dependent's run script starts with
/// `sv start` of its dependency, which waits for that one's ./check (runit's
/// own readiness). runsvdir is PID 1: runit(8)'s stage 3 does not exist in
/// a container, and on SIGTERM runsvdir does what runsvdir(8) says.
fn setup_runit(root: &Path) -> Result<Vec<String>, String> {
    needs("/usr/bin/runsvdir", "runit")?;
    for (index, service) in SERVICES.iter().enumerate() {
        let dir = root.join("etc/service").join(service);
        let wait = match index {
            0 => String::new(),
            _ => format!(
                "sv -w 30 start /etc/service/{} || exit 1\n",
                SERVICES[index - 1]
            ),
        };
        write_script(
            &dir.join("run"),
            &format!("#!/bin/sh\n{wait}exec /svc/{service}\n"),
        );
        write_script(
            &dir.join("check"),
            &format!("#!/bin/sh\ntest -e /markers/{service}.ready\n"),
        );
    }
    Ok(strings(&["/usr/bin/runsvdir", "-P", "/etc/service"]))
}

/// s6: readiness through s6-notifyoncheck and ./data/check, a dependent's
/// run script waits with `s6-svwait -U`; s6-svscan is PID 1, and its
/// .s6-svscan/finish does what s6-overlay's last stage does: kill(-1, TERM),
/// S6_KILL_GRACETIME (default 3 s) of sleep, kill(-1, KILL).
fn setup_s6(root: &Path) -> Result<Vec<String>, String> {
    needs("/usr/bin/s6-svscan", "s6")?;
    let scandir = root.join("etc/s6");
    for (index, service) in SERVICES.iter().enumerate() {
        let dir = scandir.join(service);
        let wait = match index {
            0 => String::new(),
            _ => format!("s6-svwait -U /etc/s6/{} || exit 1\n", SERVICES[index - 1]),
        };
        write_script(
            &dir.join("run"),
            &format!("#!/bin/sh\n{wait}exec s6-notifyoncheck -n 0 -w 20 /svc/{service}\n"),
        );
        write(&dir.join("notification-fd"), "3\n");
        write_script(
            &dir.join("data/check"),
            &format!("#!/bin/sh\ntest -e /markers/{service}.ready\n"),
        );
    }
    write_script(
        &scandir.join(".s6-svscan/finish"),
        "#!/bin/sh\nkill -TERM -1\nkill -CONT -1\nsleep 3\nkill -KILL -1\nexit 0\n",
    );
    Ok(strings(&["/usr/bin/s6-svscan", "/etc/s6"]))
}

/// A peer that runs from the host's /usr (npm's and pip's installs
/// included): its path there, which the container sees too.
fn under_usr(name: &str, install: &str) -> Result<String, String> {
    let path = on_path(name)
        .filter(|p| p.starts_with("/usr/"))
        .ok_or(format!("not installed ({install})"))?;
    Ok(path.display().to_string())
}

/// Horust: `start-after` with a file-path healthiness check, and
/// `shutdown-after` for the reverse order.
fn setup_horust(root: &Path) -> Result<Vec<String>, String> {
    let binary = installed("horust", "HORUST")
        .ok_or("not installed (`cargo install --locked horust`, or HORUST=PATH)")?;
    // Its libraries come with the host's /usr.
    fs::copy(&binary, root.join("horust"))
        .map_err(|e| format!("copy {}: {e}", binary.display()))?;
    for (index, service) in SERVICES.iter().enumerate() {
        let mut toml = format!("command = \"/svc/{service}\"\n");
        if index > 0 {
            let _ = writeln!(toml, "start-after = [\"{}.toml\"]", SERVICES[index - 1]);
        }
        if let Some(next) = SERVICES.get(index + 1) {
            let _ = writeln!(toml, "shutdown-after = [\"{next}.toml\"]");
        }
        let _ = write!(
            toml,
            "[healthiness]\nfile-path = \"/markers/{service}.ready\"\n\
             [termination]\nsignal = \"TERM\"\nwait = \"10s\"\n"
        );
        write(
            &root.join(format!("etc/horust/services/{service}.toml")),
            &toml,
        );
    }
    Ok(strings(&[
        "/horust",
        "--services-path",
        "/etc/horust/services",
    ]))
}

/// pm2-runtime: the three as apps of one ecosystem file, in start order
/// (pm2 has no dependencies), run as they are (`interpreter: none`),
/// stopped with the SIGTERM they handle (PM2_KILL_SIGNAL: pm2's default is
/// SIGINT); defaults otherwise (`kill_timeout` 1.6 s, `autorestart`).
fn setup_pm2(root: &Path) -> Result<Vec<String>, String> {
    let runtime = under_usr("pm2-runtime", "npm install -g pm2")?;
    let apps: Vec<String> = SERVICES
        .iter()
        .map(|s| {
            format!("{{\"name\": \"{s}\", \"script\": \"/svc/{s}\", \"interpreter\": \"none\"}}")
        })
        .collect();
    write(
        &root.join("etc/pm2/ecosystem.json"),
        &format!("{{\"apps\": [{}]}}\n", apps.join(", ")),
    );
    // PM2_HOME: its logs and sockets, somewhere writable.
    Ok(strings(&[
        "/usr/bin/env",
        "PM2_HOME=/tmp/pm2",
        "PM2_KILL_SIGNAL=SIGTERM",
        &runtime,
        "/etc/pm2/ecosystem.json",
    ]))
}

/// The Procfile family: `BINARY start` of a Procfile of one line per
/// service, in start order (neither has dependencies).
fn procfile_start(root: &Path, binary: &str) -> Vec<String> {
    let lines: String = SERVICES
        .iter()
        .map(|s| format!("{s}: /svc/{s}\n"))
        .collect();
    write(&root.join("etc/Procfile"), &lines);
    strings(&[binary, "start", "-f", "/etc/Procfile", "-d", "/"])
}

/// honcho: `honcho start` with the Procfile; defaults otherwise (its kill
/// wait is 5 s, hard-coded).
fn setup_honcho(root: &Path) -> Result<Vec<String>, String> {
    let honcho = under_usr(
        "honcho",
        "a venv under /usr/local with `pip install honcho`, as .ci/run does",
    )?;
    Ok(procfile_start(root, &honcho))
}

/// foreman: `foreman start` with the Procfile; defaults otherwise
/// (`--timeout` 5 s).
fn setup_foreman(root: &Path) -> Result<Vec<String>, String> {
    needs("/usr/bin/foreman", "ruby-foreman")?;
    Ok(procfile_start(root, "/usr/bin/foreman"))
}

/// The shell entrypoint that a single-process init runs for several
/// services: each started once the one before has written its ready mark,
/// SIGTERM passed on to all three, then wait.
const START_SCRIPT: &str = "#!/bin/sh\n\
    trap 'kill -TERM $web $app $db; wait' TERM\n\
    /svc/db & db=$!\n\
    until [ -e /markers/db.ready ]; do sleep 0.02; done\n\
    /svc/app & app=$!\n\
    until [ -e /markers/app.ready ]; do sleep 0.02; done\n\
    /svc/web & web=$!\n\
    wait\n";

/// pid1 runs one command and forwards its signal to that one: the start
/// script; its defaults otherwise (SIGKILL of its child 2 s after the
/// signal).
fn setup_pid1(root: &Path) -> Result<Vec<String>, String> {
    let binary = installed("pid1", "PID1")
        .ok_or("not installed (`cargo install --locked pid1-exe`, or PID1=PATH)")?;
    fs::copy(&binary, root.join("pid1")).map_err(|e| format!("copy {}: {e}", binary.display()))?;
    write_script(&root.join("start"), START_SCRIPT);
    Ok(strings(&["/pid1", "--", "/bin/sh", "/start"]))
}

/// How each supervisor was set up, under the table.
const CONFIGURATIONS: &str = "
Each as the container's PID 1, configured as its documentation gives it for this:

- grace: the issue's services file (`after`, `ready = { exec = [\"test\", \"-e\", …] }`), nothing else.
- supervisord 4.2 (Debian): `priority` 1–3 for the order, `stopasgroup`/`killasgroup`; \
  defaults otherwise (`stopwaitsecs` 10, `autorestart` unexpected). It has no dependencies: \
  `priority` orders the start without waiting.
- runit 2.1 (Debian): `runsvdir -P /etc/service`; a dependent's `run` begins with \
  `sv -w 30 start DEP`, which waits for DEP's `./check`. runit(8)'s stage 3 does not exist in \
  a container, and on SIGTERM runsvdir exits at once (runsvdir(8)): the kernel SIGKILLs the rest.
- s6 2.11 (Debian): `s6-svscan /etc/s6`; readiness by `s6-notifyoncheck` with `./data/check`, \
  a dependent's `run` waits with `s6-svwait -U DEP`; `.s6-svscan/finish` does what \
  s6-overlay's last stage does: `kill -TERM -1`, 3 s (S6_KILL_GRACETIME's default), `kill -KILL -1`, `exit 0`.
- Horust 0.1.14 (`cargo install --locked horust`): `start-after` with a `file-path` \
  healthiness check, `shutdown-after` for the reverse order; defaults otherwise (restart \
  `never`, failure strategy `ignore`).
- pm2 7.0 (`npm install -g pm2`, Node 20): `pm2-runtime` with an ecosystem file of the \
  three apps in order, `interpreter: none`, `PM2_KILL_SIGNAL=SIGTERM` (its default is SIGINT, \
  which these services do not handle); defaults otherwise (`kill_timeout` 1.6 s, \
  `autorestart`). It has no dependencies.
- honcho 2.0 (PyPI, in a venv of Debian's Python 3.11) and foreman 0.87 (Debian's \
  `ruby-foreman`): `start` with a Procfile of the three, in order; defaults otherwise \
  (5 s before SIGKILL: hard-coded in honcho, `--timeout` in foreman). Neither has dependencies. \
  foreman reaps with `wait2(-1)` and stops everything on any exit, an adopted orphan's \
  too: as PID 1 it can take the exit of the middle process of app's double fork (orphaned \
  when its parent has exited first) for a service's and stop all three right after the \
  start (a row then says so).
- pid1 0.1.6 (`cargo install --locked pid1-exe`), a single-process init: its child is a \
  `sh` entrypoint that starts each service once the one before wrote its ready mark, \
  passes SIGTERM on to all three (`trap 'kill -TERM $web $app $db; wait' TERM`) and waits; \
  pid1's defaults otherwise (it SIGKILLs its child 2 s after the signal).

The peers run from the host's /usr, bind-mounted read-only (supervisord and honcho are \
Python, pm2 Node, foreman Ruby, the others are linked dynamically); the services are busybox sh scripts that exec the tests' \
probe, which logs each signal and the end of its cleanup with CLOCK_MONOTONIC stamps.
";

/// The CLOCK_MONOTONIC ms of `name`'s first SIGTERM and of the end of its
/// cleanup, if they happened.
#[derive(Clone, Copy, Default)]
struct Stop {
    signal: Option<u64>,
    done: Option<u64>,
}

fn stop_of(markers: &Path, name: &str) -> Stop {
    let log = probe_log(&markers, name);
    let first = |event: &str| {
        log.iter()
            .find(|(e, signal, _)| e == event && *signal == 15)
            .map(|(_, _, ms)| *ms)
    };
    Stop {
        signal: first("signal"),
        done: first("cleanup-done"),
    }
}

fn starts(markers: &Path, name: &str) -> usize {
    probe_log(&markers, name)
        .iter()
        .filter(|(event, _, _)| event == "start")
        .count()
}

/// "web → app → db" when each got its signal only after the one before had
/// finished its cleanup, "web + app + db" for signals at once; services
/// that got none are left out.
fn order(stops: &[(&str, Stop)]) -> String {
    let mut signalled: Vec<(&str, Stop)> = stops
        .iter()
        .filter(|(_, stop)| stop.signal.is_some())
        .copied()
        .collect();
    if signalled.is_empty() {
        return "none".into();
    }
    signalled.sort_by_key(|(_, stop)| stop.signal);
    // Groups of services signalled at once, each group written in one
    // fixed order (the reverse start order), so that runs compare equal.
    let mut groups: Vec<Vec<&str>> = vec![vec![signalled[0].0]];
    for pair in signalled.windows(2) {
        let after_cleanup = match (pair[0].1.done, pair[1].1.signal) {
            (Some(done), Some(signal)) => signal >= done,
            _ => false,
        };
        if after_cleanup {
            groups.push(Vec::new());
        }
        groups.last_mut().unwrap().push(pair[1].0);
    }
    let rank = |name: &&str| SERVICES.iter().rev().position(|s| s == name);
    groups
        .into_iter()
        .map(|mut group| {
            group.sort_by_key(rank);
            group.join(" + ")
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// What the services lived through in one stopped container.
struct Observed {
    order: String,
    finished: Vec<&'static str>,
    killed: Vec<&'static str>,
    stray: &'static str,
    code: i32,
    took: Duration,
    /// From web's end of cleanup to db's: the ordered stop's own length.
    chain_ms: Option<u64>,
}

fn observe(markers: &Path, code: i32, took: Duration, names: &[&'static str]) -> Observed {
    let stops: Vec<(&str, Stop)> = names.iter().map(|n| (*n, stop_of(markers, n))).collect();
    let stray = stop_of(markers, "stray");
    let chain_ms = match (
        stops
            .iter()
            .find(|(n, _)| *n == "web")
            .and_then(|(_, s)| s.signal),
        stops
            .iter()
            .find(|(n, _)| *n == "db")
            .and_then(|(_, s)| s.done),
    ) {
        (Some(first), Some(last)) => Some(last.saturating_sub(first)),
        _ => None,
    };
    Observed {
        order: order(&stops),
        finished: stops
            .iter()
            .filter(|(_, s)| s.done.is_some())
            .map(|(n, _)| *n)
            .collect(),
        killed: stops
            .iter()
            .filter(|(_, s)| s.done.is_none())
            .map(|(n, _)| *n)
            .collect(),
        stray: match (stray.signal, stray.done) {
            (Some(_), Some(_)) => "SIGTERM, finished",
            (Some(_), None) => "SIGTERM, **killed mid-cleanup**",
            (None, _) => "**SIGKILL only**",
        },
        code,
        took,
        chain_ms,
    }
}

fn rootfs_for(peer: &Peer) -> Result<(Rootfs, Vec<String>), String> {
    let rootfs = Rootfs::new();
    write_services(&rootfs.root());
    let command = (peer.setup)(&rootfs.root())?;
    Ok((rootfs, command))
}

const FLAGS: &[&str] = &["-v", "/usr:/usr:ro", "-e", "PATH=/bin:/usr/bin:/usr/sbin"];

/// The container, once all three services and the stray run; or what
/// its log said if it exited first or took longer than 30 s (every
/// supervisor here starts them within a second or two).
fn start(rootfs: Rootfs, command: &[String]) -> Result<Container, String> {
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let container = Container::start(Runtime::Podman, rootfs, &args, FLAGS);
    let markers = container.rootfs.markers();
    let begun = Instant::now();
    while !["db", "app", "web", "stray"]
        .iter()
        .all(|n| markers.join(format!("{n}.ready")).exists())
    {
        let gone = !running(&container);
        if gone || begun.elapsed() > Duration::from_secs(30) {
            let logs = container.logs();
            let gist = logs.lines().take(2).collect::<Vec<_>>().join(" ");
            return Err(format!(
                "{} before the services were up (exit code {}): `{}`",
                if gone { "exited" } else { "not done in 30 s" },
                container.exit_code(),
                gist.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(container)
}

/// `podman stop -t 10`.
fn stop_run(peer: &Peer) -> Result<Observed, String> {
    let (rootfs, command) = rootfs_for(peer)?;
    let mut container = start(rootfs, &command)?;
    let begun = monotonic_ms();
    let (code, took) = container.stop(STOP_TIMEOUT);
    if std::env::var_os("GRACE_COMPARE_VERBOSE").is_some() {
        eprintln!(
            "--- {}: stop from {begun} to {}, container log\n{}",
            peer.name,
            monotonic_ms(),
            container.logs()
        );
        for name in ["web", "app", "db", "stray"] {
            eprintln!(
                "--- {name}: {:?}",
                probe_log(&container.rootfs.markers(), name)
            );
        }
    }
    // A supervisor that stopped the services by itself, before `podman
    // stop` (foreman, when an orphan it reaps as PID 1 exits), gets that
    // said instead of figures of a stop it did not make.
    let markers = container.rootfs.markers();
    let early: Vec<&str> = ["web", "app", "db"]
        .into_iter()
        .filter(|n| stop_of(&markers, n).signal.is_some_and(|ms| ms < begun))
        .collect();
    if !early.is_empty() {
        return Err(format!(
            "**stops by itself at start**: {} got SIGTERM before `podman stop`",
            early.join(", ")
        ));
    }
    Ok(observe(&markers, code, took, &["web", "app", "db"]))
}

fn running(container: &Container) -> bool {
    let output = Command::new("podman")
        .args(["inspect", &container.name, "--format", "{{.State.Running}}"])
        .output()
        .expect("podman inspect");
    String::from_utf8_lossy(&output.stdout).trim() == "true"
}

/// `podman exec … kill -9` of app's pid: whether the container went down,
/// with what code, and whether web and db were stopped gracefully.
fn kill_run(peer: &Peer) -> Result<String, String> {
    let (rootfs, command) = rootfs_for(peer)?;
    let container = start(rootfs, &command)?;
    let markers = container.rootfs.markers();
    let app = fs::read_to_string(markers.join("app.ready")).unwrap();
    container.exec(&["kill", "-9", app.trim()]);
    let killed = Instant::now();
    while running(&container) && killed.elapsed() < AFTER_KILL {
        std::thread::sleep(Duration::from_millis(20));
    }
    let restarted = starts(&markers, "app") > 1;
    if running(&container) {
        let others: Vec<&str> = ["web", "db"]
            .into_iter()
            .filter(|n| stop_of(&markers, n).signal.is_some())
            .collect();
        return Ok(format!(
            "keeps running; app {}{}",
            if restarted { "restarted" } else { "left dead" },
            if others.is_empty() {
                String::new()
            } else {
                format!(", {} stopped", others.join(" and "))
            }
        ));
    }
    if std::env::var_os("GRACE_COMPARE_VERBOSE").is_some() {
        eprintln!(
            "--- after kill -9 of app, container log\n{}",
            container.logs()
        );
        for name in ["web", "app", "db", "stray"] {
            eprintln!("--- {name}: {:?}", probe_log(&markers, name));
        }
    }
    let code = container.exit_code();
    let observed = observe(&markers, code, killed.elapsed(), &["web", "db"]);
    Ok(format!(
        "exits {code} after {:.1} s; stop: {}{}",
        observed.took.as_secs_f64(),
        observed.order,
        if observed.killed.is_empty() {
            ", both finished".to_string()
        } else {
            format!(", {} killed", observed.killed.join(" and "))
        }
    ))
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let repeats = if std::env::var_os("GRACE_COMPARE_QUICK").is_some() {
        1
    } else {
        3
    };
    let podman = Command::new("podman")
        .arg("--version")
        .output()
        .expect("podman");
    let mut table = format!(
        "Produced by `scripts/compare-services` with {}, runc, `podman stop -t 10` \
         (median of {repeats}); services db, app (after db), web (after app), each with \
         a {CLEANUP_MS} ms cleanup, and a stray that app double-forks, also with a \
         {CLEANUP_MS} ms cleanup.\n\n",
        String::from_utf8_lossy(&podman.stdout).trim()
    );
    table.push_str(
        "| PID 1 | stop signal, in order | cleanups finished | stray | `podman stop` took | exit code | after `kill -9` of app |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut grace_chain = None;
    let only = std::env::var("GRACE_COMPARE_ONLY").unwrap_or_default();
    for peer in PEERS
        .iter()
        .filter(|p| p.name.to_lowercase().contains(&only))
    {
        eprintln!("compare-services: {}", peer.name);
        let mut runs = Vec::new();
        let mut failure = None;
        for _ in 0..repeats {
            match stop_run(peer) {
                Ok(observed) => runs.push(observed),
                Err(why) => {
                    failure = Some(why);
                    break;
                }
            }
        }
        if let Some(why) = failure {
            let _ = writeln!(table, "| {} | {why} | | | | | |", peer.name);
            continue;
        }
        let after_kill = kill_run(peer).unwrap_or_else(|why| why);
        let first = &runs[0];
        // A behaviour that differs between runs is shown, not hidden.
        let varied = |f: &dyn Fn(&Observed) -> String| {
            let mut seen: Vec<String> = Vec::new();
            for text in runs.iter().map(f) {
                if !seen.contains(&text) {
                    seen.push(text);
                }
            }
            seen.join(" / ")
        };
        let finished = varied(&|o: &Observed| {
            if o.killed.is_empty() {
                "all 3".to_string()
            } else if o.finished.is_empty() {
                "**none**".to_string()
            } else {
                format!(
                    "{} (**{} killed**)",
                    o.finished.join(", "),
                    o.killed.join(", ")
                )
            }
        });
        let took = median(runs.iter().map(|o| o.took).collect());
        if peer.name.starts_with("grace") {
            grace_chain = first.chain_ms;
        }
        let _ = writeln!(
            table,
            "| {} | {} | {finished} | {} | {:.2} s | {} | {after_kill} |",
            peer.name,
            varied(&|o: &Observed| o.order.clone()),
            varied(&|o: &Observed| o.stray.to_string()),
            took.as_secs_f64(),
            varied(&|o: &Observed| o.code.to_string()),
        );
    }
    table.push_str(
        "\n`→`: the next service got its signal only after the one before had finished \
         its cleanup; `+`: signals at once.\n",
    );
    table.push_str(CONFIGURATIONS);
    if let Some(chain) = grace_chain {
        let sum = CLEANUP_MS * SERVICES.len() as u64;
        let target = sum as f64 * 1.05 + 10.0;
        let _ = writeln!(
            table,
            "grace's ordered stop of the chain: {chain} ms from web's signal to db's end of \
             cleanup, against {sum} ms of cleanups (target ≤ {target:.0} ms: {}).",
            if chain as f64 <= target {
                "met"
            } else {
                "**missed**"
            }
        );
    }
    println!("{table}");
    if only.is_empty() {
        let machine = section::machine();
        let block = format!(
            "### The same three services in a container ({}, {machine})\n\n{table}",
            section::today()
        );
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
        section::write_block(&file, "compare-services", &block).expect("write BENCHMARKS.md");
        eprintln!("compare-services: wrote BENCHMARKS.md");
    }
}
