//! How services end and are stopped, beyond signals: `type = "oneshot"`
//! tasks that gate their dependents and are undone at the stop, a
//! `stop_command` that runs instead of the stop signal, and the rule that
//! a service ignoring its signal cannot hold the services it starts after
//! from theirs (issue 20, rule 4). grace runs as PID 1 of a real PID
//! namespace; what happened is read from the services' own markers (an
//! order file appended with `>>`, the probes' logs) and grace's JSON
//! events.

use std::fs;

use crate::services_run::{at, before, order, probe_service, sh, start};
use crate::support::services::write_config;
use crate::support::{
    Grace, Mode, TempDir, json_log, monotonic_ms, named, probe, probe_log, services_of,
    signals_received, wait_ready, wait_until,
};

/// migrate, a oneshot that takes 200 ms, gates app: app starts only once
/// migrate has exited 0, and the published state says `done` for it and
/// counts it as ready (the `ready` file exists).
#[test]
fn a_oneshot_gates_its_dependents_and_counts_as_ready_once_done() {
    let dir = TempDir::new();
    let lines = dir.join("order");
    let run = dir.join("run");
    let text = format!(
        "[service.migrate]\ntype = \"oneshot\"\ncommand = {migrate}\n\
         [service.app]\ncommand = {app}\nafter = [\"migrate\"]\n",
        migrate = sh(&format!("sleep 0.2; echo migrated >> {}", lines.display())),
        app = sh(&format!(
            "echo app >> {}; exec {}",
            lines.display(),
            probe(&dir, "app", &[])
        )),
    );
    let config = write_config(&dir, &text);
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .arg("--run-dir")
        .arg(&run)
        .arg("--config")
        .arg(&config)
        .start(&dir);
    wait_ready(&dir, "app");
    let written = order(&lines);
    assert!(
        before(&written, "migrated", "app"),
        "{written:?}\n{}",
        grace.stderr()
    );
    wait_until("every service ready", || run.join("ready").exists());
    let state = fs::read_to_string(run.join("state")).expect("the state file");
    assert!(state.contains("service\tmigrate\tdone\t"), "{state}");
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    let log = grace.stderr();
    assert_eq!(
        services_of(&log, "service_ready"),
        ["migrate", "app"],
        "{log}"
    );
}

/// A oneshot that exits 3 brings the container down with its status: what
/// it starts after is stopped (and finishes), what starts after it never
/// starts.
#[test]
fn a_failing_oneshot_stops_the_container_with_its_status() {
    let dir = TempDir::new();
    let lines = dir.join("order");
    let text = format!(
        "[service.db]\ncommand = {db}\n\
         [service.migrate]\ntype = \"oneshot\"\ncommand = {migrate}\nafter = [\"db\"]\n\
         [service.app]\ncommand = {app}\nafter = [\"migrate\"]\n",
        db = probe_service(&dir, "db", &["--cleanup-ms", "100"]),
        migrate = sh("sleep 0.2; exit 3"),
        app = sh(&format!("echo app >> {}; exec sleep 1000", lines.display())),
    );
    let config = write_config(&dir, &text);
    let mut grace = start(Mode::Pid1, &dir, &config, &[]);
    assert_eq!(grace.wait_code(), 3, "{}", grace.stderr());
    let log = grace.stderr();
    assert_eq!(services_of(&log, "service_essential"), ["migrate"], "{log}");
    assert_eq!(signals_received(&dir, "db"), [15], "{log}");
    assert!(cleaned_up(&dir, "db"), "{log}");
    assert!(order(&lines).is_empty(), "app started\n{log}");
}

/// Whether probe `name` finished its cleanup, whatever the signal.
fn cleaned_up(dir: &TempDir, name: &str) -> bool {
    probe_log(dir, name)
        .iter()
        .any(|(event, _, _)| event == "cleanup-done")
}

/// The service and exit code of the one `stop_command_exited` event.
fn stop_command_exited(log: &str) -> (String, i64) {
    let exited = named(log, "stop_command_exited");
    assert_eq!(exited.len(), 1, "{log}");
    let service = exited[0]["service"].as_str().unwrap_or_default();
    (
        service.to_string(),
        exited[0]["exit_code"].as_i64().unwrap_or(-1),
    )
}

/// A shell service that appends NAME when it starts (then says it is
/// ready on fd 3: `ready = { fd = 3 }`) and NAME-stop when it gets TERM,
/// then exits 0.
fn marking(name: &str, lines: &std::path::Path) -> String {
    sh(&format!(
        "trap 'echo {name}-stop >> {file}; exit 0' TERM; echo {name} >> {file}; echo >&3; \
         sleep 1000 & wait",
        file = lines.display()
    ))
}

/// The stop_command of a oneshot is its undoing, in reverse order: after
/// what starts after it has stopped, before what it starts after is
/// signalled.
#[test]
fn a_oneshot_s_stop_command_runs_at_the_stop_in_reverse_order() {
    let dir = TempDir::new();
    let lines = dir.join("order");
    let text = format!(
        "grace_period = \"10s\"\n\
         [service.db]\ncommand = {db}\nready = {{ fd = 3 }}\n\
         [service.migrate]\ntype = \"oneshot\"\ncommand = {migrate}\nafter = [\"db\"]\n\
         stop_command = {undo}\n\
         [service.app]\ncommand = {app}\nafter = [\"migrate\"]\nready = {{ fd = 3 }}\n",
        db = marking("db", &lines),
        migrate = sh(&format!("echo migrate >> {}", lines.display())),
        undo = sh(&format!("sleep 0.2; echo undo >> {}", lines.display())),
        app = marking("app", &lines),
    );
    let config = write_config(&dir, &text);
    let mut grace = start(Mode::Pid1, &dir, &config, &[]);
    wait_until("app started", || order(&lines).contains(&"app".to_string()));
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    let log = grace.stderr();
    assert_eq!(
        order(&lines),
        ["db", "migrate", "app", "app-stop", "undo", "db-stop"],
        "{log}"
    );
    assert_eq!(
        stop_command_exited(&log),
        ("migrate".to_string(), 0),
        "{log}"
    );
}

/// A longrun's stop_command runs instead of its stop signal: web is told
/// to stop with SIGUSR1 by its command, never gets SIGTERM, and the stop
/// waits for web itself (its 300 ms cleanup), not only for the command,
/// before db gets its signal. The command's status is logged.
#[test]
fn a_stop_command_runs_at_the_stop_and_the_stop_waits_for_the_service() {
    let dir = TempDir::new();
    let web_pid = dir.join("web.ready");
    let text = format!(
        "grace_period = \"10s\"\n\
         [service.db]\ncommand = {db}\n\
         [service.web]\ncommand = {web}\nafter = [\"db\"]\nstop_command = {quit}\n",
        db = probe_service(&dir, "db", &["--cleanup-ms", "100"]),
        web = probe_service(&dir, "web", &["--exit-on", "10", "--cleanup-ms", "300"]),
        quit = sh(&format!("kill -USR1 $(cat {}); exit 4", web_pid.display())),
    );
    let config = write_config(&dir, &text);
    let mut grace = start(Mode::Pid1, &dir, &config, &[]);
    wait_ready(&dir, "db");
    wait_ready(&dir, "web");
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    let log = grace.stderr();
    assert_eq!(signals_received(&dir, "web"), [10], "{log}");
    assert!(
        at(&dir, "web", "cleanup-done") <= at(&dir, "db", "signal"),
        "db was signalled before web had finished\n{log}"
    );
    assert_eq!(stop_command_exited(&log), ("web".to_string(), 4), "{log}");
    assert!(named(&log, "service_kill").is_empty(), "{log}");
}

/// Issue 20, rule 4 between services: app (after db) ignores SIGTERM, and
/// the grace period is 3 s. db gets its signal once half of what remained
/// at app's signal has passed (1.5 s), and finishes its cleanup; app is
/// SIGKILLed at the deadline, and one line names it.
#[test]
fn a_service_ignoring_its_signal_holds_its_dependency_half_of_what_remains() {
    let dir = TempDir::new();
    let text = format!(
        "grace_period = \"3s\"\n\
         [service.db]\ncommand = {db}\n\
         [service.app]\ncommand = {app}\nafter = [\"db\"]\n",
        db = probe_service(&dir, "db", &["--cleanup-ms", "100"]),
        app = probe_service(&dir, "app", &["--ignore", "15", "--exit-on", "10"]),
    );
    let config = write_config(&dir, &text);
    let mut grace = start(Mode::Pid1, &dir, &config, &[]);
    wait_ready(&dir, "db");
    wait_ready(&dir, "app");
    let signalled = monotonic_ms();
    grace.signal(libc::SIGTERM);
    grace.wait();
    let log = grace.stderr();
    assert_eq!(signals_received(&dir, "db"), [15], "{log}");
    assert!(cleaned_up(&dir, "db"), "{log}");
    // Against grace's own bounds: not before half of the 3 s (app was
    // signalled after the test's stamp), and before the deadline.
    let waited = at(&dir, "db", "signal").saturating_sub(signalled);
    assert!(
        (1_499..3_000).contains(&waited),
        "db's signal came {waited} ms after the stop began\n{log}"
    );
    let killed = named(&log, "services_killed");
    assert_eq!(killed.len(), 1, "{log}");
    assert_eq!(killed[0]["services"], "app", "{log}");
}
