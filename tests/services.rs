//! `grace check FILE`, the built binary on services files written to a
//! scratch directory: a valid file is summarised in start order (exit 0),
//! each kind of bad file is refused with exit 2 and one message that names
//! the file, the line and the key, and nothing in the file is ever run.
//! The messages' wording is the product here, as the summary line is.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use crate::support::services::write_config;
use crate::support::{TempDir, executable, grace_command, run_to_end, shell_code};

/// `grace check` on `path`: exit code, stdout, stderr.
fn check(path: &Path) -> (i32, String, String) {
    run_to_end(grace_command().arg("check").arg(path))
}

/// Writes `text` as services.toml in `dir`, with `{dir}` replaced by the
/// directory's path.
fn write(dir: &TempDir, text: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &text.replace("{dir}", &dir.path().display().to_string()),
    )
}

#[test]
fn a_valid_file_is_summarised_in_start_order_and_nothing_runs() {
    let dir = TempDir::new();
    let ran = dir.join("ran");
    fs::create_dir(dir.join("app")).unwrap();
    executable(
        &dir.join("app/server"),
        format!("#!/bin/sh\ntouch {}\n", ran.display()),
    );
    let path = write(
        &dir,
        &r#"grace_period = "25s"

[service.web]
command = ["./server", "--port", "8080"]
working_directory = "{dir}/app"
after = ["app"]
ready = { tcp = "127.0.0.1:8080" }

[service.app]
command = ["sh", "-c", "touch {ran}; exec sleep 60"]
after = ["db"]
restart = "on-failure"
ready = { exec = ["sh", "-c", "touch {ran}"], interval = "100ms" }

[service.db]
command = ["sleep", "60"]
ready = { fd = 3 }
stop_signal = "INT"
stop_timeout = "15s"
environment = { PGDATA = "/data" }
"#
        .replace("{ran}", &ran.display().to_string()),
    );
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("db: /") && lines[0].ends_with("sleep 60 (ready: fd 3)"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("app: /") && lines[1].contains("ready: exec /"),
        "{stdout}"
    );
    assert!(
        lines[1].ends_with("after: db; restart: on-failure)"),
        "{stdout}"
    );
    assert_eq!(
        lines[2],
        format!(
            "web: {}/app/server --port 8080 (ready: tcp 127.0.0.1:8080; after: app)",
            dir.path().display()
        )
    );
    assert!(!ran.exists(), "grace check ran something");
}

/// Each kind of bad file: exit 2 and `FILE:LINE: KEY: ` at the start of
/// the one message.
#[test]
fn each_kind_of_bad_file_names_its_line_and_key() {
    let dir = TempDir::new();
    let ran = dir.join("ran");
    fs::write(dir.join("plain"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("plain"), fs::Permissions::from_mode(0o644)).unwrap();
    // Every bad file also has a service, after the bad part, that would
    // leave a marker if run.
    let runs = format!(
        "[service.marker]\ncommand = [\"sh\", \"-c\", \"touch {}\"]\n",
        ran.display()
    );
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nstop_timout = \"1s\"\n",
            3,
            "service.db.stop_timout",
            "unknown field `stop_timout`",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nstop_timeout = \"15 s\"\n",
            3,
            "service.db.stop_timeout",
            "invalid duration '15 s'",
        ),
        (
            "grace_period = \"forever\"\n",
            1,
            "grace_period",
            "invalid duration 'forever'",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nstop_signal = \"SIGSTOP\"\n",
            3,
            "service.db.stop_signal",
            "SIGSTOP cannot stop a process",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nstop_signal = \"TERMINATE\"\n",
            3,
            "service.db.stop_signal",
            "invalid signal 'TERMINATE'",
        ),
        (
            "[service.app]\ncommand = [\"sleep\", \"1\"]\nafter = [\"dbb\"]\n",
            3,
            "service.app.after",
            "unknown service \"dbb\"",
        ),
        (
            "[service.a]\ncommand = [\"sleep\", \"1\"]\nafter = [\"b\"]\n\
             [service.b]\ncommand = [\"sleep\", \"1\"]\nafter = [\"a\"]\n",
            6,
            "service.b.after",
            "dependency cycle: b after a after b",
        ),
        (
            "[service.db]\ncommand = [\"no-such-program-here\"]\n",
            2,
            "service.db.command",
            "\"no-such-program-here\" not found in PATH",
        ),
        (
            "[service.db]\ncommand = [\"{dir}/plain\"]\n",
            2,
            "service.db.command",
            "plain\" cannot be executed: not an executable file",
        ),
        (
            "[service.db]\ncommand = [\"{dir}\"]\n",
            2,
            "service.db.command",
            "cannot be executed",
        ),
        (
            "[service.db]\ncommand = [\"./plain\"]\nworking_directory = \"{dir}\"\n",
            2,
            "service.db.command",
            "cannot be executed",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nready = { fd = 1 }\n",
            3,
            "service.db.ready.fd",
            "descriptor 1 is the service's standard output",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nready = { tcp = \"db:5432\" }\n",
            3,
            "service.db.ready.tcp",
            "invalid host \"db\"",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nready = { tcp = \"127.0.0.1:99999\" }\n",
            3,
            "service.db.ready.tcp",
            "invalid port",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nready = \"sd_notify\"\n",
            3,
            "service.db.ready",
            "invalid ready \"sd_notify\"",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nuser = \"no-such-user-here\"\n",
            3,
            "service.db.user",
            "\"no-such-user-here\": ",
        ),
        (
            "[service.db]\ncommand = [\"sleep\", \"1\"]\nstop_timeout = \"1s\n",
            3,
            "service.db.stop_timeout",
            "invalid basic string",
        ),
    ];
    for (text, line, key, message) in cases {
        let path = write(&dir, &format!("{text}\n{runs}"));
        let (code, stdout, stderr) = check(&path);
        assert_eq!(code, 2, "{text}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{text}: {stdout}");
        let expected = format!("grace: error: {}:{line}: {key}: ", path.display());
        assert!(
            stderr.starts_with(&expected) && stderr.contains(message),
            "{text}\nexpected {expected}...{message}\ngot {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
        assert!(!ran.exists(), "{text}: something ran");
    }
}

#[test]
fn unreadable_files_and_usage_errors_exit_2() {
    let dir = TempDir::new();
    let missing = dir.join("missing.toml");
    let (code, _, stderr) = check(&missing);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("grace: error: {}: cannot read", missing.display())),
        "{stderr}"
    );

    let path = dir.join("latin1.toml");
    fs::write(&path, b"# ok\n# caf\xe9\n").unwrap();
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("grace: error: {}:2: not UTF-8", path.display())),
        "{stderr}"
    );

    for args in [
        &["check"][..],
        &["check", "a.toml", "b.toml"],
        &["check", "--json", "a"],
    ] {
        let output = grace_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(shell_code(output.status), 2, "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("usage: grace check FILE"),
            "{args:?}: {stderr}"
        );
    }

    let output = grace_command().args(["check", "--help"]).output().unwrap();
    assert_eq!(shell_code(output.status), 0);
    assert!(String::from_utf8_lossy(&output.stdout).contains("usage: grace check FILE"));
}

/// An unset `${VAR}` without a default is refused, naming the variable at
/// its line; `--services` shows what would run, and an unknown name is
/// exit 2.
#[test]
fn variables_and_chosen_services_are_checked() {
    let dir = TempDir::new();
    let path = write(
        &dir,
        "[service.app]\nenvironment = { A = \"1\" }\ncommand = [\"true\", \"${GRACE_TEST_UNSET}\"]\n",
    );
    let (code, stdout, stderr) = check(&path);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("services.toml:3:") && stderr.contains("GRACE_TEST_UNSET"),
        "{stderr}"
    );

    let path = write(
        &dir,
        "[service.db]\ncommand = [\"true\"]\n\
         [service.web]\ncommand = [\"true\"]\nafter = [\"db\"]\n\
         [service.worker]\ncommand = [\"true\"]\nenabled = false\n",
    );
    let run = |extra: &[&str]| {
        let output = grace_command()
            .arg("check")
            .arg(&path)
            .args(extra)
            .env_remove("GRACE_SERVICES")
            .stdin(Stdio::null())
            .output()
            .expect("run grace check");
        let names: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split(':').next().map(String::from))
            .collect();
        (shell_code(output.status), names)
    };
    assert_eq!(run(&[]), (0, vec!["db".into(), "web".into()]));
    assert_eq!(run(&["--services", "worker"]), (0, vec!["worker".into()]));
    assert_eq!(
        run(&["--services", "web,worker"]),
        (0, vec!["db".into(), "web".into(), "worker".into()])
    );
    assert_eq!(run(&["--services", "wrker"]), (2, vec![]));
}
