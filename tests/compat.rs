//! Drop-in compatibility: grace installed as tini, docker-init or dumb-init
//! reads that tool's command line and variables, with its defaults for where
//! forwarded signals go and its exit code for usage errors, while a stop
//! still reaches every process. Also grace's own GRACE_ variables,
//! `--rewrite` and the JSON log lines.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{
    Grace, Mode, TempDir, finished_cleanup, group_and_session, has_event, host_pid_of_probe,
    json_log, monotonic_ms, parse_json, personality_link, probe, probe_args, run_to_end,
    send_and_await, send_signal, signals_received, state_of, wait_exit, wait_ready, wait_until,
};

const SIGUSR1: i32 = 10;

/// A sibling in the command's process group, a setsid'd daemon, and the
/// command itself (`child`), all handling SIGUSR1 and cleaning up on
/// SIGTERM.
fn family(dir: &TempDir) -> String {
    format!(
        "{sibling} & {daemon}; exec {child}",
        sibling = probe(dir, "sibling", &["--handle", "10", "--cleanup-ms", "300"]),
        daemon = probe(dir, "daemon", &["--daemonize", "--cleanup-ms", "300"]),
        child = probe(dir, "child", &["--handle", "10,20", "--cleanup-ms", "100"]),
    )
}

fn wait_for_family(dir: &TempDir) {
    for name in ["sibling", "daemon", "child"] {
        wait_ready(dir, name);
    }
}

/// Stops grace with SIGTERM and checks that every process of `family`
/// finished its cleanup: the reason to switch.
fn stop_reaches_the_family(grace: &mut Grace, dir: &TempDir) {
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    for name in ["sibling", "daemon", "child"] {
        assert!(finished_cleanup(dir, name), "{name}\n{}", grace.stderr());
    }
}

/// Runs a personality's link (or grace) without a namespace, for command
/// lines that end quickly: (exit code, stdout, stderr).
fn run_link(program: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    run_to_end(Command::new(program).args(args).envs(env.iter().copied()))
}

#[test]
fn tini_link_forwards_to_the_child_alone_and_the_stop_reaches_everyone() {
    let dir = TempDir::new();
    let tini = personality_link(&dir, "tini");
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["-s", "-v", "-p", "SIGKILL", "--", "sh", "-c", &family(&dir)])
        .start_as(&tini, &[], &dir);
    wait_for_family(&dir);
    send_and_await(&grace, &dir, "child", SIGUSR1);
    // Like tini, SIGTSTP is passed on (grace itself keeps it).
    send_and_await(&grace, &dir, "child", libc::SIGTSTP);
    stop_reaches_the_family(&mut grace, &dir);
    // -v: a level above the default, which in JSON is debug: each signal
    // passed on.
    assert!(
        has_event(&grace.stderr(), "forward", &[("signal", "SIGUSR1".into())]),
        "{}",
        grace.stderr()
    );
    assert_eq!(signals_received(&dir, "child"), [10, 20, 15]);
    assert_eq!(
        signals_received(&dir, "sibling"),
        [15],
        "tini forwards to the child only"
    );
}

fn sibling_signals_under_tini(args: &[&str], env: &[(&str, &str)]) -> Vec<i64> {
    let dir = TempDir::new();
    let tini = personality_link(&dir, "tini");
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            command.envs(env);
        })
        .args(args)
        .args(["--", "sh", "-c", &family(&dir)])
        .start_as(&tini, &[], &dir);
    wait_for_family(&dir);
    send_and_await(&grace, &dir, "child", SIGUSR1);
    wait_until("SIGUSR1 at the sibling", || {
        signals_received(&dir, "sibling").first() == Some(&10)
    });
    stop_reaches_the_family(&mut grace, &dir);
    signals_received(&dir, "sibling")
}

#[test]
fn tini_g_forwards_to_the_process_group() {
    assert_eq!(sibling_signals_under_tini(&["-g"], &[]), [10, 15]);
}

#[test]
fn tini_kill_process_group_variable_forwards_to_the_process_group() {
    assert_eq!(
        sibling_signals_under_tini(&[], &[("TINI_KILL_PROCESS_GROUP", "")]),
        [10, 15]
    );
}

#[test]
fn docker_init_link_is_tini_with_e_and_w() {
    let dir = TempDir::new();
    let docker_init = personality_link(&dir, "docker-init");
    // An orphan that exits at once is reaped by grace: a zombie for -w.
    let script = format!(
        "({orphan} &); exec {main}",
        orphan = probe(&dir, "orphan", &["--exit-now"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["-w", "-e", "143", "--", "sh", "-c", &script])
        .start_as(&docker_init, &[], &dir);
    wait_ready(&dir, "main");
    wait_until("the zombie warning", || {
        has_event(&grace.stderr(), "reaped", &[("level", "warn".into())])
    });
    grace.signal(15);
    assert_eq!(grace.wait_code(), 0, "-e 143: {}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), [15]);
}

#[test]
fn tini_verbosity_and_subreaper_variables() {
    let dir = TempDir::new();
    let tini = personality_link(&dir, "tini");
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            json_log(command);
            command.env("TINI_VERBOSITY", "3").env("TINI_SUBREAPER", "");
        })
        .args(["--"])
        .args(probe_args(&dir, "main", &["--handle", "10"]))
        .start_as(&tini, &[], &dir);
    wait_ready(&dir, "main");
    send_and_await(&grace, &dir, "main", SIGUSR1);
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
    let stderr = grace.stderr();
    // Registering is a debug line; failing to, a warning.
    assert!(
        has_event(&stderr, "subreaper", &[("level", "debug".into())]),
        "{stderr}"
    );
    assert!(
        has_event(&stderr, "forward", &[("signal", "SIGUSR1".into())]),
        "{stderr}"
    );

    // Level 0: errors only, not even the summary.
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            command.env("TINI_VERBOSITY", "0");
        })
        .args(["--"])
        .args(probe_args(&dir, "main", &[]))
        .start_as(&tini, &[], &dir);
    wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
    assert_eq!(grace.stderr(), "");
}

#[test]
fn personalities_exit_like_the_original_on_usage_errors() {
    let dir = TempDir::new();
    let tini = personality_link(&dir, "tini");
    let dumb_init = personality_link(&dir, "dumb-init");
    let (tini, dumb_init) = (tini.as_path(), dumb_init.as_path());
    let grace = Path::new(crate::support::grace_bin());
    for (program, args, expected) in [
        (tini, &[][..], 1),
        (tini, &["--"], 1),
        (tini, &["-x", "true"], 1),
        (tini, &["-p", "NOPE", "true"], 1),
        (tini, &["-e", "256", "true"], 1),
        (tini, &["--version", "true"], 1),
        (dumb_init, &[], 1),
        (dumb_init, &["--bogus", "true"], 1),
        (dumb_init, &["-r", "99:1", "true"], 1),
        (dumb_init, &["--rewrite", "TERM:QUIT", "true"], 1),
        (grace, &["--bogus", "true"], 2),
    ] {
        let (code, stdout, stderr) = run_link(program, args, &[]);
        assert_eq!(code, expected, "{} {args:?}: {stderr}", program.display());
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.starts_with("grace: error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: "), "{args:?}: {stderr}");
    }
    // A bad GRACE_ variable is a usage error too, in each one's code.
    for (program, expected) in [(tini, 1), (dumb_init, 1), (grace, 2)] {
        let (code, _, stderr) = run_link(program, &["true"], &[("GRACE_STOP_DELAY", "soon")]);
        assert_eq!(code, expected, "{stderr}");
        assert!(stderr.contains("GRACE_STOP_DELAY"), "{stderr}");
    }
}

#[test]
fn personalities_answer_help_version_and_license_with_status_zero() {
    let dir = TempDir::new();
    let tini = personality_link(&dir, "tini");
    let dumb_init = personality_link(&dir, "dumb-init");
    for (program, args, wanted) in [
        (&tini, &["-h"][..], "-g"),
        (&tini, &["--version"], "grace "),
        (&tini, &["-l"], "MIT"),
        (&dumb_init, &["--help"], "--single-child"),
        (&dumb_init, &["-h"], "--rewrite"),
        (&dumb_init, &["-V"], "grace "),
        (&dumb_init, &["--version"], "dumb-init"),
    ] {
        let (code, stdout, stderr) = run_link(program, args, &[]);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stdout.contains(wanted), "{args:?}: {stdout}");
    }
    // The command's own flags are its own, in every personality.
    for (program, args) in [
        (&tini, &["sh", "-c", "exit 7"][..]),
        (
            &tini,
            &["-s", "-p", "SIGKILL", "-v", "--", "sh", "-c", "exit 7"],
        ),
        (&dumb_init, &["sh", "-c", "exit 7"]),
        (&dumb_init, &["-c", "--", "sh", "-c", "exit 7"]),
    ] {
        let (code, _, stderr) = run_link(program, args, &[]);
        assert_eq!(code, 7, "{args:?}: {stderr}");
    }
}

#[test]
fn dumb_init_link_gives_the_command_a_session_and_forwards_to_its_group() {
    let dir = TempDir::new();
    let dumb_init = personality_link(&dir, "dumb-init");
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["sh", "-c", &family(&dir)])
        .start_as(&dumb_init, &[], &dir);
    wait_for_family(&dir);
    let child = host_pid_of_probe(&grace, &dir, "child");
    let (group, session) = group_and_session(child).expect("child's stat");
    assert_eq!((group, session), (child, child), "a session of its own");
    let (_, grace_session) = group_and_session(grace.pid).expect("grace's stat");
    assert_ne!(grace_session, child);

    send_and_await(&grace, &dir, "child", SIGUSR1);
    wait_until("SIGUSR1 at the sibling", || {
        signals_received(&dir, "sibling").first() == Some(&10)
    });
    stop_reaches_the_family(&mut grace, &dir);
    assert_eq!(signals_received(&dir, "daemon"), [15]);
}

fn single_child(args: &[&str], env: &[(&str, &str)]) {
    let dir = TempDir::new();
    let dumb_init = personality_link(&dir, "dumb-init");
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            json_log(command);
            command.envs(env.clone());
        })
        .args(args)
        .args(["sh", "-c", &family(&dir)])
        .start_as(&dumb_init, &[], &dir);
    wait_for_family(&dir);
    let child = host_pid_of_probe(&grace, &dir, "child");
    let (group, session) = group_and_session(child).expect("child's stat");
    let (_, grace_session) = group_and_session(grace.pid).expect("grace's stat");
    assert_eq!(group, child, "a process group of its own");
    assert_eq!(session, grace_session, "in grace's session");
    send_and_await(&grace, &dir, "child", SIGUSR1);
    stop_reaches_the_family(&mut grace, &dir);
    assert_eq!(signals_received(&dir, "sibling"), [15], "the child alone");
    let stderr = grace.stderr();
    let debug = has_event(
        &stderr,
        "forward",
        &[
            ("signal", "SIGUSR1".into()),
            ("pid", wait_ready(&dir, "child").into()),
        ],
    );
    assert_eq!(
        debug,
        env.iter().any(|(k, _)| k == "DUMB_INIT_DEBUG"),
        "{stderr}"
    );
}

#[test]
fn dumb_init_single_child_flag() {
    single_child(&["-c"], &[]);
}

#[test]
fn dumb_init_setsid_variable_0_is_single_child_and_debug_variable_1_logs() {
    single_child(&[], &[("DUMB_INIT_SETSID", "0"), ("DUMB_INIT_DEBUG", "1")]);
}

#[test]
fn dumb_init_rewrite_and_verbose() {
    let dir = TempDir::new();
    let dumb_init = personality_link(&dir, "dumb-init");
    let script = format!(
        "{other} & exec {main}",
        other = probe(&dir, "other", &["--handle", "3,10", "--exit-on", "15"]),
        main = probe(&dir, "main", &["--handle", "10", "--exit-on", "3"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(["-r", "15:3", "--rewrite=10:0", "-v", "sh", "-c", &script])
        .start_as(&dumb_init, &[], &dir);
    wait_ready(&dir, "other");
    wait_ready(&dir, "main");
    grace.signal(SIGUSR1);
    wait_until("the drop to be logged", || {
        has_event(&grace.stderr(), "dropped", &[("signal", "SIGUSR1".into())])
    });
    grace.signal(15);
    // The main process gets SIGQUIT in place of SIGTERM; everyone else
    // grace's stop signal.
    assert_eq!(grace.wait_code(), 131, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), [3]);
    assert_eq!(signals_received(&dir, "other"), [15]);
}

/// dumb-init leaves its working directory for / once the command has
/// started, so that PID 1 keeps no directory in use; the command keeps its
/// own. As grace, grace stays where it was started.
#[test]
fn dumb_init_leaves_its_working_directory_and_the_command_keeps_its_own() {
    let dir = TempDir::new();
    let work = dir.join("work");
    std::fs::create_dir(&work).expect("working directory");
    let cwd = |pid: i32| std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd");
    let dumb_init = personality_link(&dir, "dumb-init");
    let grace = Path::new(crate::support::grace_bin());
    for (program, grace_ends_in) in [(dumb_init.as_path(), Path::new("/")), (grace, &work)] {
        let name = program.file_name().unwrap().to_string_lossy().into_owned();
        let mut init = Grace::builder(Mode::Pid1)
            .configure(|command| {
                command.current_dir(&work);
            })
            .args(probe_args(&dir, &name, &[]))
            .start_as(program, &[], &dir);
        let main = host_pid_of_probe(&init, &dir, &name);
        assert_eq!(cwd(main), work, "{name}: the command's");
        // grace changes directory after it has started the command: await
        // it, bounded.
        wait_until(&format!("{name} in {}", grace_ends_in.display()), || {
            cwd(init.pid) == grace_ends_in
        });
        assert_eq!(cwd(main), work, "{name}: the command's, still");
        init.signal(15);
        assert_eq!(init.wait_code(), 143, "{name}: {}", init.stderr());
    }
}

#[test]
fn grace_rewrite_from_the_command_line_and_the_environment() {
    let dir = TempDir::new();
    let main = probe_args(&dir, "main", &["--handle", "12", "--exit-on", "3"]);
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            command.env("GRACE_REWRITE", "USR1:USR2");
        })
        .args(["--rewrite", "TERM:QUIT", "--"])
        .args(main)
        .start(&dir);
    wait_ready(&dir, "main");
    // The command line's rule list replaces the variable's: SIGUSR1 is
    // not rewritten.
    send_and_await(&grace, &dir, "main", 12);
    grace.signal(15);
    assert_eq!(grace.wait_code(), 131, "{}", grace.stderr());
    assert_eq!(signals_received(&dir, "main"), [12, 3]);

    let dir = TempDir::new();
    let main = probe_args(&dir, "main", &["--handle", "12"]);
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            command.env("GRACE_REWRITE", "USR1:USR2");
        })
        .arg("--")
        .args(main)
        .start(&dir);
    wait_ready(&dir, "main");
    send_and_await(&grace, &dir, "main", SIGUSR1);
    assert_eq!(
        signals_received(&dir, "main"),
        [12],
        "USR1 passed on as USR2"
    );
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143);
}

#[test]
fn dumb_init_suspends_itself_on_sigtstp_when_not_pid1() {
    /// Kills grace's group and the command's when the test ends.
    struct Groups(Vec<i32>);
    impl Drop for Groups {
        fn drop(&mut self) {
            for &group in &self.0 {
                // SAFETY: kill(2) with plain integers.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
        }
    }
    let dir = TempDir::new();
    let dumb_init = personality_link(&dir, "dumb-init");
    let stderr = std::fs::File::create(dir.join("grace.stderr")).unwrap();
    let mut child = Command::new(&dumb_init)
        .args(probe_args(&dir, "main", &["--handle", "18"]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap();
    let grace = child.id() as i32;
    let mut groups = Groups(vec![grace]);
    let main = wait_ready(&dir, "main");
    groups.0.push(main);
    send_signal(grace, libc::SIGTSTP);
    wait_until("grace and the command stopped", || {
        state_of(grace) == Some('T') && state_of(main) == Some('T')
    });
    send_signal(grace, libc::SIGCONT);
    wait_until("SIGCONT passed on", || {
        signals_received(&dir, "main").contains(&18)
    });
    assert_ne!(state_of(grace), Some('T'));
    assert_ne!(state_of(main), Some('T'));
    send_signal(grace, libc::SIGTERM);
    let status = wait_exit(&mut child, "grace to exit");
    assert_eq!(status.code(), Some(143));
}

#[test]
fn grace_variables_configure_it_and_reach_the_command_unchanged() {
    let dir = TempDir::new();
    let env_file = dir.join("env");
    let script = format!(
        "env > {env}; {other} & {ignorer} & exec {main}",
        env = env_file.display(),
        other = probe(&dir, "other", &["--exit-on", "12"]),
        ignorer = probe(&dir, "ignorer", &["--ignore", "12", "--exit-on", "10"]),
        main = probe(&dir, "main", &[]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|command| {
            command
                .env("GRACE_GRACE_PERIOD", "30s")
                .env("GRACE_STOP_SIGNAL", "USR2")
                .env("GRACE_TYPO", "1");
        })
        .args(["--grace-period", "1s", "--", "sh", "-c", &script])
        .start(&dir);
    for name in ["other", "ignorer", "main"] {
        wait_ready(&dir, name);
    }
    let sent = monotonic_ms();
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    let took = monotonic_ms() - sent;
    assert!(
        (1000..2000).contains(&took),
        "the command line's 1s: {took} ms"
    );
    assert_eq!(signals_received(&dir, "other"), [12], "the variable's USR2");
    assert_eq!(signals_received(&dir, "main"), [15]);
    let stderr = grace.stderr();
    assert!(stderr.contains("GRACE_TYPO"), "{stderr}");
    let env = std::fs::read_to_string(&env_file).unwrap();
    for line in [
        "GRACE_GRACE_PERIOD=30s",
        "GRACE_STOP_SIGNAL=USR2",
        "GRACE_TYPO=1",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in\n{env}");
    }
}

// ---------------------------------------------------------------------------
// JSON log lines
// ---------------------------------------------------------------------------

/// `2025-01-31T12:34:56.789Z`.
fn is_rfc3339_millis(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == shape.len()
        && text
            .chars()
            .zip(shape.chars())
            .all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s })
}

#[test]
fn json_log_lines_follow_the_documented_schema() {
    let dir = TempDir::new();
    let script = format!(
        "{ignorer} & exec {main}",
        ignorer = probe(&dir, "ignorer", &["--ignore", "15", "--exit-on", "10"]),
        main = probe(&dir, "main", &["--cleanup-ms", "50"]),
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--log-format", "json", "--grace-period", "1s", "--"])
        .args(["sh", "-c", &script])
        .start(&dir);
    let ignorer = wait_ready(&dir, "ignorer");
    let main_pid = wait_ready(&dir, "main");
    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());

    let stderr = grace.stderr();
    let mut lines = Vec::new();
    for line in stderr.lines() {
        let object = match parse_json(line) {
            Ok(Value::Object(object)) => object,
            other => panic!("not a JSON object: {line:?}: {other:?}\n{stderr}"),
        };
        let time = object.get("time").and_then(Value::as_str);
        assert!(time.is_some_and(is_rfc3339_millis), "time: {line}");
        let level = object.get("level").and_then(Value::as_str);
        assert!(
            level.is_some_and(|l| ["error", "warn", "notice", "info", "debug"].contains(&l)),
            "{line}"
        );
        let event = object.get("event").and_then(Value::as_str);
        assert!(event.is_some_and(|e| !e.is_empty()), "{line}");
        assert!(
            object.get("message").is_some_and(Value::is_string),
            "{line}"
        );
        assert!(!line.contains("grace: "), "no text prefix in JSON: {line}");
        lines.push(Value::Object(object));
    }
    let event = |name: &str| -> &Value {
        lines
            .iter()
            .find(|line| line["event"] == name)
            .unwrap_or_else(|| panic!("no {name} event in\n{stderr}"))
    };

    let stop = event("stop");
    assert_eq!(stop["level"], "info");
    assert_eq!(stop["signal"], "SIGTERM");
    assert_eq!(stop["grace_period_ms"], 1000);
    assert!(stop["sender"].is_i64(), "{stop}");

    // The default order: the main process first, the ignorer (its child)
    // once its parent has exited.
    let first = event("signal_main");
    assert_eq!(first["signal"], "SIGTERM");
    assert_eq!(first["pid"], main_pid);
    assert!(first["elapsed_ms"].is_u64(), "{first}");
    let ordered = event("stop_ordered");
    assert_eq!(ordered["level"], "info");
    assert_eq!(ordered["pid"], ignorer);
    assert_eq!(ordered["command"], "probe");
    assert_eq!(ordered["after"], main_pid);
    assert_eq!(ordered["after_command"], "probe");
    assert_eq!(ordered["reason"], "parent");
    assert_eq!(ordered["late"], false);
    assert!(ordered["elapsed_ms"].is_u64(), "{ordered}");

    let main = event("main_exited");
    assert_eq!(main["signal"], "SIGTERM");
    assert!(main["exit_code"].is_null(), "{main}");

    let kill = event("deadline_kill");
    assert_eq!(kill["level"], "warn");
    assert_eq!(kill["pid"], ignorer);
    assert!(
        kill["command"]
            .as_str()
            .is_some_and(|c| c.contains("probe")),
        "{kill}"
    );
    assert!(
        kill["disposition"]
            .as_str()
            .is_some_and(|d| d.contains("ignores SIGTERM")),
        "{kill}"
    );
    assert!(
        kill["state"].as_str().is_some_and(|s| s.len() == 1),
        "{kill}"
    );

    let stopped = event("stopped");
    assert_eq!(stopped["level"], "notice");
    assert_eq!(stopped["killed"], serde_json::json!([ignorer]));
    assert_eq!(stopped["exit_code"], 143);
    assert!(
        stopped["processes"].as_u64().is_some_and(|n| n >= 2),
        "{stopped}"
    );
    assert!(
        stopped["duration_ms"].as_u64().is_some_and(|n| n >= 1000),
        "{stopped}"
    );
}

#[test]
fn dumb_init_hands_its_terminal_to_the_command_session() {
    let dir = TempDir::new();
    let out = dir.join("out");
    let dumb_init = personality_link(&dir, "dumb-init");
    // script(1) gives grace a fresh pseudo-terminal as its controlling
    // terminal, grace leading the session. Fields 5 to 8 of stat: process
    // group, session, terminal, terminal's foreground group.
    let inner = format!(
        "exec {} sh -c 'echo $$ $(cut -d\" \" -f5-8 /proc/$$/stat) > {}'",
        dumb_init.display(),
        out.display()
    );
    let output = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("SIGHUP"), "{stdout}");
    let fields: Vec<i64> = std::fs::read_to_string(&out)
        .unwrap()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let [pid, group, session, terminal, foreground] = fields[..] else {
        panic!("{fields:?}")
    };
    assert_eq!((group, session), (pid, pid), "a session of its own");
    assert_ne!(terminal, 0, "with the terminal as its controlling terminal");
    assert_eq!(foreground, pid, "in the foreground");
}
