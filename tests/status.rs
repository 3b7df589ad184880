//! `grace status` and the service column of `grace inspect`, the built
//! binary against state files written here in the documented format
//! (docs/services.md; the writer's own round trip is a unit test of
//! src/services/published.rs): the exit code a HEALTHCHECK relies on (0 only
//! when every service is ready, no stop has begun and the grace that wrote
//! the file still runs), the table, and the JSON read strictly.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{TempDir, grace_command, monotonic_ms, parse_json, run_to_end, stat_field};

/// One service line: NAME STATE STATUS PID RESTARTS SINCE_MS RESTART_AT_MS
/// (the process group is the pid, as the runtime starts services).
#[derive(Clone, Copy)]
struct Line<'a>(
    &'a str,
    &'a str,
    &'a str,
    Option<u32>,
    u32,
    u64,
    Option<u64>,
);

/// The start time of `pid` in /proc/PID/stat (field 22), as grace records
/// its own.
fn start_ticks(pid: u32) -> u64 {
    stat_field(pid as i32, 22)
        .and_then(|field| field.parse().ok())
        .expect("start time")
}

/// A state file in `dir` as a grace with pid `grace` (start time
/// `start`) would publish it.
fn publish(dir: &Path, grace: (u32, u64), stopping: bool, services: &[Line]) {
    let dash = |value: Option<u64>| value.map_or("-".to_string(), |v| v.to_string());
    let mut text = format!(
        "grace-status 1\ngrace\t{}\t{}\t{}\t{}\n",
        grace.0,
        grace.1,
        monotonic_ms(),
        u8::from(stopping)
    );
    for Line(name, state, status, pid, restarts, since, at) in services {
        let pid = dash(pid.map(u64::from));
        text.push_str(&format!(
            "service\t{name}\t{state}\t{status}\t{pid}\t{pid}\t{restarts}\t{since}\t{}\n",
            dash(*at)
        ));
    }
    fs::create_dir_all(dir).expect("run dir");
    fs::write(dir.join(".state.tmp"), text).expect("write state");
    fs::rename(dir.join(".state.tmp"), dir.join("state")).expect("rename state");
}

/// This test process as the publishing grace: a process that runs.
fn alive() -> (u32, u64) {
    let pid = std::process::id();
    (pid, start_ticks(pid))
}

fn status(args: &[&str], configure: impl FnOnce(&mut Command)) -> (i32, String, String) {
    let mut command = grace_command();
    command.arg("status").args(args);
    configure(&mut command);
    run_to_end(&mut command)
}

fn status_in(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let dir = dir.to_str().expect("UTF-8 path");
    let mut args = vec!["--run-dir", dir];
    args.extend(extra);
    status(&args, |_| {})
}

#[test]
fn every_service_ready_is_exit_0_and_a_table() {
    let dir = TempDir::new();
    let now = monotonic_ms();
    publish(
        dir.path(),
        alive(),
        false,
        &[
            Line("db", "ready", "-", Some(12), 0, now - 75_000, None),
            Line("app", "ready", "-", Some(13), 2, now - 3_000, None),
        ],
    );
    let (code, stdout, stderr) = status_in(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let words = |line: &str| -> Vec<String> { line.split_whitespace().map(String::from).collect() };
    assert_eq!(
        words(lines[0]),
        ["SERVICE", "STATE", "PID", "RESTARTS", "UPTIME"]
    );
    assert_eq!(words(lines[1])[..4], ["db", "ready", "12", "0"]);
    assert!(lines[1].contains(" 1 min "), "{stdout}");
    assert_eq!(words(lines[2])[..4], ["app", "ready", "13", "2"]);
    assert_eq!(lines[3], "2 of 2 services ready");

    let (code, stdout, _) = status_in(dir.path(), &["--json"]);
    assert_eq!(code, 0);
    let json = parse_json(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["version"], 1);
    assert_eq!(json["grace_pid"], std::process::id());
    assert_eq!(json["grace_running"], true);
    assert_eq!(json["stopping"], false);
    assert_eq!(json["ready"], true);
    let db = &json["services"][0];
    assert_eq!(
        (&db["name"], &db["state"], &db["pid"], &db["pgid"]),
        (&"db".into(), &"ready".into(), &12.into(), &12.into())
    );
    let uptime = db["uptime_ms"].as_u64().expect("uptime_ms");
    assert!((75_000..75_000 + crate::support::BOUND.as_millis() as u64).contains(&uptime));
    assert!(db["exit_code"].is_null() && db["signal"].is_null() && db["restart_in_ms"].is_null());
}

/// A service that may end (`essential = false`) and ended as it should
/// counts as ready: exit 0, its state and status shown.
#[test]
fn an_ended_service_counts_as_ready() {
    let dir = TempDir::new();
    let now = monotonic_ms();
    publish(
        dir.path(),
        alive(),
        false,
        &[
            Line("db", "ready", "-", Some(12), 0, now - 5_000, None),
            Line("warm", "ended", "exit:0", None, 0, now - 4_000, None),
        ],
    );
    let (code, stdout, stderr) = status_in(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("warm "), "{stdout}");
    let (code, stdout, _) = status_in(dir.path(), &["--json"]);
    assert_eq!(code, 0, "{stdout}");
    let json = parse_json(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["ready"], true);
    let warm = &json["services"][1];
    assert_eq!(
        (&warm["state"], &warm["exit_code"], &warm["pid"]),
        (&"ended".into(), &0.into(), &serde_json::Value::Null)
    );
}

#[test]
fn anything_not_ready_is_exit_1() {
    let dir = TempDir::new();
    let now = monotonic_ms();
    let ready = Line("db", "ready", "-", Some(12), 0, now, None);
    for (stopping, other) in [
        (false, Line("app", "starting", "-", Some(13), 0, now, None)),
        (false, Line("app", "waiting", "-", None, 0, now, None)),
        (false, Line("app", "exited", "exit:3", None, 0, now, None)),
        (false, Line("app", "exited", "signal:9", None, 4, now, None)),
        (
            false,
            Line("app", "restarting", "-", None, 1, now, Some(now + 60_000)),
        ),
        (false, Line("app", "stopping", "-", Some(13), 0, now, None)),
        (true, Line("app", "ready", "-", Some(13), 0, now, None)),
    ] {
        let state = other.1;
        publish(dir.path(), alive(), stopping, &[ready, other]);
        let (code, stdout, stderr) = status_in(dir.path(), &[]);
        assert_eq!(code, 1, "{state} (stopping: {stopping}): {stdout}{stderr}");
        let (code, stdout, _) = status_in(dir.path(), &["--json"]);
        assert_eq!(code, 1);
        let json = parse_json(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(json["ready"], false, "{stdout}");
        assert_eq!(json["stopping"], stopping);
        assert_eq!(json["services"][1]["state"], state);
    }
    // The words of each state, as the last one written says them.
    let table = |other: Line| {
        publish(dir.path(), alive(), false, &[other]);
        status_in(dir.path(), &[]).1
    };
    assert!(table(Line("a", "exited", "exit:3", None, 0, now, None)).contains(" exited 3 "));
    assert!(
        table(Line("a", "exited", "signal:9", None, 0, now, None)).contains(" killed by SIGKILL ")
    );
    let restarting = table(Line(
        "a",
        "restarting",
        "-",
        None,
        1,
        now,
        Some(monotonic_ms() + 30_500),
    ));
    let seconds: u64 = restarting
        .split_once(" restarting in ")
        .and_then(|(_, rest)| rest.split_once(" s "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{restarting}"));
    assert!(seconds <= 30, "{restarting}");
}

#[test]
fn a_state_whose_grace_no_longer_runs_is_never_ready() {
    let dir = TempDir::new();
    let mut gone = Command::new("true").spawn().expect("spawn true");
    let pid = gone.id();
    let start = start_ticks(pid);
    gone.wait().expect("wait true");
    let now = monotonic_ms();
    publish(
        dir.path(),
        (pid, start),
        false,
        &[Line("db", "ready", "-", Some(12), 0, now, None)],
    );
    let (code, stdout, _) = status_in(dir.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!("grace (pid {pid}) no longer runs")),
        "{stdout}"
    );
    let (_, stdout, _) = status_in(dir.path(), &["--json"]);
    let json = parse_json(&stdout).unwrap();
    assert_eq!(
        (&json["grace_running"], &json["ready"]),
        (&false.into(), &false.into())
    );
    // A process that got the pid later is not the grace that wrote it.
    let (me, my_start) = alive();
    publish(
        dir.path(),
        (me, my_start + 1),
        false,
        &[Line("db", "ready", "-", Some(12), 0, now, None)],
    );
    assert_eq!(status_in(dir.path(), &[]).0, 1);
}

#[test]
fn no_state_or_a_damaged_one_is_exit_1_with_a_reason() {
    let dir = TempDir::new();
    let (code, stdout, stderr) = status_in(&dir.join("nothing"), &[]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("grace: error: no services' state: looked in ")
            && stderr.contains("--run-dir"),
        "{stderr}"
    );
    fs::write(dir.join("state"), "grace-status 9\n").unwrap();
    let (code, _, stderr) = status_in(dir.path(), &["--json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/state: format version 9"), "{stderr}");
    fs::write(dir.join("state"), "grace-status 1\ngrace\t1\n").unwrap();
    let (code, _, stderr) = status_in(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/state: line 2: malformed"), "{stderr}");
}

/// A state that another user could have written (or redirected) is not
/// believed, however ready it says everything is: HEALTHCHECKs act on it.
#[test]
fn a_state_another_user_could_have_written_is_not_trusted() {
    use std::os::unix::fs::{PermissionsExt, chown, symlink};
    let dir = TempDir::new();
    let run = dir.join("run");
    let now = monotonic_ms();
    publish(
        &run,
        alive(),
        false,
        &[Line("db", "ready", "-", Some(12), 0, now, None)],
    );
    let state = run.join("state");
    let mode = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(&run, 0o755);
    let (code, _, stderr) = status_in(&run, &[]);
    assert_eq!(code, 0, "trusted as it is: {stderr}");
    let uid = fs::metadata(&state)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    let untrusted = if uid == 0 { 65534 } else { 0 };
    type Change<'a> = Box<dyn Fn() + 'a>;
    let cases: [(&str, Change, Change); 5] = [
        (
            "a state others may write",
            Box::new(|| mode(&state, 0o666)),
            Box::new(|| mode(&state, 0o644)),
        ),
        (
            "a directory others may write",
            Box::new(|| mode(&run, 0o777)),
            Box::new(|| mode(&run, 0o755)),
        ),
        (
            "a state of another user's",
            Box::new(|| chown(&state, Some(untrusted), None).unwrap()),
            Box::new(|| chown(&state, Some(uid), None).unwrap()),
        ),
        (
            "a hard link",
            Box::new(|| fs::hard_link(&state, dir.join("elsewhere")).unwrap()),
            Box::new(|| fs::remove_file(dir.join("elsewhere")).unwrap()),
        ),
        (
            "a symbolic link",
            Box::new(|| {
                fs::rename(&state, dir.join("real")).unwrap();
                symlink(dir.join("real"), &state).unwrap();
            }),
            Box::new(|| fs::rename(dir.join("real"), &state).unwrap()),
        ),
    ];
    for (what, damage, repair) in cases {
        if what == "a state of another user's" && uid != 0 {
            // Only root may give a file away.
            eprintln!("skipped: {what} (needs root)");
            continue;
        }
        damage();
        let (code, stdout, stderr) = status_in(&run, &[]);
        assert_eq!((code, stdout.as_str()), (1, ""), "{what}: {stderr}");
        assert!(stderr.contains("not trusted"), "{what}: {stderr}");
        repair();
        assert_eq!(status_in(&run, &[]).0, 0, "{what}, repaired");
    }
}

#[test]
fn the_run_dir_comes_from_the_option_else_grace_run_dir() {
    let dir = TempDir::new();
    let now = monotonic_ms();
    publish(
        &dir.join("env"),
        alive(),
        false,
        &[Line("db", "ready", "-", Some(12), 0, now, None)],
    );
    let env = dir.join("env");
    let (code, _, stderr) = status(&[], |command| {
        command.env("GRACE_RUN_DIR", &env);
    });
    assert_eq!(code, 0, "{stderr}");
    let missing = dir.join("missing");
    let missing = missing.to_str().unwrap();
    let (code, _, _) = status(&["--run-dir", missing], |command| {
        command.env("GRACE_RUN_DIR", &env);
    });
    assert_eq!(code, 1, "the option wins");
}

#[test]
fn usage_errors_exit_2_with_status_s_usage_line() {
    for args in [&["--bogus"][..], &["db"], &["--run-dir"], &["--json=1"]] {
        let (code, stdout, stderr) = status(args, |_| {});
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "usage: grace status [--json] [--run-dir DIR]",
                "Try 'grace status --help' for more information."
            ],
            "{args:?}"
        );
    }
    let (code, stdout, _) = status(&["--help"], |_| {});
    assert_eq!(code, 0);
    assert!(stdout.starts_with("grace status: "), "{stdout}");
}

#[test]
fn inspect_names_the_service_a_process_was_started_for() {
    let mut service = Command::new("sleep")
        .arg("30")
        .env("GRACE_SERVICE", "web")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let mut plain = Command::new("sleep")
        .arg("30")
        .env_remove("GRACE_SERVICE")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let inspect = |pid: u32| {
        let output = grace_command()
            .args(["inspect", "--json", &pid.to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("run grace inspect");
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        parse_json(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    let json = inspect(service.id());
    assert_eq!(json["processes"][0]["service"], "web", "{json}");
    let json = inspect(plain.id());
    assert!(
        json["processes"][0].get("service").is_none(),
        "no service, no field: {json}"
    );
    for child in [&mut service, &mut plain] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
