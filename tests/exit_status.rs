//! grace exits like the command it ran, and like a shell when it cannot run it.

use std::path::Path;

use crate::support::{Grace, Mode, TempDir, executable, run_plain};

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
        let output = std::process::Command::new(crate::support::grace_bin())
            .arg(flag)
            .output()
            .unwrap();
        assert!(output.status.success(), "{flag}");
        assert!(!output.stdout.is_empty(), "{flag}");
    }
}

/// A script with no `#!` line that writes its $0 and arguments, one a
/// line, to `marker`, then exits 7.
fn script_without_shebang(dir: &TempDir, name: &str, marker: &Path) -> String {
    let body = format!(
        "printf '%s\\n' \"$0\" \"$@\" > {}\nexit 7\n",
        marker.display()
    );
    let path = dir.join(name);
    executable(&path, body);
    path.to_string_lossy().into_owned()
}

/// grace as PID 1 running `args`, with PATH set to `path` when given: its
/// exit code, and what the script wrote to `marker`.
fn run_script(dir: &TempDir, args: &[&str], path: Option<&str>, marker: &Path) -> (i32, String) {
    let mut builder = Grace::builder(Mode::Pid1);
    if let Some(path) = path {
        builder = builder.configure(|command| {
            command.env("PATH", path);
        });
    }
    let mut grace = builder.arg("--").args(args).start(dir);
    let code = grace.wait_code();
    let written = std::fs::read_to_string(marker)
        .unwrap_or_else(|_| panic!("the script did not run: {}", grace.stderr()));
    (code, written)
}

#[test]
fn a_script_without_a_shebang_runs_under_sh() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    let script = script_without_shebang(&dir, "no-shebang", &marker);
    let (code, written) = run_script(&dir, &[&script, "a", "b c"], None, &marker);
    assert_eq!(code, 7);
    assert_eq!(
        written,
        format!("{script}\na\nb c\n"),
        "its $0 and arguments"
    );
}

#[test]
fn a_script_without_a_shebang_found_on_path_runs_under_sh() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    std::fs::create_dir(dir.join("bin")).unwrap();
    let script = script_without_shebang(&dir, "bin/from-path", &marker);
    let path = format!("/nonexistent:{}:/usr/bin:/bin", dir.join("bin").display());
    let (code, written) = run_script(&dir, &["from-path", "x"], Some(&path), &marker);
    assert_eq!(code, 7);
    assert_eq!(
        written,
        format!("{script}\nx\n"),
        "the file found on PATH ran"
    );
}

#[test]
fn a_binary_the_kernel_cannot_run_is_126_and_not_given_to_sh() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    // A NUL on the first line makes it binary; were it given to sh, the
    // second line would run.
    let contents = format!("\x7fELF\0\0\0\ntouch {}\n", marker.display());
    let binary = dir.join("foreign");
    executable(&binary, contents);
    let (code, stderr) = run_plain(&["--", binary.to_str().unwrap()]);
    assert_eq!(code, 126, "{stderr}");
    assert!(!marker.exists(), "the binary was run as a script");
}

#[test]
fn a_missing_interpreter_is_127_and_named() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    let contents = format!(
        "#!/nonexistent/interpreter -x\ntouch {}\n",
        marker.display()
    );
    let script = dir.join("bad-interpreter");
    executable(&script, contents);
    let (code, stderr) = run_plain(&["--", script.to_str().unwrap()]);
    assert_eq!(code, 127, "{stderr}");
    assert!(!marker.exists());
    // The message is the fix: it names the interpreter, not the script, as
    // the thing that is missing.
    assert!(stderr.contains("/nonexistent/interpreter"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_script_without_a_shebang_and_no_bin_sh_is_127() {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    let script = script_without_shebang(&dir, "no-shebang", &marker);
    // A mount namespace of its own, where /bin/sh (Debian's /bin is
    // /usr/bin) is hidden under an empty tmpfs; grace itself is run by its
    // full path, from the already loaded shell.
    let output = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs none /usr/bin && exec "$@""#)
        .args(["sh", crate::support::grace_bin(), "--", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(127), "{stderr}");
    assert!(!marker.exists());
    assert!(stderr.contains("/bin/sh"), "the shell is named: {stderr}");
}
