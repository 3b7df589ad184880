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
