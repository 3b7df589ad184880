//! `grace restart`, `stop`, `start` and `signal`, run inside grace's PID
//! namespace (through `nsenter`, as `docker exec` enters a container) and
//! in a real podman container (`podman exec`). The services are sh
//! scripts that append what happens to them (start with their pid, ready,
//! stop, hup) to one file opened with O_APPEND, whose line order needs no
//! clock; their pids and states are read with `grace status --json`;
//! what grace logged, from its JSON log events.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::containers::{Container, Rootfs};
use crate::support::services::{lines_of, start_in_podman, toml_argv, write_config};
use crate::support::{Grace, Mode, TempDir, grace_command_line, json_log, named, wait_until};

/// A service that appends `start NAME`, and once ready (db: 200 ms later,
/// by its fd) `ready NAME`, to `order`; `stop NAME` on TERM, `hup NAME` on
/// HUP.
fn script(name: &str, order: &str) -> String {
    let ready = if name == "db" {
        format!("sleep 0.2; echo ready {name} >> {order}; echo >&3; ")
    } else {
        String::new()
    };
    format!(
        "trap 'echo stop {name} >> {order}; exit 0' TERM; \
         trap 'echo hup {name} >> {order}' HUP; \
         echo start {name} >> {order}; {ready}\
         while :; do sleep 1 & wait; done"
    )
}

/// db ← app ← web, db ready by its fd.
fn file(order: &str) -> String {
    let service = |name: &str| toml_argv(&["sh", "-c", &script(name, order)]);
    format!(
        "[service.db]\ncommand = {}\nready = {{ fd = 3 }}\n\
         [service.app]\ncommand = {}\nafter = [\"db\"]\n\
         [service.web]\ncommand = {}\nafter = [\"app\"]\n",
        service("db"),
        service("app"),
        service("web"),
    )
}

/// Whether each of `sequence` appears in `lines` after the one before.
fn in_order(lines: &[String], sequence: &[&str]) -> bool {
    let mut from = 0;
    for wanted in sequence {
        match lines[from..].iter().position(|line| line == wanted) {
            Some(at) => from += at + 1,
            None => return false,
        }
    }
    true
}

/// `grace status --json`'s (exit code, services' (name, state, pid)).
type Status = (i32, Vec<(String, String, i64)>);

fn parse_status(code: i32, stdout: &[u8]) -> Status {
    let value: serde_json::Value = serde_json::from_slice(stdout).unwrap_or_default();
    let services = value["services"]
        .as_array()
        .map(|services| {
            services
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap_or("?").to_string(),
                        s["state"].as_str().unwrap_or("?").to_string(),
                        s["pid"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (code, services)
}

fn pid(status: &Status, name: &str) -> i64 {
    status.1.iter().find(|s| s.0 == name).map_or(0, |s| s.2)
}

fn state(status: &Status, name: &str) -> String {
    status
        .1
        .iter()
        .find(|s| s.0 == name)
        .map_or(String::new(), |s| s.1.clone())
}

/// After `grace restart app`: ready when the command returned, a new app,
/// db and web as they were, app stopped and started after web started.
fn assert_app_restarted_alone(before: &Status, after: &Status, order: &Path) {
    assert_eq!(after.0, 0, "ready when the command returns: {after:?}");
    assert_ne!(pid(after, "app"), pid(before, "app"));
    for name in ["db", "web"] {
        assert_eq!(pid(after, name), pid(before, name), "{name}");
    }
    let lines = lines_of(order);
    assert!(
        in_order(&lines, &["start web", "stop app", "start app"]),
        "{lines:?}"
    );
}

/// grace as PID 1 of its namespace, and commands run inside it.
struct Inside {
    grace: Grace,
    run: PathBuf,
}

impl Inside {
    /// `grace ARGS --run-dir RUN` in grace's PID and mount namespaces (its
    /// /proc), as the uid `as_user` if given (setpriv): (exit code,
    /// stdout, stderr).
    fn grace(&self, args: &[&str], as_user: Option<u32>) -> (i32, Vec<u8>, String) {
        let mut command = Command::new("nsenter");
        command.args([
            "--target",
            &self.grace.pid.to_string(),
            "--pid",
            "--mount",
            "--",
        ]);
        if let Some(uid) = as_user {
            let uid = uid.to_string();
            command.args([
                "setpriv",
                "--reuid",
                &uid,
                "--regid",
                &uid,
                "--clear-groups",
                "--",
            ]);
        }
        let output = command
            .args(grace_command_line())
            .args(args)
            .arg("--run-dir")
            .arg(&self.run)
            .output()
            .expect("nsenter");
        (
            output.status.code().unwrap_or(-1),
            output.stdout,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn control(&self, args: &[&str]) -> i32 {
        let (code, _, stderr) = self.grace(args, None);
        assert!(code == 0 || !stderr.is_empty(), "a failure says why");
        code
    }

    fn status(&self) -> Status {
        let (code, stdout, _) = self.grace(&["status", "--json"], None);
        parse_status(code, &stdout)
    }
}

#[test]
fn restart_stop_start_and_signal_one_service_from_inside_grace_s_namespace() {
    let dir = TempDir::new();
    let order = dir.join("order");
    let run = dir.join("run");
    let config = write_config(&dir, &file(&order.display().to_string()));
    let grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .arg("--run-dir")
        .arg(&run)
        .arg("--config")
        .arg(&config)
        .start(&dir);
    let inside = Inside { grace, run };
    wait_until("every service ready", || inside.status().0 == 0);
    let before = inside.status();
    let log = || inside.grace.stderr();

    // Restart app: a new app, the others as they were.
    assert_eq!(inside.control(&["restart", "app"]), 0, "{}", log());
    let after = inside.status();
    assert_app_restarted_alone(&before, &after, &order);

    // Stop app: it stays stopped, grace and web run on, status says 1.
    assert_eq!(inside.control(&["stop", "app"]), 0, "{}", log());
    let stopped = inside.status();
    assert_eq!(stopped.0, 1, "{stopped:?}");
    assert_eq!(state(&stopped, "app"), "stopped");
    assert_eq!(pid(&stopped, "web"), pid(&before, "web"));
    assert!(named(&log(), "service_essential").is_empty(), "{}", log());
    assert!(
        named(&log(), "stop").is_empty(),
        "the container's stop began"
    );

    // A signal to a stopped service is refused; to a running one, it goes.
    assert_eq!(inside.control(&["signal", "HUP", "app"]), 1);
    assert_eq!(inside.control(&["signal", "HUP", "web"]), 0);
    wait_until("web's HUP", || {
        lines_of(&order).contains(&"hup web".to_string())
    });

    // Start app: back, ready.
    assert_eq!(inside.control(&["start", "app"]), 0, "{}", log());
    let started = inside.status();
    assert_eq!(started.0, 0, "{started:?}");

    // Restart db with its dependents: the last started stop first, and
    // each starts once the one before it is ready.
    let from = lines_of(&order).len();
    assert_eq!(
        inside.control(&["restart", "--with-dependents", "db"]),
        0,
        "{}",
        log()
    );
    let restarted = inside.status();
    assert_eq!(restarted.0, 0, "{restarted:?}");
    for name in ["db", "app", "web"] {
        assert_ne!(pid(&restarted, name), pid(&started, name), "{name}");
    }
    // app is ready once spawned, so web may start before app's shell
    // writes its line: only "after ready db" holds for both.
    let tail = lines_of(&order)[from..].to_vec();
    let stopped_then = ["stop web", "stop app", "stop db", "start db", "ready db"];
    for started in ["start app", "start web"] {
        let sequence: Vec<&str> = stopped_then.iter().copied().chain([started]).collect();
        assert!(in_order(&tail, &sequence), "{tail:?}");
    }

    // Unknown service; another user, refused by the socket's mode.
    assert_eq!(inside.control(&["restart", "nope"]), 1);
    let (code, _, stderr) = inside.grace(&["restart", "app"], Some(65534));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert_eq!(pid(&inside.status(), "app"), pid(&restarted, "app"));

    // Every command that reached PID 1 is logged with who asked (the
    // unknown service and the other user's never did).
    let asked = named(&log(), "control");
    assert_eq!(asked.len(), 6, "{asked:?}");
    for line in &asked {
        assert_eq!(line["uid"], 0, "{line}");
        assert!(line["pid"].as_i64().unwrap_or(0) > 1, "{line}");
    }

    let mut grace = inside.grace;
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
}

/// `podman exec C grace status --json`.
fn status_in(container: &Container) -> Status {
    let output = container.exec_output(&["/grace", "status", "--json"]);
    parse_status(output.status.code().unwrap_or(-1), &output.stdout)
}

fn exec_code(container: &Container, args: &[&str]) -> (i32, String) {
    let output = container.exec_output(args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn podman_exec_grace_restart_stop_and_start_and_a_non_root_user_is_refused() {
    let mut container = start_in_podman(Rootfs::new(), &file("/markers/order"), &[], &[]);
    let order = container.rootfs.markers().join("order");
    wait_until("every service ready", || status_in(&container).0 == 0);
    let before = status_in(&container);

    let (code, stderr) = exec_code(&container, &["/grace", "restart", "app"]);
    assert_eq!(code, 0, "{stderr}\n{}", container.logs());
    let after = status_in(&container);
    assert_app_restarted_alone(&before, &after, &order);

    // Stopped: status exits 1, the container stays up; started: back.
    let (code, stderr) = exec_code(&container, &["/grace", "stop", "app"]);
    assert_eq!(code, 0, "{stderr}");
    let stopped = status_in(&container);
    assert_eq!((stopped.0, state(&stopped, "app")), (1, "stopped".into()));
    let (code, stderr) = exec_code(&container, &["/grace", "start", "app"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(status_in(&container).0, 0);

    // Another user: refused, nothing restarted.
    let app = pid(&status_in(&container), "app");
    let output = Command::new("podman")
        .args(["exec", "--user", "1000", &container.name])
        .args(["/grace", "restart", "app"])
        .output()
        .expect("podman");
    let (code, stderr) = (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert_eq!(pid(&status_in(&container), "app"), app);

    let logs = container.logs();
    let asked = named(&logs, "control");
    assert_eq!(asked.len(), 3, "{logs}");
    assert!(asked.iter().all(|line| line["uid"] == 0), "{logs}");
    let (code, _) = container.stop(std::time::Duration::from_secs(10));
    assert_eq!(code, 0, "{}", container.logs());
}
