//! With a terminal on stdin, the command's process group owns its
//! foreground, as it would without grace.

use std::process::{Command, Stdio};

use crate::support::{TempDir, grace_bin};

/// Runs `shell_line` (which must write fields 5 and 8 of a /proc stat file,
/// a process group and its terminal's foreground group, to `out`) under
/// script(1), which gives it a fresh pseudo-terminal as controlling
/// terminal; returns the two fields.
fn group_and_foreground(
    dir: &TempDir,
    shell_line: impl FnOnce(&str) -> String,
) -> (String, String) {
    let out = dir.join("out");
    let status = Command::new("script")
        .args(["-qec", &shell_line(&out.display().to_string()), "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("script(1) from util-linux");
    assert!(status.success());
    let fields = std::fs::read_to_string(&out).unwrap();
    let mut fields = fields.split_whitespace().map(String::from);
    (fields.next().unwrap(), fields.next().unwrap())
}

#[test]
fn command_gets_the_terminal_foreground() {
    let dir = TempDir::new();
    let (group, foreground) = group_and_foreground(&dir, |out| {
        format!(
            "{} -- sh -c 'cut -d\" \" -f5,8 /proc/$$/stat > {out}'",
            grace_bin()
        )
    });
    assert_eq!(
        group, foreground,
        "the command's group is in the foreground"
    );
}

/// A command that cannot be executed has already taken the terminal's
/// foreground in the forked child: grace gives it back, or the shell that
/// ran grace would be left in the background of its own terminal.
#[test]
fn a_command_that_cannot_run_leaves_the_foreground_where_it_was() {
    let dir = TempDir::new();
    let (group, foreground) = group_and_foreground(&dir, |out| {
        format!(
            "sh -c '{} -- /nonexistent/command; cut -d\" \" -f5,8 /proc/$$/stat > {out}'",
            grace_bin()
        )
    });
    assert_eq!(
        group, foreground,
        "the shell's group is in the foreground again"
    );
}
