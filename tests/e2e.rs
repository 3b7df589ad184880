//! grace as PID 1 of real containers, stopped by real runtimes: `runc kill`,
//! `podman stop`, `podman kill`, `podman exec … kill`, podman's own
//! `--init-path` slot, and the same through a private dockerd: `docker stop`,
//! `docker kill`, `docker exec -d`, `docker run --init` with dockerd's
//! `--init-path`. What each process lived through is read from the marker
//! files it wrote into a bind-mounted directory.

use std::time::Duration;

use crate::support::containers::{
    Container, Rootfs, RunFlags, Runtime, container_probe, host_processes_mentioning,
    static_binaries, wait_probe,
};
use crate::support::docker::Dockerd;
use crate::support::shapes::{shapes_script, unfinished_shapes, wait_for_shapes};
use crate::support::{finished_cleanup, signals_received};

/// grace as the container's command, with a 3 s grace period.
const GRACE_3S: &[&str] = &["/grace", "--grace-period", "3s", "--"];

/// Starts the shapes under `init` (the command before `sh -c SCRIPT`) with
/// `run_flags`, checks that PID 1's name is `pid1`, stops the container and
/// checks what every shape lived through.
fn every_shape_is_stopped_gracefully(
    runtime: Runtime,
    init: &[&str],
    run_flags: RunFlags,
    pid1: &str,
) {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "cut -d' ' -f2 /proc/1/stat > /markers/pid1; {}",
        shapes_script(&tag)
    );
    let mut args = init.to_vec();
    args.extend(["sh", "-c", &script]);
    let mut container = Container::start(runtime, rootfs, &args, run_flags);
    wait_for_shapes(&container.rootfs);
    let markers = container.rootfs.markers();
    let seen = std::fs::read_to_string(markers.join("pid1")).unwrap();
    assert_eq!(seen.trim(), format!("({pid1})"), "PID 1");
    let (code, took) = container.stop(Duration::from_secs(10));
    let logs = container.logs();
    assert_eq!(code, 143, "main died of SIGTERM\n{logs}");
    let unfinished = unfinished_shapes(&markers);
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
    every_shape_is_stopped_gracefully(Runtime::Runc, GRACE_3S, &[], "grace");
}

#[test]
fn podman_stop_stops_every_shape_gracefully() {
    every_shape_is_stopped_gracefully(Runtime::Podman, GRACE_3S, &[], "grace");
}

#[test]
fn docker_stop_stops_every_shape_gracefully() {
    let dockerd = Dockerd::start("{}", &[]);
    every_shape_is_stopped_gracefully(dockerd.runtime(), GRACE_3S, &[], "grace");
}

#[test]
fn docker_run_init_runs_grace_as_docker_init() {
    // dockerd mounts its init at /sbin/docker-init and runs
    // `/sbin/docker-init -- COMMAND`: grace reads that as tini's command
    // line, and takes its grace period from the environment.
    let grace = static_binaries().grace.display().to_string();
    let dockerd = Dockerd::start("{}", &["--init-path", &grace]);
    every_shape_is_stopped_gracefully(
        dockerd.runtime(),
        &[],
        &["--init", "-e", "GRACE_GRACE_PERIOD=3s"],
        "docker-init",
    );
}

#[test]
fn shell_form_command_lets_the_app_finish() {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "{}; echo done",
        container_probe("app", "--cleanup-ms 300", &tag)
    );
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
    stop_timeout_shorter_than_the_grace_period_wins_cleanly(Runtime::Podman);
}

#[test]
fn docker_stop_timeout_shorter_than_the_grace_period_wins_cleanly() {
    let dockerd = Dockerd::start("{}", &[]);
    stop_timeout_shorter_than_the_grace_period_wins_cleanly(dockerd.runtime());
}

fn stop_timeout_shorter_than_the_grace_period_wins_cleanly(runtime: Runtime) {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = format!(
        "{} {} exec {}",
        container_probe("ignorer", "--ignore 15 --exit-on 10 &", &tag),
        container_probe("sibling", "--cleanup-ms 100 &", &tag),
        container_probe("main", "", &tag)
    );
    let mut container =
        Container::start(runtime, rootfs, &["/grace", "--", "sh", "-c", &script], &[]);
    for name in ["ignorer", "sibling", "main"] {
        wait_probe(&container.rootfs, name);
    }
    let (code, took) = container.stop(Duration::from_secs(1));
    // The runtime SIGKILLed grace (137) at its 1 s, before grace's 9 s.
    assert_eq!(code, 137, "{}", container.logs());
    // Before grace's own 9 s deadline.
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert!(finished_cleanup(&container.rootfs.markers(), "sibling"));
    // The stop itself left nothing, before the container is removed: the
    // kernel ends a PID namespace's init only once the rest is gone.
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
        container_probe("sibling", "--cleanup-ms 300 &", &tag),
        container_probe("main", "", &tag)
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
    kill_hup_reaches_the_main_process(Runtime::Podman);
}

#[test]
fn docker_kill_hup_reaches_the_main_process() {
    let dockerd = Dockerd::start("{}", &[]);
    kill_hup_reaches_the_main_process(dockerd.runtime());
}

fn kill_hup_reaches_the_main_process(runtime: Runtime) {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let main = container_probe("main", "--handle 1", &tag);
    let mut container = Container::start(
        runtime,
        rootfs,
        &["/grace", "--", "sh", "-c", &format!("exec {main}")],
        &[],
    );
    wait_probe(&container.rootfs, "main");
    container.kill("HUP");
    let markers = container.rootfs.markers();
    crate::support::wait_until("SIGHUP at the main process", || {
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
        container_probe("sibling", "--cleanup-ms 300 &", &tag),
        container_probe("main", "", &tag)
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

#[test]
fn docker_exec_detached_job_finishes_its_cleanup_at_docker_stop() {
    let dockerd = Dockerd::start("{}", &[]);
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let main = container_probe("main", "--cleanup-ms 100", &tag);
    let mut container = Container::start(
        dockerd.runtime(),
        rootfs,
        &["/grace", "--", "sh", "-c", &format!("exec {main}")],
        &[],
    );
    wait_probe(&container.rootfs, "main");
    // The job itself, not a shell around it: a shell that died of SIGTERM
    // would hand the job to grace as an orphan, its child.
    let job = container_probe("job", "--cleanup-ms 2000", &tag);
    container.exec_detached(&job.split(' ').collect::<Vec<_>>());
    wait_probe(&container.rootfs, "job");
    let (code, took) = container.stop(Duration::from_secs(10));
    eprintln!("docker stop took {took:?}");
    let logs = container.logs();
    assert_eq!(code, 143, "{logs}");
    let markers = container.rootfs.markers();
    assert_eq!(signals_received(&markers, "job"), [15], "{logs}");
    assert!(
        finished_cleanup(&markers, "job"),
        "the exec'd job was killed mid-cleanup: {:?}\n{logs}",
        crate::support::probe_log(&markers, "job")
    );
    // grace exited when the job was done, not at its 9 s deadline.
    assert!(took < Duration::from_secs(9), "took {took:?}\n{logs}");
    drop(container);
    assert_eq!(
        host_processes_mentioning(&tag),
        Vec::<i32>::new(),
        "left behind"
    );
}
