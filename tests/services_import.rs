//! `grace import`: a supervisord configuration written the way
//! supervisord's documentation shows one, and a Procfile, translated by the
//! built binary; the output passes `grace check` and runs as PID 1 of a
//! real PID namespace, where what the services wrote down is what they
//! observed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{Grace, Mode, TempDir, grace_command, json_log, named, shell_code};

/// `grace import FILE` (with `variables` set): exit code and stdout.
fn import(file: &Path) -> (i32, String, String) {
    let output = grace_command()
        .arg("import")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run grace import");
    (
        shell_code(output.status),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `grace check FILE` with `variables` set: exit code and stderr.
fn check(file: &Path, variables: &[(&str, &str)]) -> (i32, String) {
    let mut command = grace_command();
    command.arg("check").arg(file).stdin(Stdio::null());
    set(&mut command, variables);
    let output = command.output().expect("run grace check");
    (
        shell_code(output.status),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn set(command: &mut Command, variables: &[(&str, &str)]) {
    for (name, value) in variables {
        command.env(name, value);
    }
}

/// Imports `source`, checks the result and runs it as PID 1 with
/// `variables` set, until its essential service ends it: grace's stderr.
fn import_check_run(dir: &TempDir, source: &Path, variables: &[(&str, &str)]) -> String {
    let (code, services, stderr) = import(source);
    assert_eq!(code, 0, "{stderr}");
    let file = dir.join("services.toml");
    fs::write(&file, &services).unwrap();
    let (code, stderr) = check(&file, variables);
    assert_eq!(code, 0, "{stderr}\n{services}");
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .configure(|command| set(command, variables))
        .arg("--config")
        .arg(&file)
        .start(dir);
    grace.wait_code();
    grace.stderr()
}

#[test]
fn a_supervisord_configuration_is_imported_checked_and_run() {
    let dir = TempDir::new();
    let out = dir.join("out");
    let source = dir.join("supervisord.conf");
    // As supervisord's documentation writes them: `;` comments, sections
    // it has that grace has not, `%(ENV_X)s` and `%(program_name)s`.
    fs::write(
        &source,
        r#"; supervisor config file

[unix_http_server]
file=/var/run/supervisor.sock   ; (the path to the socket file)
chmod=0700                       ; socket file mode (default 0700)

[supervisord]
logfile=/var/log/supervisor/supervisord.log ; (main log file;default $CWD/supervisord.log)
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///var/run/supervisor.sock ; use a unix:// URL  for a unix socket

[program:db]
command=/bin/sh -c "exec sleep 1000"
priority=1
stopsignal=TERM
stopwaitsecs=5
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0

[program:app]
command=/bin/sh -c 'printf "%%s|%%s|%%s" "$1" "$GREETING" "$2" > "$0"' %(ENV_IMPORT_OUT)s %(program_name)s '$HOME'
directory=/tmp
environment=GREETING="hello, world"
priority=2
autorestart=false
startsecs=0
"#,
    )
    .unwrap();
    let log = import_check_run(&dir, &source, &[("IMPORT_OUT", &out.display().to_string())]);
    // supervisord passes `$HOME` on as written: so does the translation.
    assert_eq!(
        fs::read_to_string(&out).unwrap_or_default(),
        "app|hello, world|$HOME",
        "{log}"
    );
    let started: Vec<String> = named(&log, "service_started")
        .iter()
        .map(|event| event["service"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(started, ["db", "app"], "{log}");
}

#[test]
fn a_procfile_is_imported_checked_and_run() {
    let dir = TempDir::new();
    let out = dir.join("out");
    let source = dir.join("Procfile");
    fs::write(
        &source,
        format!(
            "# the web process\nweb: echo \"web ${{GREETING:-none}} $$\" > {}\n",
            out.display()
        ),
    )
    .unwrap();
    let log = import_check_run(&dir, &source, &[("GREETING", "hi")]);
    // The shell, not grace, expanded the command's variables.
    let wrote = fs::read_to_string(&out).unwrap_or_default();
    assert!(
        wrote.starts_with("web hi ") && wrote.trim_end().len() > 7,
        "{wrote}\n{log}"
    );
}

#[test]
fn what_is_neither_format_exits_2() {
    let dir = TempDir::new();
    let source = dir.join("empty");
    fs::write(&source, "# nothing\n").unwrap();
    assert_eq!(import(&source).0, 2);
    assert_eq!(import(&dir.join("missing")).0, 2);
}
