//! grace as PID 1 of real containers, stopped by real runtimes: `runc kill`,
//! `podman stop`, `podman kill`, `podman exec … kill`, and podman's own
//! `--init-path` slot. What each process lived through is read from the
//! marker files it wrote into a bind-mounted directory.

use std::time::Duration;

use crate::containers::{
    Container, Rootfs, Runtime, host_processes_mentioning, static_binaries, wait_probe,
};
use crate::util::{finished_cleanup, signals_received};

/// The process shapes of the shutdown issue, in one container.
pub const SHAPES: &[(&str, &str)] = &[
    ("sibling", "--cleanup-ms 300 &"),
    ("daemon", "--daemonize --cleanup-ms 300;"),
    ("slow", "--cleanup-ms 2000 &"),
    ("stopped", "--stop-self --cleanup-ms 100 &"),
    ("ignorer", "--ignore 15 --exit-on 10 &"),
];
pub const WORKERS: usize = 200;

/// A probe command line inside the container; `tag` makes its processes
/// recognisable on the host.
pub fn probe(name: &str, extra: &str, tag: &str) -> String {
    format!("/probe --dir /markers --tag {tag} --name {name} {extra}")
}

/// The shell script that starts every shape, an orphan whose parent shell
/// has exited, WORKERS workers, then becomes the main process.
pub fn shapes_script(tag: &str) -> String {
    let mut script = String::new();
    for (name, extra) in SHAPES {
        script.push_str(&probe(name, extra, tag));
        script.push(' ');
    }
    script.push_str(&format!(
        "(sh -c '{} &'); {} & exec {}",
        probe("orphan", "--cleanup-ms 300", tag),
        probe(
            "w",
            &format!("--fork {} --cleanup-ms 200", WORKERS - 1),
            tag
        ),
        probe("main", "--cleanup-ms 100", tag),
    ));
    script
}

/// Every probe name the shapes script starts.
pub fn shape_names() -> Vec<String> {
    let mut names: Vec<String> = SHAPES.iter().map(|(name, _)| name.to_string()).collect();
    names.extend(["orphan", "main", "w"].map(String::from));
    names.extend((1..WORKERS).map(|i| format!("w-{i}")));
    names
}

pub fn wait_for_shapes(rootfs: &Rootfs) {
    for name in shape_names() {
        wait_probe(rootfs, &name);
    }
}

fn every_shape_is_stopped_gracefully(runtime: Runtime) {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = shapes_script(&tag);
    let mut container = Container::start(
        runtime,
        rootfs,
        &["/grace", "--grace-period", "3s", "--", "sh", "-c", &script],
        &[],
    );
    wait_for_shapes(&container.rootfs);
    let (code, took) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 143, "main died of SIGTERM\n{logs}");
    let markers = container.rootfs.markers();
    let unfinished: Vec<String> = shape_names()
        .into_iter()
        .filter(|name| name != "ignorer" && !finished_cleanup(&markers, name))
        .collect();
    assert!(
        unfinished.is_empty(),
        "did not finish: {unfinished:?}\n{logs}"
    );
    assert!(!finished_cleanup(&markers, "ignorer"));
    assert!(logs.contains("ignores SIGTERM"), "{logs}");
    // grace's deadline, not the runtime's 10 s, ended the stop (the
    // runtime's SIGKILL would also have made it 137).
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    drop(container);
    assert_eq!(
        host_processes_mentioning(&tag),
        Vec::<i32>::new(),
        "left behind"
    );
}

#[test]
fn runc_kill_stops_every_shape_gracefully() {
    every_shape_is_stopped_gracefully(Runtime::Runc);
}

#[test]
fn podman_stop_stops_every_shape_gracefully() {
    every_shape_is_stopped_gracefully(Runtime::Podman);
}

#[test]
fn shell_form_command_lets_the_app_finish() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!("{}; echo done", probe("app", "--cleanup-ms 300", &tag));
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--", "sh", "-c", &script],
        &[],
    );
    wait_probe(&container.rootfs, "app");
    let (code, _) = container.stop(Duration::from_secs(10));
    assert_eq!(code, 143, "{}", container.logs());
    assert!(finished_cleanup(&container.rootfs.markers(), "app"));
}

#[test]
fn podman_stop_timeout_shorter_than_the_grace_period_wins_cleanly() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "{} {} exec {}",
        probe("ignorer", "--ignore 15 --exit-on 10 &", &tag),
        probe("sibling", "--cleanup-ms 100 &", &tag),
        probe("main", "", &tag)
    );
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--", "sh", "-c", &script],
        &[],
    );
    for name in ["ignorer", "sibling", "main"] {
        wait_probe(&container.rootfs, name);
    }
    let (code, took) = container.stop(Duration::from_secs(1));
    // The runtime SIGKILLed grace (137) at its 1 s, before grace's 9 s.
    assert_eq!(code, 137, "{}", container.logs());
    // Before grace's own 9 s deadline.
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert!(finished_cleanup(&container.rootfs.markers(), "sibling"));
    drop(container);
    assert_eq!(
        host_processes_mentioning(&tag),
        Vec::<i32>::new(),
        "left behind"
    );
}

#[test]
fn podman_init_path_runs_grace_as_init() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "{} exec {}",
        probe("sibling", "--cleanup-ms 300 &", &tag),
        probe("main", "", &tag)
    );
    let grace = static_binaries().grace.display().to_string();
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["sh", "-c", &script],
        &["--init", "--init-path", &grace],
    );
    wait_probe(&container.rootfs, "sibling");
    wait_probe(&container.rootfs, "main");
    let (code, _) = container.stop(Duration::from_secs(10));
    assert_eq!(code, 143, "{}", container.logs());
    let markers = container.rootfs.markers();
    assert!(
        finished_cleanup(&markers, "sibling"),
        "{}",
        container.logs()
    );
    assert!(finished_cleanup(&markers, "main"));
}

#[test]
fn podman_kill_hup_reaches_the_main_process() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let main = probe("main", "--handle 1", &tag);
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--", "sh", "-c", &format!("exec {main}")],
        &[],
    );
    wait_probe(&container.rootfs, "main");
    container.kill("HUP");
    let markers = container.rootfs.markers();
    crate::util::wait_until("SIGHUP at the main process", || {
        signals_received(&markers, "main") == [1]
    });
    let (code, _) = container.stop(Duration::from_secs(10));
    assert_eq!(code, 143);
    assert_eq!(signals_received(&markers, "main"), [1, 15]);
}

#[test]
fn kill_term_1_from_inside_the_container_stops_it_gracefully() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "{} exec {}",
        probe("sibling", "--cleanup-ms 300 &", &tag),
        probe("main", "", &tag)
    );
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/grace", "--", "sh", "-c", &script],
        &[],
    );
    wait_probe(&container.rootfs, "sibling");
    wait_probe(&container.rootfs, "main");
    // The exec'd process is in the container too, so grace's stop reaches
    // it: it ignores SIGTERM so that it is not killed before it returns.
    container.exec(&["sh", "-c", "trap '' TERM; kill -TERM 1"]);
    assert_eq!(container.wait(), 143, "{}", container.logs());
    let markers = container.rootfs.markers();
    assert!(finished_cleanup(&markers, "sibling"));
    assert!(finished_cleanup(&markers, "main"));
    let _ = container.age();
}
