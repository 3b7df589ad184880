//! The stop: every process grace is responsible for gets the stop signal and
//! time to finish; only stragglers are SIGKILLed, at the deadline.

use crate::support::{
    AFTER_KILL, Grace, Mode, TempDir, children_of, event_time, finished_cleanup, has_event,
    host_pid_of, host_pid_of_probe, json_log, log_events, monotonic_ms, named, probe, probe_args,
    probe_log, signals_received, state_of, wait_for_work, wait_ready, wait_until,
};

fn every_kind_of_process_finishes(mode: Mode) {
    let dir = TempDir::new();
    // A sibling in the main process's group, a setsid'd daemon (double
    // fork), and an orphan whose parent shell has exited.
    let script = format!(
        "{sibling} & {daemon}; (sh -c '{orphan} &'); exec {main}",
        sibling = probe(&dir, "sibling", &["--cleanup-ms", "300"]),
        daemon = probe(&dir, "daemon", &["--daemonize", "--cleanup-ms", "300"]),
        orphan = probe(&dir, "orphan", &["--cleanup-ms", "300"]),
        main = probe(&dir, "main", &["--cleanup-ms", "100"]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    for name in ["sibling", "daemon", "orphan", "main"] {
        wait_ready(&dir, name);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    for name in ["sibling", "daemon", "orphan", "main"] {
        assert!(
            finished_cleanup(&dir, name),
            "{name} did not finish: {:?}\n{}",
            probe_log(&dir, name),
            grace.stderr()
        );
    }
}

#[test]
fn sibling_daemon_and_orphan_finish_their_cleanup_as_pid1() {
    every_kind_of_process_finishes(Mode::Pid1);
}

#[test]
fn sibling_daemon_and_orphan_finish_their_cleanup_as_subreaper() {
    every_kind_of_process_finishes(Mode::Subreaper);
}

fn slow_helper_is_waited_for(mode: Mode) {
    let dir = TempDir::new();
    let script = format!(
        "{helper} & exec {main}",
        helper = probe(&dir, "helper", &["--cleanup-ms", "2000"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "helper");
    wait_ready(&dir, "main");
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let exited = monotonic_ms();
    let done = event_time(&dir, "helper", "cleanup-done").expect("helper finished its cleanup");
    assert!(done >= sent + 2000, "the helper had its 2 s");
    // When the helper was done, not at the 9 s deadline.
    assert!(
        exited < sent + 9000,
        "grace exited {} ms after the helper",
        exited - done
    );
}

#[test]
fn slow_helper_is_waited_for_and_no_longer_as_pid1() {
    slow_helper_is_waited_for(Mode::Pid1);
}

#[test]
fn slow_helper_is_waited_for_and_no_longer_as_subreaper() {
    slow_helper_is_waited_for(Mode::Subreaper);
}

fn ignorer_is_killed_at_the_deadline(mode: Mode) {
    let dir = TempDir::new();
    let script = format!(
        "{ignorer} & exec {main}",
        ignorer = probe(&dir, "ignorer", &["--ignore", "15", "--exit-on", "10"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(mode)
        .configure(json_log)
        .args(["--grace-period", "1s", "--", "sh", "-c", &script])
        .start(&dir);
    let ignorer = wait_ready(&dir, "ignorer");
    wait_ready(&dir, "main");
    let ignorer_host = host_pid_of(ignorer, grace.pid).expect("ignorer's host pid");
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let took = monotonic_ms() - sent;
    let latest = 1000 + AFTER_KILL.as_millis() as u64;
    assert!(
        (1000..latest).contains(&took),
        "grace exited after {took} ms"
    );
    assert_eq!(state_of(ignorer_host), None, "the ignorer is gone");
    let stderr = grace.stderr();
    let events = log_events(&stderr);
    let event = |name: &str, pid: Option<i32>| {
        events
            .iter()
            .find(|e| e["event"] == name && pid.is_none_or(|pid| e["pid"] == pid))
            .unwrap_or_else(|| panic!("no {name} event in {stderr}"))
    };
    let stopped = event("stopped", None);
    assert_eq!(stopped["killed"], serde_json::json!([ignorer]), "{stderr}");
    // The summary line, for people, names it too.
    let summary = stopped["message"].as_str().unwrap_or_default();
    assert!(
        summary.contains(&format!("killed at deadline: {ignorer} (probe)")),
        "{stderr}"
    );
    let disposition = event("deadline_kill", Some(ignorer))["disposition"].as_str();
    assert_eq!(disposition, Some("ignores SIGTERM"), "{stderr}");
}

/// A main process that ignores SIGTERM: the deadline says that it was
/// sent SIGTERM and ignores it, not that it was never sent it.
fn main_ignoring_the_stop_is_named_as_ignoring_it(mode: Mode) {
    let dir = TempDir::new();
    let mut grace = Grace::builder(mode)
        .configure(json_log)
        .args(["--grace-period", "1s", "--"])
        .args(probe_args(
            &dir,
            "main",
            &["--ignore", "15", "--exit-on", "10"],
        ))
        .start(&dir);
    let main = wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 137, "{}", grace.stderr());
    let stderr = grace.stderr();
    assert!(
        has_event(
            &stderr,
            "deadline_kill",
            &[
                ("pid", main.into()),
                ("signalled", true.into()),
                ("disposition", "ignores SIGTERM".into())
            ]
        ),
        "{stderr}"
    );
}

#[test]
fn main_ignoring_the_stop_is_named_as_ignoring_it_as_pid1() {
    main_ignoring_the_stop_is_named_as_ignoring_it(Mode::Pid1);
}

#[test]
fn main_ignoring_the_stop_is_named_as_ignoring_it_as_subreaper() {
    main_ignoring_the_stop_is_named_as_ignoring_it(Mode::Subreaper);
}

#[test]
fn ignorer_is_killed_at_the_deadline_as_pid1() {
    ignorer_is_killed_at_the_deadline(Mode::Pid1);
}

#[test]
fn ignorer_is_killed_at_the_deadline_as_subreaper() {
    ignorer_is_killed_at_the_deadline(Mode::Subreaper);
}

#[test]
fn stopped_process_still_runs_its_handler() {
    let dir = TempDir::new();
    let script = format!(
        "{stopped} & exec {main}",
        stopped = probe(&dir, "stopped", &["--stop-self", "--cleanup-ms", "100"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    let stopped = host_pid_of_probe(&grace, &dir, "stopped");
    wait_until("the probe to stop itself", || {
        state_of(stopped) == Some('T')
    });
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert!(
        finished_cleanup(&dir, "stopped"),
        "{:?}",
        probe_log(&dir, "stopped")
    );
}

fn thousand_processes_finish(mode: Mode, count: usize) {
    let dir = TempDir::new();
    let forks = (count - 1).to_string();
    let script = format!(
        "{workers} & exec {main}",
        workers = probe(&dir, "w", &["--fork", &forks, "--cleanup-ms", "200"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    let names: Vec<String> = std::iter::once("w".to_string())
        .chain((1..count).map(|i| format!("w-{i}")))
        .collect();
    for name in &names {
        wait_ready(&dir, name);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let unfinished: Vec<&String> = names
        .iter()
        .filter(|name| !finished_cleanup(&dir, name))
        .collect();
    assert!(
        unfinished.is_empty(),
        "{} did not finish: {:?}",
        unfinished.len(),
        &unfinished[..unfinished.len().min(10)]
    );
}

#[test]
fn a_thousand_processes_all_finish_as_pid1() {
    thousand_processes_finish(Mode::Pid1, 1000);
}

#[test]
fn a_thousand_processes_all_finish_as_subreaper() {
    thousand_processes_finish(Mode::Subreaper, 1000);
}

fn main_exit_stops_the_rest(mode: Mode) {
    let dir = TempDir::new();
    let ready = dir.join("left.ready");
    let script = format!(
        "{left} & while [ ! -e {ready} ]; do sleep 0.01; done; exit 3",
        left = probe(&dir, "left", &["--cleanup-ms", "300"]),
        ready = ready.display(),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    assert_eq!(grace.wait_code(), 3, "{}", grace.stderr());
    assert!(
        finished_cleanup(&dir, "left"),
        "{:?}",
        probe_log(&dir, "left")
    );
}

#[test]
fn main_exiting_on_its_own_stops_the_rest_gracefully_as_pid1() {
    main_exit_stops_the_rest(Mode::Pid1);
}

#[test]
fn main_exiting_on_its_own_stops_the_rest_gracefully_as_subreaper() {
    main_exit_stops_the_rest(Mode::Subreaper);
}

#[test]
fn stop_delay_keeps_everything_running_first() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--stop-delay", "700ms", "--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let got = event_time(&dir, "main", "signal").unwrap();
    assert!(
        got >= sent + 700,
        "signalled {} ms after the stop",
        got - sent
    );
    // Before the 9 s deadline the delay counts against.
    assert!(
        got < sent + 9000,
        "signalled {} ms after the stop",
        got - sent
    );
}

#[test]
fn pre_stop_runs_to_completion_before_signalling() {
    let dir = TempDir::new();
    let mark = |event: &str| probe(&dir, "prestop", &["--mark", event]);
    let pre_stop = format!("{}; sleep 0.5; {}", mark("start"), mark("end"));
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--pre-stop", &pre_stop, "--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let end = event_time(&dir, "prestop", "end").expect("pre-stop ran to its end");
    let start = event_time(&dir, "prestop", "start").unwrap();
    let got = event_time(&dir, "main", "signal").unwrap();
    assert!(end >= start + 500);
    assert!(
        got >= end,
        "main signalled {got} before pre-stop ended {end}"
    );
    // The stop reached the main process alone: the pre-stop command and
    // its children are not counted as stopped.
    assert!(
        grace.stderr().contains("stopped 1 process in"),
        "{}",
        grace.stderr()
    );
}

#[test]
fn hanging_pre_stop_is_cut_at_half_the_grace_period() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--grace-period", "2s", "--pre-stop", "sleep 100", "--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let got = event_time(&dir, "main", "signal").unwrap();
    // At half the grace period, not at its end.
    assert!(
        (sent + 1000..sent + 2000).contains(&got),
        "signalled after {} ms",
        got - sent
    );
}

#[test]
fn failing_pre_stop_does_not_block_the_stop() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["--pre-stop", "exit 7", "--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert!(finished_cleanup(&dir, "main"));
    assert!(
        has_event(
            &grace.stderr(),
            "pre_stop_failed",
            &[("exit_code", 7.into())]
        ),
        "{}",
        grace.stderr()
    );
}

fn main_first(mode: Mode) {
    let dir = TempDir::new();
    let script = format!(
        "{worker} & exec {main}",
        worker = probe(&dir, "worker", &[]),
        main = probe(&dir, "main", &["--cleanup-ms", "400"]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--stop-order", "main-first", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "worker");
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let main_done = event_time(&dir, "main", "cleanup-done").unwrap();
    let worker_got = event_time(&dir, "worker", "signal").unwrap();
    assert!(
        worker_got >= main_done,
        "worker signalled before the main process finished"
    );
}

#[test]
fn main_first_signals_the_others_after_the_main_process_as_pid1() {
    main_first(Mode::Pid1);
}

#[test]
fn main_first_signals_the_others_after_the_main_process_as_subreaper() {
    main_first(Mode::Subreaper);
}

/// Issue 20's shape 3: a process whose child must not be signalled before
/// it. With `--stop-order auto`, the default, the main process gets the
/// signal first;
/// a second unit (a parent and its child) waits for it, and the child
/// waits for its parent's exit. main-first or all would signal the child
/// while its parent still cleans up.
fn auto_order(mode: Mode) {
    let dir = TempDir::new();
    let unit = format!(
        "{child} & exec {parent}",
        child = probe(&dir, "child", &[]),
        parent = probe(&dir, "parent", &["--cleanup-ms", "400"]),
    );
    let script = format!(
        "sh -c '{unit}' & exec {main}",
        main = probe(&dir, "main", &["--cleanup-ms", "200"]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    for name in ["child", "parent", "main"] {
        wait_ready(&dir, name);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    // The summary counts the processes the order stopped.
    assert!(
        grace.stderr().contains("stopped 3 processes"),
        "{}",
        grace.stderr()
    );
    let done = |name| event_time(&dir, name, "cleanup-done").unwrap();
    let got = |name| event_time(&dir, name, "signal").unwrap();
    assert!(
        got("parent") >= done("main"),
        "the parent was signalled before the main process finished"
    );
    assert!(
        got("child") >= done("parent"),
        "the child was signalled before its parent finished"
    );
}

#[test]
fn auto_signals_a_child_after_its_parent_as_pid1() {
    auto_order(Mode::Pid1);
}

#[test]
fn auto_signals_a_child_after_its_parent_as_subreaper() {
    auto_order(Mode::Subreaper);
}

/// `--stop-order auto` maps sockets to processes through every
/// /proc/PID/fd; beyond its bound (`MAX_DESCRIPTORS` in
/// src/process/sockets.rs: 50,000 descriptors in all) it stops reading and
/// stops as main-first, with one warning. A server and its client, orphans
/// both: ordered, the server would wait for the client's cleanup; as
/// main-first both get the signal when the main process exits.
#[test]
fn auto_falls_back_to_main_first_beyond_its_bound_of_descriptors() {
    let dir = TempDir::new();
    let server = probe_args(&dir, "server", &[]);
    let client = probe_args(&dir, "client", &["--cleanup-ms", "1500"]);
    // Processes holding 50,100 descriptors (copies of one), as many as
    // their hard limit takes without CAP_SYS_RESOURCE; then the server
    // and its client, connected, their sockets kept across exec.
    let program = dir.join("shape.py");
    std::fs::write(
        &program,
        format!(
            "import os, resource, signal, socket\n\
             soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n\
             try:\n    resource.setrlimit(resource.RLIMIT_NOFILE, (60000, 60000))\n    hard = 60000\n\
             except (ValueError, OSError):\n    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n\
             each = min(hard, 60000) - 16\n\
             fd = os.open('/dev/null', os.O_RDONLY)\n\
             done = os.pipe()\n\
             helpers = 50100 // (each - 3) + 1\n\
             for _ in range(helpers):\n    \
             if os.fork() == 0:\n        \
             for i in range(done[1] + 1, each): os.dup2(fd, i)\n        \
             os.write(done[1], b'.')\n        \
             while True: signal.pause()\n\
             hoarding = 0\n\
             while hoarding < helpers: hoarding += len(os.read(done[0], helpers))\n\
             listener = socket.socket(socket.AF_UNIX)\n\
             listener.bind({address:?})\n\
             listener.listen()\n\
             if os.fork() == 0:\n    \
             connection = socket.socket(socket.AF_UNIX)\n    \
             connection.connect({address:?})\n    \
             connection.set_inheritable(True)\n    \
             os.execv({client_program:?}, {client:?})\n\
             if os.fork() == 0:\n    \
             accepted, _ = listener.accept()\n    \
             accepted.set_inheritable(True)\n    \
             os.execv({server_program:?}, {server:?})\n",
            address = dir.join("socket").display().to_string(),
            client_program = client[0],
            server_program = server[0],
        ),
    )
    .unwrap();
    let script = format!(
        "(python3 {program}); exec {main}",
        program = program.display(),
        main = probe(&dir, "main", &["--cleanup-ms", "200"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["--stop-order", "auto", "--", "sh", "-c", &script])
        .start(&dir);
    for name in ["server", "client", "main"] {
        wait_ready(&dir, name);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let client_done = event_time(&dir, "client", "cleanup-done").unwrap();
    let server_got = event_time(&dir, "server", "signal").unwrap();
    let main_done = event_time(&dir, "main", "cleanup-done").unwrap();
    assert!(
        server_got < client_done,
        "the server waited for its client: ordered, not main-first"
    );
    assert!(
        server_got >= main_done,
        "the server was signalled before the main process finished"
    );
    assert!(finished_cleanup(&dir, "client"), "{}", grace.stderr());
    let stderr = grace.stderr();
    assert_eq!(named(&stderr, "stop_order_unread").len(), 1, "{stderr}");
}

/// Rule 4 of issue 20 for a client grace never reaps: a server (a probe
/// whose socat child accepted) waits for the unit that holds its client,
/// a bash whose coproc runs `socat` into it; on SIGTERM the bash closes
/// the link and reaps its coproc itself. The server must be signalled
/// once that client has gone, not at half the grace period: grace hears
/// the exit of a process that is not its child through a pidfd.
fn server_signalled_when_its_unreaped_client_exits(mode: Mode) {
    crate::support::real_programs::require(&["bash", "socat"]);
    let dir = TempDir::new();
    let socket = dir.join("s.sock");
    let script = dir.join("shape.sh");
    std::fs::write(
        &script,
        r#"sh -c 'socat UNIX-LISTEN:SOCKET,fork EXEC:cat & exec SERVER' &
bash -c '
  while [ ! -S SOCKET ]; do sleep 0.05; done
  coproc C { socat - UNIX-CONNECT:SOCKET; }
  out=${C[1]}; pid=$C_PID
  trap "eval \"exec \$out>&-\"; wait \$pid; exit 0" TERM
  echo hi >&$out; read -r line <&${C[0]}; touch DIR/client.ready
  sleep infinity & while :; do wait $! || true; done' &
wait -n
"#
        .replace("SOCKET", &socket.display().to_string())
        .replace("SERVER", &probe(&dir, "server", &[]))
        .replace("DIR", &dir.path().display().to_string()),
    )
    .unwrap();
    let grace_period = std::time::Duration::from_secs(20);
    let mut grace = Grace::builder(mode)
        .args(["--grace-period", "20s", "-v", "--", "bash"])
        .args([script.display().to_string()])
        .start(&dir);
    wait_ready(&dir, "server");
    wait_until("the client's echo", || dir.join("client.ready").exists());
    let sent = std::time::Instant::now();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let took = sent.elapsed();
    assert!(finished_cleanup(&dir, "server"), "{}", grace.stderr());
    assert!(
        took < grace_period / 2,
        "the server waited {took:?}, until half the grace period, for a client gone long before: {}",
        grace.stderr()
    );
}

#[test]
fn a_server_is_signalled_once_its_unreaped_client_exits_as_pid1() {
    server_signalled_when_its_unreaped_client_exits(Mode::Pid1);
}

#[test]
fn a_server_is_signalled_once_its_unreaped_client_exits_as_subreaper() {
    server_signalled_when_its_unreaped_client_exits(Mode::Subreaper);
}

#[test]
fn main_first_signals_the_others_at_half_the_grace_period_at_the_latest() {
    let dir = TempDir::new();
    let script = format!(
        "{worker} & exec {main}",
        worker = probe(&dir, "worker", &[]),
        // The main process ignores SIGTERM: it is killed at the deadline.
        main = probe(&dir, "main", &["--ignore", "15", "--exit-on", "10"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args([
            "--stop-order",
            "main-first",
            "--grace-period",
            "2s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .start(&dir);
    wait_ready(&dir, "worker");
    wait_ready(&dir, "main");
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 137, "{}", grace.stderr());
    let worker_got = event_time(&dir, "worker", "signal").unwrap();
    // At half the grace period, not at its end.
    assert!(
        (sent + 1000..sent + 2000).contains(&worker_got),
        "worker signalled after {} ms",
        worker_got - sent
    );
}

#[test]
fn main_gets_the_signal_grace_received_others_the_stop_signal() {
    let dir = TempDir::new();
    let script = format!(
        "{other} & exec {main}",
        other = probe(&dir, "other", &["--handle", "3,15", "--exit-on", "15"]),
        main = probe(&dir, "main", &["--exit-on", "3"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--stop-on", "QUIT", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "other");
    wait_ready(&dir, "main");
    grace.signal(3);
    assert_eq!(grace.wait_code(), 131, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), [3]);
    assert_eq!(signals_received(&dir, "other"), [15]);
}

#[test]
fn a_second_stop_signal_is_sent_again() {
    let dir = TempDir::new();
    let script = format!(
        "{other} & exec {main}",
        other = probe(&dir, "other", &["--handle", "15", "--exit-on", "10"]),
        main = probe(&dir, "main", &["--handle", "15", "--exit-on", "2"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--grace-period", "2s", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "other");
    wait_ready(&dir, "main");
    grace.signal(15);
    wait_until("the first SIGTERM", || {
        signals_received(&dir, "main") == [15] && signals_received(&dir, "other") == [15]
    });
    grace.signal(2);
    wait_until("the second stop signal", || {
        signals_received(&dir, "other") == [15, 15]
    });
    assert_eq!(grace.wait_code(), 130, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), [15, 2]);
}

#[test]
fn subreaper_never_signals_a_bystander() {
    let dir = TempDir::new();
    let release = dir.join("release");
    let bystander = probe(&dir, "bystander", &["--handle", "all"]);
    let script = format!(
        "{child} & exec {main}",
        child = probe(&dir, "child", &["--cleanup-ms", "100"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(Mode::Subreaper)
        .bystander(bystander, release.clone())
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    let bystander = wait_ready(&dir, "bystander");
    wait_ready(&dir, "child");
    wait_ready(&dir, "main");
    let bystander_host = host_pid_of(bystander, crate::support::parent_of(grace.pid).unwrap())
        .expect("bystander's host pid");
    grace.signal(15);
    wait_until("grace to exit", || state_of(grace.pid).is_none());
    assert!(finished_cleanup(&dir, "child"));
    assert_eq!(signals_received(&dir, "bystander"), Vec::<i64>::new());
    assert!(
        matches!(state_of(bystander_host), Some('S' | 'R')),
        "the bystander still runs untouched"
    );
    std::fs::write(&release, "").unwrap();
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
}

/// The summary's count, without listing thousands of /proc entries in the
/// middle of a stop: up to a few hundred processes are counted from /proc,
/// beyond that from what grace reaps. 600 sleepers are children of a shell
/// that the stop kills, so they end up reaped by grace: all of them, but
/// for the odd one the dying shell reaps first.
#[test]
fn the_summary_counts_a_large_stop() {
    let dir = TempDir::new();
    let ready = dir.join("ready");
    // The ready file comes from a shell builtin: a `touch` still exiting
    // would be one more process to count.
    let script = format!(
        "for i in $(seq 600); do sleep 1000 & done; : > {}; wait",
        ready.display()
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    wait_for_work("600 sleepers started", || {
        if ready.exists() {
            return 0;
        }
        let started = children_of(grace.pid)
            .first()
            .map_or(0, |&shell| children_of(shell).len());
        600usize.saturating_sub(started).max(1)
    });
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let stderr = grace.stderr();
    let count: usize = stderr
        .split("stopped ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"));
    assert!((590..=601).contains(&count), "{stderr}");
}

/// Twelve processes that ignore SIGTERM, as PID 1 with a 1 s deadline:
/// (the text log, the JSON log), each from its own run.
fn twelve_ignorers_killed(json: bool) -> (String, Vec<i32>) {
    let dir = TempDir::new();
    let ignorers: Vec<String> = (0..12)
        .map(|i| {
            probe(
                &dir,
                &format!("ignorer{i}"),
                &["--ignore", "15", "--exit-on", "10"],
            )
        })
        .collect();
    let script = format!(
        "{} & exec {}",
        ignorers.join(" & "),
        probe(&dir, "main", &[])
    );
    let mut builder = Grace::builder(Mode::Pid1);
    if json {
        builder = builder.configure(json_log);
    }
    let mut grace = builder
        .args(["--grace-period", "1s", "--", "sh", "-c", &script])
        .start(&dir);
    let pids: Vec<i32> = (0..12)
        .map(|i| wait_ready(&dir, &format!("ignorer{i}")))
        .collect();
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    (grace.stderr(), pids)
}

#[test]
fn the_default_log_names_ten_killed_processes_and_counts_the_rest() {
    let (stderr, _) = twelve_ignorers_killed(false);
    let named = stderr
        .lines()
        .filter(|line| {
            line.starts_with("grace: warning: deadline: killed ")
                && line.contains("ignores SIGTERM")
        })
        .count();
    assert_eq!(named, 10, "{stderr}");
    assert!(
        stderr.contains("deadline: killed 2 more processes"),
        "{stderr}"
    );
    let summary = stderr
        .lines()
        .find(|line| line.starts_with("grace: stopped "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert!(
        summary.starts_with("grace: stopped 13 processes"),
        "{summary}"
    );
    assert!(summary.ends_with(", and 2 more"), "{summary}");
}

#[test]
fn the_json_log_names_every_killed_process() {
    let (stderr, pids) = twelve_ignorers_killed(true);
    for pid in &pids {
        assert!(
            has_event(
                &stderr,
                "deadline_kill",
                &[
                    ("pid", (*pid).into()),
                    ("disposition", "ignores SIGTERM".into())
                ]
            ),
            "{pid}: {stderr}"
        );
    }
    let stopped = log_events(&stderr)
        .into_iter()
        .find(|line| line["event"] == "stopped")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(
        stopped["killed"].as_array().map(Vec::len),
        Some(12),
        "{stderr}"
    );
    assert_eq!(stopped["processes"], 13, "{stderr}");
}
