//! Command lines grace refuses before it starts anything: a usage error
//! (2, or 1 in a personality), and the command never runs.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{TempDir, grace_bin, personality_link, shell_code};

/// Runs `program args -- touch MARKER` with `env`: the exit code, and
/// whether the command ran.
fn refused(program: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, bool) {
    let dir = TempDir::new();
    let marker = dir.join("ran");
    let output = Command::new(program)
        .args(args)
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run grace");
    (shell_code(output.status), marker.exists())
}

/// SIGKILL and SIGSTOP never reach grace and SIGCHLD is what it reaps on:
/// as a stop signal they would replace TERM,INT and nothing would ever
/// start a stop. A stop signal that cannot end a process (SIGSTOP, undone
/// by the SIGCONT after it; SIGCHLD, ignored) would leave everything to
/// the deadline.
#[test]
fn stop_signals_that_cannot_work_are_refused() {
    let grace = Path::new(grace_bin());
    for args in [
        &["--stop-on", "KILL"][..],
        &["--stop-on", "SIGCHLD"],
        &["--stop-on", "STOP"],
        &["--stop-on", "TERM,9"],
        &["--stop-signal", "STOP"],
        &["--stop-signal", "CHLD"],
        &["--rewrite", "CHLD:TERM"],
    ] {
        assert_eq!(refused(grace, args, &[]), (2, false), "{args:?}");
    }
    for (name, value) in [
        ("GRACE_STOP_ON", "KILL"),
        ("GRACE_STOP_ON", "TERM,CHLD"),
        ("GRACE_STOP_SIGNAL", "SIGSTOP"),
    ] {
        assert_eq!(
            refused(grace, &[], &[(name, value)]),
            (2, false),
            "{name}={value}"
        );
    }
    // In a personality, with that tool's usage status.
    let dir = TempDir::new();
    for name in ["tini", "dumb-init"] {
        let link = personality_link(&dir, name);
        assert_eq!(
            refused(&link, &[], &[("GRACE_STOP_ON", "STOP")]),
            (1, false),
            "{name}"
        );
    }
}

/// SIGKILL as the signal for every other process works: a stop without
/// time to finish, for whoever asks for one.
#[test]
fn stop_signals_that_work_are_accepted() {
    let grace = Path::new(grace_bin());
    for args in [
        &["--stop-on", "TERM,INT,QUIT,USR1,RTMIN+3"][..],
        &["--stop-signal", "KILL"],
        &["--stop-signal", "QUIT"],
    ] {
        assert_eq!(refused(grace, args, &[]), (0, true), "{args:?}");
    }
}
