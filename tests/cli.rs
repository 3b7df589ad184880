//! Command lines grace refuses before it starts anything: a usage error
//! (2, or 1 in a personality), and the command never runs.

use std::process::{Command, Stdio};

use crate::support::{TempDir, grace_bin, personality_link, shell_code};

/// SIGKILL and SIGSTOP never reach grace and SIGCHLD is what it reaps on:
/// as a stop signal they would replace TERM,INT and nothing would ever
/// start a stop. A stop signal that cannot end a process (SIGSTOP, undone
/// by the SIGCONT after it; SIGCHLD, ignored) would leave everything to
/// the deadline. SIGKILL for every other process works: a stop without
/// time to finish, for whoever asks for one.
#[test]
fn stop_signals_that_cannot_work_are_refused() {
    let dir = TempDir::new();
    let (tini, dumb_init) = (
        personality_link(&dir, "tini"),
        personality_link(&dir, "dumb-init"),
    );
    let grace = std::path::Path::new(grace_bin());
    let refused = Some(2);
    let accepted = None;
    for (program, args, env, expected) in [
        (grace, &["--stop-on", "KILL"][..], &[][..], refused),
        (grace, &["--stop-on", "SIGCHLD"], &[], refused),
        (grace, &["--stop-on", "STOP"], &[], refused),
        (grace, &["--stop-on", "TERM,9"], &[], refused),
        (grace, &["--stop-signal", "STOP"], &[], refused),
        (grace, &["--stop-signal", "CHLD"], &[], refused),
        (grace, &["--rewrite", "CHLD:TERM"], &[], refused),
        (grace, &[], &[("GRACE_STOP_ON", "KILL")], refused),
        (grace, &[], &[("GRACE_STOP_ON", "TERM,CHLD")], refused),
        (grace, &[], &[("GRACE_STOP_SIGNAL", "SIGSTOP")], refused),
        (&tini, &[], &[("GRACE_STOP_ON", "STOP")], Some(1)),
        (&dumb_init, &[], &[("GRACE_STOP_ON", "STOP")], Some(1)),
        (
            grace,
            &["--stop-on", "TERM,INT,QUIT,USR1,RTMIN+3"],
            &[],
            accepted,
        ),
        (grace, &["--stop-signal", "KILL"], &[], accepted),
        (grace, &["--stop-signal", "QUIT"], &[], accepted),
    ] {
        let marker = dir.join("ran");
        let _ = std::fs::remove_file(&marker);
        let output = Command::new(program)
            .args(args)
            .arg("--")
            .arg("touch")
            .arg(&marker)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run grace");
        let code = shell_code(output.status);
        let what = format!("{} {args:?} {env:?}", program.display());
        match expected {
            Some(usage) => {
                assert_eq!(code, usage, "{what}");
                assert!(!marker.exists(), "{what}: the command ran");
            }
            None => {
                assert_eq!(code, 0, "{what}");
                assert!(marker.exists(), "{what}: the command did not run");
            }
        }
    }
}
