//! `grace --config FILE` as PID 1 of real podman containers (the busybox
//! rootfs, the static grace and probe): the ordered stop on `podman stop`,
//! a service killed at its stop_timeout, an essential service's `kill -9`,
//! a helper's restarts, readiness by fd, exec, tcp and notify (the static
//! probe sends READY=1: busybox has no systemd-notify), a service's stray,
//! a bad file, 2 × 10,000 lines arriving whole in `podman logs`, and
//! `grace status` with the ready file through `podman
//! exec`. The services are probes writing into the bind-mounted
//! /markers, stamped with CLOCK_MONOTONIC, which the container shares with
//! the host. Subreaper mode is covered in tests/services_run.rs only: in a
//! container grace is PID 1.

use std::fs;
use std::time::Duration;

use crate::support::containers::{
    Container, Rootfs, Runtime, container_probe, host_processes_mentioning,
};
use crate::support::services::{assert_stopped_in_order, chain, start_in_podman, toml_argv};
use crate::support::{event_time, finished_cleanup, named, services_of, wait_until};

fn argv(line: &str) -> String {
    toml_argv(&line.split_whitespace().collect::<Vec<_>>())
}

/// Starts a podman container whose grace runs the services file `text`,
/// written to /services.toml, and waits for each probe in `ready`.
fn start(rootfs: Rootfs, text: &str, ready: &[&str]) -> Container {
    start_in_podman(rootfs, text, ready, &[])
}

/// Nothing of the container is left on the host once it is gone.
fn assert_nothing_left(container: Container, tag: &str) {
    drop(container);
    assert_eq!(
        host_processes_mentioning(tag),
        Vec::<i32>::new(),
        "left behind"
    );
}

#[test]
fn podman_stop_stops_the_services_in_reverse_dependency_order() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let text = chain("5s", |name| {
        argv(&container_probe(name, "--cleanup-ms 300", &tag))
    });
    let mut container = start(rootfs, &text, &["db", "app", "web"]);
    let (code, took) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 0, "{logs}");
    assert_stopped_in_order(&container.rootfs.markers(), &logs);
    assert_eq!(services_of(&logs, "service_stop"), ["web", "app", "db"]);
    // grace ended the stop, well before podman's SIGKILL at 10 s.
    assert!(took < Duration::from_secs(10), "took {took:?}\n{logs}");
    assert!(named(&logs, "deadline_kill").is_empty(), "{logs}");
    assert_nothing_left(container, &tag);
}

#[test]
fn podman_exec_kill_9_of_an_essential_service_stops_the_rest_and_exits_137() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let text = chain("5s", |name| {
        argv(&container_probe(name, "--cleanup-ms 300", &tag))
    });
    let mut container = start(rootfs, &text, &["db", "app", "web"]);
    container.exec(&["sh", "-c", "kill -9 $(cat /markers/app.ready)"]);
    let code = container.wait();
    let logs = container.logs();
    assert_eq!(code, 137, "{logs}");
    assert_eq!(services_of(&logs, "service_essential"), ["app"], "{logs}");
    let markers = container.rootfs.markers();
    for name in ["web", "db"] {
        assert!(finished_cleanup(&markers, name), "{name}\n{logs}");
    }
    let time = |name: &str, event: &str| event_time(&markers, name, event).unwrap();
    assert!(
        time("web", "cleanup-done") <= time("db", "signal"),
        "db got its signal before web finished\n{logs}"
    );
    assert_nothing_left(container, &tag);
}

#[test]
fn podman_stop_reaches_a_services_stray_after_the_services() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let app = format!(
        "({} &); exec {}",
        container_probe("stray", "--setsid --cleanup-ms 300", &tag),
        container_probe("app", "--cleanup-ms 100", &tag)
    );
    let text = format!(
        "grace_period = \"5s\"\n\
         [service.db]\ncommand = {}\n\
         [service.app]\ncommand = {}\nafter = [\"db\"]\n",
        argv(&container_probe("db", "--cleanup-ms 300", &tag)),
        toml_argv(&["sh", "-c", &app]),
    );
    let mut container = start(rootfs, &text, &["db", "app", "stray"]);
    let (code, took) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 0, "{logs}");
    assert!(took < Duration::from_secs(10), "took {took:?}\n{logs}");
    let markers = container.rootfs.markers();
    for name in ["db", "app", "stray"] {
        assert!(finished_cleanup(&markers, name), "{name}\n{logs}");
    }
    let time = |name: &str, event: &str| event_time(&markers, name, event).unwrap();
    assert!(
        time("stray", "signal") >= time("db", "cleanup-done"),
        "the stray was signalled before the services were gone\n{logs}"
    );
    assert_nothing_left(container, &tag);
}

/// fd, exec, tcp and notify readiness in the container, each gating its
/// dependent: the dependent's line in the order file comes after the line
/// its dependency wrote just before it became ready, 200 ms after its
/// start (the delay opens the window a dependent started early would show
/// in; it synchronises nothing).
#[test]
fn podman_readiness_by_fd_exec_tcp_and_notify_gates_the_dependents() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let o = "/markers/order";
    let sh = |script: String| toml_argv(&["sh", "-c", &script]);
    let dependent = |kind: &str| sh(format!("echo {kind}-dependent >> {o}; exec sleep 600"));
    let text = format!(
        "grace_period = \"5s\"\n\
         [service.fd]\ncommand = {fd}\nready = {{ fd = 3 }}\n\
         [service.exec]\ncommand = {exec}\n\
         ready = {{ exec = [\"test\", \"-e\", \"/tmp/exec-ready\"], interval = \"20ms\" }}\n\
         [service.tcp]\ncommand = {tcp}\nready = {{ tcp = \"127.0.0.1:8080\" }}\n\
         [service.notify]\ncommand = {notify}\nready = \"notify\"\n\
         [service.fd-after]\ncommand = {fd_after}\nafter = [\"fd\"]\n\
         [service.exec-after]\ncommand = {exec_after}\nafter = [\"exec\"]\n\
         [service.tcp-after]\ncommand = {tcp_after}\nafter = [\"tcp\"]\n\
         [service.notify-after]\ncommand = {notify_after}\nafter = [\"notify\"]\n",
        fd = sh(format!(
            "sleep 0.2; echo fd-ready >> {o}; echo >&3; exec sleep 600"
        )),
        exec = sh(format!(
            "sleep 0.2; echo exec-ready >> {o}; : > /tmp/exec-ready; exec sleep 600"
        )),
        // busybox nc: -ll keeps listening after each connection.
        tcp = sh(format!(
            "sleep 0.2; echo tcp-ready >> {o}; exec nc -ll -p 8080 -e true"
        )),
        notify = sh(format!(
            "sleep 0.2; echo notify-ready >> {o}; exec {}",
            container_probe("notifier", "--notify", &tag)
        )),
        fd_after = dependent("fd"),
        exec_after = dependent("exec"),
        tcp_after = dependent("tcp"),
        notify_after = dependent("notify"),
    );
    let mut container = start(rootfs, &text, &["notifier"]);
    let file = container.rootfs.markers().join("order");
    let lines = || -> Vec<String> {
        fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    wait_until("every line of the order file", || lines().len() == 8);
    let lines = lines();
    let position = |what: String| lines.iter().position(|line| *line == what);
    for kind in ["fd", "exec", "tcp", "notify"] {
        let ready = position(format!("{kind}-ready"));
        let dependent = position(format!("{kind}-dependent"));
        assert!(
            matches!((ready, dependent), (Some(a), Some(b)) if a < b),
            "{kind}: {lines:?}\n{}",
            container.logs()
        );
    }
    let (code, _) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 0, "{logs}");
    assert_eq!(services_of(&logs, "service_ready").len(), 8, "{logs}");
    assert_nothing_left(container, &tag);
}

/// A service that ignores SIGTERM is killed at its stop_timeout, named with
/// its service, and the stop goes on to the service before it; `podman
/// stop` returns long before its own 10 s.
#[test]
fn podman_stop_kills_a_service_at_its_stop_timeout_and_names_it() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let text = format!(
        "grace_period = \"8s\"\n\
         [service.db]\ncommand = {}\n\
         [service.stubborn]\ncommand = {}\nafter = [\"db\"]\nstop_timeout = \"1s\"\n",
        argv(&container_probe("db", "--cleanup-ms 200", &tag)),
        argv(&container_probe(
            "stubborn",
            "--ignore 15 --exit-on 10",
            &tag
        )),
    );
    let mut container = start(rootfs, &text, &["db", "stubborn"]);
    let (code, took) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 0, "{logs}");
    assert_eq!(services_of(&logs, "service_kill"), ["stubborn"], "{logs}");
    assert!(named(&logs, "deadline_kill").is_empty(), "{logs}");
    let markers = container.rootfs.markers();
    assert!(finished_cleanup(&markers, "db"), "{logs}");
    // Within grace's 8 s: its deadline was never reached.
    assert!(took < Duration::from_secs(8), "took {took:?}\n{logs}");
    assert_nothing_left(container, &tag);
}

/// A `restart = "always"` helper restarted with growing waits while db
/// stays up; past max_restarts the container exits with its status.
#[test]
fn podman_a_failing_helper_restarts_with_backoff_then_ends_the_container() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let helper = format!(
        "{}; exit 3",
        container_probe("helper", "--mark start", &tag)
    );
    let text = format!(
        "[service.db]\ncommand = {}\n\
         [service.helper]\ncommand = {}\nafter = [\"db\"]\nrestart = \"always\"\nmax_restarts = 3\n",
        argv(&container_probe("db", "--cleanup-ms 100", &tag)),
        toml_argv(&["sh", "-c", &helper]),
    );
    let mut container = start(rootfs, &text, &[]);
    let code = container.wait();
    let logs = container.logs();
    assert_eq!(code, 3, "{logs}");
    let markers = container.rootfs.markers();
    let starts: Vec<u64> = crate::support::probe_log(&markers, "helper")
        .into_iter()
        .filter(|(event, _, _)| event == "start")
        .map(|(_, _, ms)| ms)
        .collect();
    assert_eq!(starts.len(), 4, "{starts:?}\n{logs}");
    let gaps: Vec<u64> = starts.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for (gap, backoff) in gaps.iter().zip([100, 200, 400]) {
        assert!(*gap >= backoff - 1, "gaps {gaps:?}\n{logs}");
    }
    assert!(gaps[2] > gaps[0], "gaps {gaps:?} do not grow");
    assert_eq!(services_of(&logs, "service_gave_up"), ["helper"], "{logs}");
    assert!(finished_cleanup(&markers, "db"), "{logs}");
    assert!(event_time(&markers, "db", "signal").unwrap() >= starts[3]);
    assert_nothing_left(container, &tag);
}

/// A bad file in the container: exit 2, the file, line and key named, and
/// nothing started.
#[test]
fn podman_a_bad_file_exits_2_and_starts_nothing() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let text = format!(
        "[service.a]\ncommand = {}\nafter = [\"b\"]\n\
         [service.b]\ncommand = {}\nafter = [\"a\"]\n\
         [service.c]\ncommand = {}\n",
        argv(&container_probe("a", "", &tag)),
        argv(&container_probe("b", "", &tag)),
        argv(&container_probe("c", "", &tag)),
    );
    let mut container = start(rootfs, &text, &[]);
    let code = container.wait();
    let logs = container.logs();
    assert_eq!(code, 2, "{logs}");
    assert!(
        logs.contains("/services.toml:6: service.b.after: "),
        "{logs}"
    );
    let started: Vec<_> = fs::read_dir(container.rootfs.markers())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name())
        .collect();
    assert!(started.is_empty(), "started: {started:?}\n{logs}");
}

/// `grace status --json` in the container: (exit code, the JSON).
fn status(container: &Container) -> (i32, serde_json::Value) {
    let output = container.exec_output(&["/grace", "status", "--json"]);
    let value = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output.status.code().unwrap_or(-1), value)
}

fn state_of(value: &serde_json::Value, name: &str) -> String {
    value["services"]
        .as_array()
        .and_then(|services| services.iter().find(|s| s["name"] == name))
        .and_then(|s| s["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

fn ready_file(container: &Container) -> bool {
    container
        .exec_output(&["test", "-e", "/run/grace/ready"])
        .status
        .success()
}

#[test]
fn grace_status_and_the_ready_file_through_podman_exec_while_starting_ready_and_stopping() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    // db is ready once the test says so; app's TERM handler waits until
    // the test lets it go, so that the stop can be looked at.
    let db = format!(
        "while [ ! -e /markers/go ]; do sleep 0.02; done; echo >&3; exec {}",
        container_probe("db", "--cleanup-ms 100", &tag)
    );
    let app = "trap 'touch /markers/app.stopping; while [ ! -e /markers/release ]; do sleep 0.02; done; exit 0' TERM; \
         touch /markers/app.up; while :; do sleep 1 & wait; done";
    let text = format!(
        "grace_period = \"30s\"\n\
         [service.db]\ncommand = {}\nready = {{ fd = 3 }}\n\
         [service.app]\ncommand = {}\nafter = [\"db\"]\n",
        toml_argv(&["sh", "-c", &db]),
        toml_argv(&["sh", "-c", app]),
    );
    fs::write(rootfs.root().join("services.toml"), &text).expect("write services.toml");
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--config", "/services.toml"],
        &[],
    );
    let markers = container.rootfs.markers();

    // Starting: db waits for the test, app for db.
    let mut seen = (0, serde_json::Value::Null);
    wait_until("db starting in grace status", || {
        seen = status(&container);
        state_of(&seen.1, "db") == "starting"
    });
    assert_eq!(seen.0, 1, "not ready yet: {}", seen.1);
    assert_eq!(state_of(&seen.1, "app"), "waiting", "{}", seen.1);
    assert!(
        !ready_file(&container),
        "ready file before the services are"
    );

    // Ready.
    fs::write(markers.join("go"), "").expect("go");
    wait_until("the ready file", || ready_file(&container));
    let (code, value) = status(&container);
    assert_eq!(code, 0, "{value}");
    assert_eq!(state_of(&value, "db"), "ready");
    assert_eq!(state_of(&value, "app"), "ready");
    assert!(markers.join("app.up").exists());

    // Stopping: app holds the stop in its handler.
    container.kill("TERM");
    wait_until("app's handler", || markers.join("app.stopping").exists());
    let (code, value) = status(&container);
    assert_eq!(code, 1, "{value}");
    assert_eq!(value["stopping"], true, "{value}");
    assert_eq!(state_of(&value, "app"), "stopping", "{value}");
    assert_eq!(state_of(&value, "db"), "ready", "db waits for app: {value}");
    assert!(!ready_file(&container), "ready file during the stop");

    fs::write(markers.join("release"), "").expect("release");
    let code = container.wait();
    let logs = container.logs();
    assert_eq!(code, 0, "{logs}");
    assert!(finished_cleanup(&markers, "db"), "{logs}");
    assert_nothing_left(container, &tag);
}

#[test]
fn two_services_writing_10000_lines_each_at_once_arrive_whole_and_prefixed_in_podman_logs() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    // Each line is long enough that two writers racing on one pipe would
    // tear some, were grace not writing whole lines; then the service
    // exits 0 and, as an on-failure service, stays down.
    let writer = |name: &str| {
        let script = format!(
            "i=0; while [ $i -lt 10000 ]; do \
             echo \"{name}-$i-{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}{name}-end\"; \
             i=$((i+1)); done; touch /markers/{name}.done"
        );
        toml_argv(&["sh", "-c", &script])
    };
    let text = format!(
        "[service.alpha]\ncommand = {}\nrestart = \"on-failure\"\n\
         [service.beta]\ncommand = {}\nrestart = \"on-failure\"\n\
         [service.idle]\ncommand = {}\n",
        writer("alpha"),
        writer("beta"),
        argv(&container_probe("idle", "--cleanup-ms 10", &tag)),
    );
    // Text logs: the prefix is the product here.
    fs::write(rootfs.root().join("services.toml"), &text).expect("write services.toml");
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--config", "/services.toml"],
        &[],
    );
    let markers = container.rootfs.markers();
    wait_until("both writers done", || {
        markers.join("alpha.done").exists() && markers.join("beta.done").exists()
    });
    let (code, _) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 0);
    for name in ["alpha", "beta"] {
        let body: String = [name; 32].concat();
        let lines: Vec<&str> = logs
            .lines()
            .filter(|line| line.starts_with(&format!("{name} | ")))
            .collect();
        assert_eq!(lines.len(), 10_000, "{name}: lines lost or split");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(
                *line,
                format!("{name} | {name}-{i}-{body}-end"),
                "{name}: line {i} torn, mixed or out of order"
            );
        }
    }
    assert_nothing_left(container, &tag);
}
