//! Processes the stop's first signal did not reach: entered from outside
//! the namespace (`docker exec`), or created after it went out. Each one
//! that nobody else will stop gets the stop signal and is waited for, as
//! PID 1 through a pidfd when it is not grace's child.

use std::process::{Child, Command, Stdio};

use crate::support::{
    Grace, Mode, TempDir, event_time, finished_cleanup, has_event, json_log, monotonic_ms, probe,
    probe_args, probe_log, signals_received, wait_for_file, wait_ready, wait_until,
};

/// A shell main process that writes `main.ready` and waits; on SIGTERM it
/// runs `on_term` and exits with `code`. Its own sleeper ignores SIGTERM
/// and is ended by the handler: the stop signals it together with the
/// shell, and had it died first, `wait` could return with the shell's
/// trap not yet run (the script then ends as if nothing happened: the
/// ordering issue 20 is about). A child caught between fork and exec can
/// also lose a signal to the handler it inherited, and must not outlive
/// the test's main process.
fn main_script(dir: &TempDir, on_term: &str, code: i32) -> String {
    format!(
        "trap 'kill -9 $sleeper 2>/dev/null; {on_term}; exit {code}' TERM; \
         (trap '' TERM; exec sleep 1000) & sleeper=$!; \
         echo $$ > {ready}.tmp; mv {ready}.tmp {ready}; wait",
        ready = dir.join("main.ready").display(),
    )
}

/// A probe entered into grace's PID namespace from outside, as `docker
/// exec` does: its parent (nsenter) lives outside the namespace.
fn enter(grace: &Grace, dir: &TempDir, name: &str, extra: &[&str]) -> Child {
    Command::new("nsenter")
        .args(["--target", &grace.pid.to_string(), "--pid", "--"])
        .args(probe_args(dir, name, extra))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nsenter")
}

/// A main process whose TERM handler starts `helper`, waits until the
/// helper is ready for signals, and exits 7: the helper is orphaned by the
/// stop, after the stop's signal went out.
fn helper_started_on_the_way_out(mode: Mode) {
    let dir = TempDir::new();
    let helper = probe(&dir, "helper", &["--cleanup-ms", "300"]);
    let ready = dir.join("helper.ready");
    let on_term = format!(
        "{helper} & while [ ! -e {ready} ]; do sleep 0.01; done",
        ready = ready.display()
    );
    let script = main_script(&dir, &on_term, 7);
    // A deadline well inside the test's own bound: a helper that never
    // gets the signal is killed there, which the assertions below see.
    let mut grace = Grace::builder(mode)
        .args(["--grace-period", "4s", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 7, "{}", grace.stderr());
    assert_eq!(
        signals_received(&dir, "helper"),
        [15],
        "the helper was never sent the stop signal\n{}",
        grace.stderr()
    );
    assert!(
        finished_cleanup(&dir, "helper"),
        "the helper was killed mid-cleanup: {:?}\n{}",
        probe_log(&dir, "helper"),
        grace.stderr()
    );
}

#[test]
fn a_helper_started_by_the_main_process_on_its_way_out_gets_the_stop_as_pid1() {
    helper_started_on_the_way_out(Mode::Pid1);
}

#[test]
fn a_helper_started_by_the_main_process_on_its_way_out_gets_the_stop_as_subreaper() {
    helper_started_on_the_way_out(Mode::Subreaper);
}

/// While the default order still waits (a child for its parent, which
/// ignores the stop), a helper the main process's handler started and
/// orphaned is a newcomer nobody else will stop: it gets the signal at
/// once, not when the order's wait ends at half the grace period.
fn helper_orphaned_while_the_order_waits(mode: Mode) {
    let dir = TempDir::new();
    let unit = format!(
        "{child} & exec {parent}",
        child = probe(&dir, "child", &[]),
        parent = probe(&dir, "parent", &["--ignore", "15", "--exit-on", "10"]),
    );
    let helper = probe(&dir, "helper", &["--cleanup-ms", "100"]);
    let on_term = format!(
        "{helper} & while [ ! -e {ready} ]; do sleep 0.01; done",
        ready = dir.join("helper.ready").display()
    );
    // The unit is grace's own (its starter exits at once).
    let script = format!("(sh -c '{unit}' &); {}", main_script(&dir, &on_term, 7));
    let mut grace = Grace::builder(mode)
        .args(["--grace-period", "4s", "--", "sh", "-c", &script])
        .start(&dir);
    for name in ["child", "parent", "main"] {
        wait_ready(&dir, name);
    }
    grace.signal(15);
    assert_eq!(grace.wait_code(), 7, "{}", grace.stderr());
    let signalled = |name| event_time(&dir, name, "signal");
    let (helper, child) = (signalled("helper"), signalled("child"));
    assert!(
        helper.is_some() && finished_cleanup(&dir, "helper"),
        "{}",
        grace.stderr()
    );
    assert!(
        helper < child,
        "the helper waited for the order (helper {helper:?}, child {child:?})\n{}",
        grace.stderr()
    );
}

#[test]
fn a_helper_orphaned_while_the_order_waits_gets_the_stop_at_once_as_pid1() {
    helper_orphaned_while_the_order_waits(Mode::Pid1);
}

#[test]
fn a_helper_orphaned_while_the_order_waits_gets_the_stop_at_once_as_subreaper() {
    helper_orphaned_while_the_order_waits(Mode::Subreaper);
}

/// A process that a TERM handler starts and waits for is part of that
/// handler's cleanup: it must not be sent the stop signal itself.
#[test]
fn a_process_that_a_live_handler_waits_for_is_left_to_it() {
    let dir = TempDir::new();
    let step = probe(&dir, "step", &["--handle", "15", "--exit-on", "10"]);
    let release = dir.join("release");
    let woken = dir.join("woken");
    let on_term = format!(
        "{step} & pid=$!; while [ ! -e {release} ]; do sleep 0.01; done; kill -USR1 $pid; wait $pid",
        release = release.display()
    );
    let script = format!(
        "trap 'echo >> {woken}' WINCH; {}",
        main_script(&dir, &on_term, 3),
        woken = woken.display()
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    wait_ready(&dir, "step");
    // Each forwarded SIGWINCH wakes grace, which then looks for newcomers;
    // the second one reaches the main process only after grace has done
    // with the first, so by then grace has seen the step and decided.
    for count in 1..=2 {
        grace.signal(libc::SIGWINCH);
        wait_until("the main process to get SIGWINCH", || {
            std::fs::read_to_string(&woken).is_ok_and(|text| text.lines().count() >= count)
        });
    }
    std::fs::write(&release, "").expect("release");
    assert_eq!(grace.wait_code(), 3, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "step"), [10], "{}", grace.stderr());
}

#[test]
fn a_process_entered_from_outside_finishes_its_cleanup_before_grace_exits() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    let mut job = enter(&grace, &dir, "job", &["--cleanup-ms", "1500"]);
    wait_ready(&dir, "job");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let exited = monotonic_ms();
    let _ = job.wait();
    let done = event_time(&dir, "job", "cleanup-done").unwrap_or_else(|| {
        panic!(
            "the entered job was killed mid-cleanup: {:?}\n{}",
            probe_log(&dir, "job"),
            grace.stderr()
        )
    });
    assert!(
        exited >= done,
        "grace exited before the job finished ({exited} < {done})"
    );
    let summary = grace.stderr();
    assert!(summary.contains("stopped 2 processes"), "{summary}");
}

#[test]
fn a_process_entered_during_the_stop_is_sent_the_stop_signal_and_waited_for() {
    let dir = TempDir::new();
    let release = dir.join("release");
    let on_term = format!(
        "echo > {term}; while [ ! -e {release} ]; do sleep 0.01; done",
        term = dir.join("main.term").display(),
        release = release.display()
    );
    let script = main_script(&dir, &on_term, 3);
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["--grace-period", "6s", "--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    wait_for_file(&dir.join("main.term"));
    let mut job = enter(&grace, &dir, "job", &["--cleanup-ms", "300"]);
    wait_ready(&dir, "job");
    std::fs::write(&release, "").expect("release");
    assert_eq!(grace.wait_code(), 3, "{}", grace.stderr());
    let _ = job.wait();
    assert!(
        finished_cleanup(&dir, "job"),
        "the job entered during the stop did not get its cleanup: {:?}\n{}",
        probe_log(&dir, "job"),
        grace.stderr()
    );
    // Everyone finished: nothing was left for the deadline.
    let stderr = grace.stderr();
    let nobody: Vec<i32> = Vec::new();
    assert!(
        has_event(&stderr, "stopped", &[("killed", nobody.into())]),
        "{stderr}"
    );
}

#[test]
fn a_process_entered_after_the_main_process_exited_is_stopped_too() {
    // The main process exits by itself, leaving no child: the entered job
    // is all that is left, and it gets a stop of its own.
    let dir = TempDir::new();
    let release = dir.join("release");
    let script = format!(
        "echo $$ > {main}.tmp; mv {main}.tmp {main}; while [ ! -e {release} ]; do sleep 0.01; done; exit 4",
        main = dir.join("main.ready").display(),
        release = release.display(),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    wait_ready(&dir, "main");
    let mut job = enter(&grace, &dir, "job", &["--cleanup-ms", "300"]);
    wait_ready(&dir, "job");
    std::fs::write(&release, "").expect("release");
    assert_eq!(grace.wait_code(), 4, "{}", grace.stderr());
    let _ = job.wait();
    assert!(
        finished_cleanup(&dir, "job"),
        "{:?}\n{}",
        probe_log(&dir, "job"),
        grace.stderr()
    );
}

#[test]
fn an_entered_process_that_ignores_the_stop_is_named_and_killed_at_the_deadline() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["--grace-period", "1s", "--"])
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    wait_ready(&dir, "main");
    let mut job = enter(&grace, &dir, "job", &["--ignore", "15", "--exit-on", "10"]);
    let job_pid = wait_ready(&dir, "job");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    // The kernel would have killed it when grace exited anyway; the point
    // is that grace did, at its deadline, and said so.
    let stderr = grace.stderr();
    assert!(
        has_event(
            &stderr,
            "deadline_kill",
            &[
                ("pid", job_pid.into()),
                ("signalled", true.into()),
                ("disposition", "ignores SIGTERM".into())
            ]
        ),
        "{stderr}"
    );
    assert!(
        has_event(&stderr, "stopped", &[("killed", vec![job_pid].into())]),
        "{stderr}"
    );
    let _ = job.wait();
}

#[test]
fn the_deadline_says_who_was_never_sent_the_stop_signal() {
    // The main process's handler starts a worker and waits for it: the
    // worker is its parent's business, and never gets SIGTERM from grace.
    // With `--stop-order all`: under the default order the worker, forked
    // while the order is read, may be listed (and signalled at half time,
    // as the order does with whoever still waits) or come after (a
    // newcomer), a race this test must not depend on.
    let dir = TempDir::new();
    let worker = probe(&dir, "worker", &[]);
    let script = main_script(&dir, &format!("{worker} & wait $!"), 3);
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["--stop-order", "all", "--grace-period", "1s", "--"])
        .args(["sh", "-c", &script])
        .start(&dir);
    let main_pid = wait_ready(&dir, "main");
    grace.signal(15);
    let worker_pid = wait_ready(&dir, "worker");
    assert_eq!(grace.wait_code(), 137, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "worker"), Vec::<i64>::new());
    let stderr = grace.stderr();
    assert!(
        has_event(
            &stderr,
            "deadline_kill",
            &[
                ("pid", worker_pid.into()),
                ("signalled", false.into()),
                ("disposition", "never sent SIGTERM".into())
            ]
        ),
        "{stderr}"
    );
    assert!(
        has_event(
            &stderr,
            "deadline_kill",
            &[("pid", main_pid.into()), ("signalled", true.into())]
        ),
        "{stderr}"
    );
}
