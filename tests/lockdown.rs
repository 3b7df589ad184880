//! grace where the container is locked down (issue 21, parts 2 and 3):
//! the run directory and `grace status` as root and as a non-root user,
//! on a writable root, a read-only root with tmpfs mounts and one without,
//! in real podman containers; and in PID namespaces, who may talk to PID 1:
//! a notify service running as another user is heard, a READY=1 from
//! outside the service is not, a link planted in the run directory is not
//! followed, and what needs root is refused before anything starts.
//!
//! The notify sender is the static probe (`--notify`, then NAME.notified):
//! busybox has no systemd-notify, and the probe is already in every rootfs
//! and namespace test, where socat or python would be one more package.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::support::containers::Rootfs;
use crate::support::services::{self, start_in_podman, toml_argv};
use crate::support::{
    Grace, Mode, TempDir, finished_cleanup, grace_bin, json_log, named, probe, probe_args,
    services_of, wait_until,
};

fn open_to_all(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// DIR/services.toml with `text`, as a word of grace's command line.
fn write_config(dir: &TempDir, text: &str) -> String {
    services::write_config(dir, text).display().to_string()
}

/// grace as PID 1 with `--run-dir RUN --config FILE -- MAIN...`, logging
/// JSON, behind `launcher`.
fn start(dir: &TempDir, launcher: &[&str], args: &[&str]) -> Grace {
    let mut builder = Grace::builder(Mode::Pid1).configure(json_log);
    for arg in args {
        builder = builder.arg(arg);
    }
    builder.start_as(Path::new(grace_bin()), launcher, dir)
}

/// grace with the services file `config` and `--run-dir RUN`; its main
/// command writes `marker`, once every service is ready.
fn start_marking(dir: &TempDir, run: &Path, config: &str, marker: &Path) -> Grace {
    let main = format!("echo ran > {}", marker.display());
    let run = run.to_str().expect("UTF-8 path");
    let args = [
        "--run-dir",
        run,
        "--config",
        config,
        "--",
        "sh",
        "-c",
        &main,
    ];
    start(dir, &[], &args)
}

/// DIR/go, a FIFO: a service reading it waits until the test writes.
fn fifo(dir: &TempDir) -> std::path::PathBuf {
    let go = dir.join("go");
    let status = Command::new("mkfifo").arg(&go).status().expect("mkfifo");
    assert!(status.success());
    go
}

/// A service running as nobody, with ready = "notify", is heard: its
/// socket is its own (mode 0600), so its READY=1 lands, and the main
/// command starts. Before, the socket was root's, mode 0755: EACCES.
#[test]
fn a_notify_service_running_as_another_user_is_heard() {
    let dir = TempDir::new();
    open_to_all(dir.path(), 0o777);
    let run = dir.join("run");
    let marker = dir.join("main-ran");
    let go = fifo(&dir);
    let probe = probe(&dir, "pg", &["--notify"]);
    let config = write_config(
        &dir,
        &format!(
            "[service.pg]\ncommand = {}\nuser = \"nobody\"\nready = \"notify\"\n",
            toml_argv(&[
                "sh",
                "-c",
                &format!("read x < {}; exec {probe}", go.display())
            ])
        ),
    );
    let mut grace = start_marking(&dir, &run, &config, &marker);
    // The socket, while the service has yet to use it: its user's alone.
    let socket = run.join("notify/pg");
    wait_until("the notify socket", || socket.exists() || grace.pid == 0);
    let metadata = fs::symlink_metadata(&socket).expect("the notify socket");
    assert!(metadata.file_type().is_socket());
    assert_eq!((metadata.uid(), metadata.mode() & 0o777), (65534, 0o600));
    fs::write(&go, "\n").expect("release pg");
    let code = grace.wait_code();
    let log = grace.stderr();
    assert!(
        dir.join("pg.notified").exists(),
        "pg never sent READY=1\n{log}"
    );
    assert_eq!(services_of(&log, "service_ready"), ["pg"], "{log}");
    assert!(marker.exists(), "the main command never started\n{log}");
    assert_eq!(code, 0, "{log}");
}

/// A READY=1 from a process that is not the service's (another service,
/// and a process outside grace's PID namespace) is dropped with a warning;
/// the service's own is heard.
#[test]
fn a_ready_sent_by_another_process_is_dropped() {
    let dir = TempDir::new();
    let run = dir.join("run");
    let socket = run.join("notify/target");
    let go = fifo(&dir);
    let marker = dir.join("main-ran");
    let probe = |name: &str| probe(&dir, name, &["--notify"]);
    let config = write_config(
        &dir,
        &format!(
            "[service.target]\ncommand = {}\nready = \"notify\"\n\
             [service.spoof]\ncommand = {}\n",
            toml_argv(&[
                "sh",
                "-c",
                &format!("read x < {}; exec {}", go.display(), probe("target"))
            ]),
            toml_argv(&[
                "sh",
                "-c",
                &format!(
                    "while [ ! -S {s} ]; do sleep 0.01; done; NOTIFY_SOCKET={s} exec {}",
                    probe("spoof"),
                    s = socket.display()
                )
            ]),
        ),
    );
    let mut grace = start_marking(&dir, &run, &config, &marker);
    let notified = dir.join("spoof.notified");
    wait_until("the spoofing service's READY=1", || {
        notified.exists() || grace.pid == 0
    });
    // From the host: outside grace's PID namespace.
    std::os::unix::net::UnixDatagram::unbound()
        .and_then(|sender| sender.send_to(b"READY=1\n", &socket))
        .expect("send READY=1 from the host");
    let heard = |log: &str| {
        services_of(log, "service_ready").contains(&"target".to_string())
            || named(log, "notify_dropped").len() >= 2
    };
    wait_until("grace to hear both", || heard(&grace.stderr()));
    let log = grace.stderr();
    assert!(
        !services_of(&log, "service_ready").contains(&"target".to_string()),
        "a READY=1 from outside the service was heard\n{log}"
    );
    assert!(!marker.exists(), "the main command started\n{log}");
    // Now the service's own.
    fs::write(&go, "\n").expect("release the target");
    let code = grace.wait_code();
    let log = grace.stderr();
    assert!(marker.exists(), "the main command never started\n{log}");
    assert_eq!(code, 0, "{log}");
}

/// A symbolic link planted where grace writes its state (.state.PID; grace
/// is pid 1) is removed, not followed: its target is untouched.
#[test]
fn a_link_planted_in_the_run_directory_is_not_followed() {
    let dir = TempDir::new();
    let run = dir.join("run");
    fs::create_dir(&run).unwrap();
    open_to_all(&run, 0o755);
    let precious = dir.join("precious");
    fs::write(&precious, "precious").unwrap();
    symlink(&precious, run.join(".state.1")).unwrap();
    let config = write_config(&dir, "[service.s]\ncommand = [\"sleep\", \"600\"]\n");
    let mut grace = start(
        &dir,
        &[],
        &[
            "--run-dir",
            run.to_str().unwrap(),
            "--config",
            &config,
            "--",
            "true",
        ],
    );
    let code = grace.wait_code();
    let log = grace.stderr();
    assert_eq!(fs::read_to_string(&precious).unwrap(), "precious", "{log}");
    let state = fs::symlink_metadata(run.join("state")).expect("a state was published");
    assert!(state.file_type().is_file(), "{log}");
    assert_eq!(code, 0, "{log}");
}

/// As a non-root user, `user =` and `--user` are refused before anything
/// starts (exit 2 for the file, 125 for the option): the service never
/// runs.
#[test]
fn what_needs_root_is_refused_before_anything_starts() {
    let dir = TempDir::new();
    open_to_all(dir.path(), 0o777);
    let service = toml_argv(&probe_args(&dir, "svc", &[]));
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    for (text, extra, expected) in [
        (
            format!("[service.svc]\ncommand = {service}\nuser = \"nobody\"\n"),
            None,
            2,
        ),
        (
            format!("[service.svc]\ncommand = {service}\n"),
            Some("--user=nobody"),
            125,
        ),
    ] {
        let config = write_config(&dir, &text);
        let mut args = vec!["--run-dir", "/nonexistent/run", "--config", &config];
        args.extend(extra);
        args.extend(["--", "true"]);
        let mut grace = start(&dir, &nobody, &args);
        let code = grace.wait_code();
        let log = grace.stderr();
        assert!(!dir.join("svc.ready").exists(), "the service ran\n{log}");
        assert_eq!(code, expected, "{log}");
        assert_eq!(named(&log, "user").len(), 1, "{log}");
    }
}

/// `grace status` through `podman exec` for each of: root and uid 1000,
/// each on a writable root, a read-only root with podman's tmpfs mounts
/// (/run, /tmp) and a read-only one without them (only /dev/shm is
/// writable); and with nothing writable at all, services still run and
/// status says there is no state. The service is ready by notify, so its
/// socket found a home too.
#[test]
fn grace_status_works_as_root_and_non_root_on_writable_and_read_only_roots() {
    let read_only = ["--read-only"];
    let no_tmpfs = ["--read-only", "--read-only-tmpfs=false"];
    let nothing = ["--read-only", "--read-only-tmpfs=false", "--ipc=none"];
    for user in ["0:0", "1000:1000"] {
        for (root, flags) in [
            ("writable", &[][..]),
            ("read-only with tmpfs", &read_only[..]),
            ("read-only without tmpfs", &no_tmpfs[..]),
            ("nothing writable", &nothing[..]),
        ] {
            let writable = root != "nothing writable";
            if !writable && user == "0:0" {
                // Once, as non-root, is enough for the case that works the
                // least.
                continue;
            }
            let rootfs = Rootfs::new();
            open_to_all(&rootfs.markers(), 0o777);
            // As in any image: /tmp is everyone's.
            open_to_all(&rootfs.root().join("tmp"), 0o1777);
            // A notify service needs its socket; with nowhere to make it,
            // it would fail at once (docs/services.md), so there the
            // service is ready when started.
            let tag = rootfs.tag();
            let mut probe = vec![
                "/probe", "--dir", "/markers", "--tag", &tag, "--name", "svc",
            ];
            let mut ready = "";
            if writable {
                probe.push("--notify");
                ready = "ready = \"notify\"\n";
            }
            let text = format!("[service.svc]\ncommand = {}\n{ready}", toml_argv(&probe));
            let mut run_flags = vec!["--user", user];
            run_flags.extend(flags);
            let container = start_in_podman(rootfs, &text, &["svc"], &run_flags);
            let what = format!("user {user}, {root}");
            // grace publishes as it logs what it decided about the service.
            wait_until(&format!("{what}: the service ready or failed"), || {
                let logs = container.logs();
                [
                    "services_ready",
                    "service_not_ready",
                    "service_failed",
                    "service_exited",
                ]
                .iter()
                .any(|event| logs.contains(&format!("\"{event}\"")))
            });
            let output = container.exec_output(&["/grace", "status", "--json"]);
            let code = output.status.code();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            let logs = container.logs();
            if writable {
                assert_eq!(code, Some(0), "{what}: {stderr}\n{logs}");
            } else {
                assert_eq!(code, Some(1), "{what}: {stderr}\n{logs}");
                assert!(stderr.contains("no services' state"), "{what}: {stderr}");
            }
        }
    }
}

/// As a non-root user (nobody), PID 1 of its namespace: the services run
/// and are stopped, and `grace status` and `grace inspect`, also as
/// nobody, answer from what that user may read.
#[test]
fn as_a_non_root_user_services_status_inspect_and_the_stop_work() {
    let dir = TempDir::new();
    open_to_all(dir.path(), 0o777);
    let d = dir.path().display();
    let grace = grace_bin();
    let config = write_config(
        &dir,
        &format!(
            "[service.svc]\ncommand = {}\n",
            toml_argv(&probe_args(&dir, "svc", &["--cleanup-ms", "100"]))
        ),
    );
    // The main command may start before grace has published that every
    // service is ready: it waits for the ready file, which grace makes
    // right after.
    let main = format!(
        "while [ ! -e {d}/run/ready ]; do sleep 0.01; done; \
         {grace} status > {d}/status.out; echo $? > {d}/status.code; \
         {grace} inspect --json > {d}/inspect.json; echo $? > {d}/inspect.code"
    );
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let run = dir.join("run");
    let mut builder = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .configure(|command| {
            command.env("GRACE_RUN_DIR", &run);
        });
    for arg in ["--config", &config, "--", "sh", "-c", &main] {
        builder = builder.arg(arg);
    }
    let mut grace = builder.start_as(Path::new(grace_bin()), &nobody, &dir);
    let code = grace.wait_code();
    let log = grace.stderr();
    let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert_eq!(
        read("status.code").trim(),
        "0",
        "{}\n{log}",
        read("status.out")
    );
    assert_eq!(read("inspect.code").trim(), "0", "{log}");
    let inspect: serde_json::Value =
        serde_json::from_str(&read("inspect.json")).expect("inspect's JSON");
    assert!(inspect.is_object(), "{inspect}");
    assert!(finished_cleanup(&dir, "svc"), "the service's stop\n{log}");
    assert_eq!(code, 0, "{log}");
}

/// A notify service with nowhere to make its socket (the run directory
/// cannot be had) fails at once, naming why, rather than waiting out a
/// start_timeout (here an hour: only failing at once ends it in time).
#[test]
fn a_notify_service_without_a_run_directory_fails_at_once() {
    let dir = TempDir::new();
    let config = write_config(
        &dir,
        &format!(
            "[service.db]\ncommand = {}\nready = \"notify\"\nstart_timeout = \"1h\"\n",
            toml_argv(&probe_args(&dir, "db", &["--notify"]))
        ),
    );
    // /proc takes no directory.
    let args = ["--run-dir", "/proc/grace", "--config", &config];
    let mut grace = start(&dir, &[], &args);
    let code = grace.wait_code();
    let log = grace.stderr();
    assert!(!dir.join("db.ready").exists(), "the service ran\n{log}");
    let failed = named(&log, "service_failed");
    assert_eq!(failed.len(), 1, "{log}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("run directory"),
        "{log}"
    );
    assert_ne!(code, 0, "{log}");
}
