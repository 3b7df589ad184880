//! grace exits like the command it ran, and like a shell when it cannot run it.

use crate::util::{Grace, Mode, TempDir, run_plain};

fn code_of(shell: &str, extra: &[&str]) -> i32 {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(extra)
        .args(["--", "sh", "-c", shell])
        .start(&dir);
    grace.wait_code()
}

#[test]
fn exit_codes_pass_through() {
    assert_eq!(code_of("exit 0", &[]), 0);
    assert_eq!(code_of("exit 3", &[]), 3);
    assert_eq!(code_of("exit 255", &[]), 255);
}

#[test]
fn death_by_signal_is_128_plus_the_signal() {
    assert_eq!(code_of("kill -KILL $$", &[]), 137);
    assert_eq!(code_of("kill -TERM $$", &[]), 143);
}

#[test]
fn success_exit_codes_map_to_zero() {
    assert_eq!(code_of("exit 3", &["-e", "3"]), 0);
    assert_eq!(code_of("exit 4", &["-e", "3", "--success-exit", "5"]), 4);
    assert_eq!(code_of("exit 5", &["-e", "3", "--success-exit", "5"]), 0);
}

#[test]
fn missing_command_is_127_and_named() {
    let (code, stderr) = run_plain(&["--", "/nonexistent/command"]);
    assert_eq!(code, 127);
    assert!(stderr.contains("/nonexistent/command"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    let (code, _) = run_plain(&["no-such-command-on-any-path"]);
    assert_eq!(code, 127);
}

#[test]
fn command_that_cannot_execute_is_126() {
    let dir = TempDir::new();
    let script = dir.join("not-executable");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let (code, stderr) = run_plain(&[script.to_str().unwrap()]);
    assert_eq!(code, 126, "{stderr}");
    let (code, _) = run_plain(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 126, "a directory");
}

#[test]
fn bad_command_lines_are_usage_errors() {
    for args in [
        &[][..],
        &["--"],
        &["-v"],
        &["--bogus", "true"],
        &["-x", "true"],
        &["-p", "NOPE", "true"],
        &["-e", "256", "true"],
        &["--forward-to", "everyone", "true"],
    ] {
        let (code, stderr) = run_plain(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("usage: grace"), "{args:?}: {stderr}");
    }
    let (_, stderr) = run_plain(&["-p", "NOPE", "true"]);
    assert!(stderr.contains("RTMIN+N"), "accepted forms shown: {stderr}");
}

#[test]
fn help_and_version_go_to_stdout_with_status_zero() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let output = std::process::Command::new(crate::util::grace_bin())
            .arg(flag)
            .output()
            .unwrap();
        assert!(output.status.success(), "{flag}");
        assert!(!output.stdout.is_empty(), "{flag}");
    }
}
