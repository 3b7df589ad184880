//! With a terminal on stdin, the command's process group owns its
//! foreground, as it would without grace.

use std::process::{Command, Stdio};

use crate::util::{TempDir, grace_bin};

#[test]
fn command_gets_the_terminal_foreground() {
    let dir = TempDir::new();
    let out = dir.join("out");
    // script(1) gives grace a fresh pseudo-terminal as its controlling
    // terminal. Fields 5 and 8 of stat are the process group and the
    // terminal's foreground group.
    let inner = format!(
        "{} -- sh -c 'cut -d\" \" -f5,8 /proc/$$/stat > {}'",
        grace_bin(),
        out.display()
    );
    let status = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("script(1) from util-linux");
    assert!(status.success());
    let fields = std::fs::read_to_string(&out).unwrap();
    let mut fields = fields.split_whitespace();
    let (group, foreground) = (fields.next().unwrap(), fields.next().unwrap());
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
    let out = dir.join("out");
    let inner = format!(
        "sh -c '{} -- /nonexistent/command; cut -d\" \" -f5,8 /proc/$$/stat > {}'",
        grace_bin(),
        out.display()
    );
    let status = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("script(1) from util-linux");
    assert!(status.success());
    let fields = std::fs::read_to_string(&out).unwrap();
    let mut fields = fields.split_whitespace();
    let (group, foreground) = (fields.next().unwrap(), fields.next().unwrap());
    assert_eq!(
        group, foreground,
        "the shell's group is in the foreground again"
    );
}
