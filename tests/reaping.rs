//! Every process that exits under grace is reaped: the command, and every
//! orphan re-parented to grace, even thousands exiting at once.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;

use crate::util::{
    Grace, Mode, TempDir, children_of, host_pid_of, probe_args, state_of, wait_ready, wait_until,
};

const ORPHANS: usize = 2000;

fn orphans_exiting_at_once_leave_no_zombie(mode: Mode) {
    let dir = TempDir::new();
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Each subshell starts a reader of the fifo and exits, orphaning it. The
    // readers all block opening the fifo until the test opens it for writing
    // and closes it again: then they all exit at the same moment.
    let script = format!(
        "i=0; while [ $i -lt {ORPHANS} ]; do (cat {fifo} >/dev/null &); i=$((i+1)); done; exec {main}",
        fifo = fifo.display(),
        main = probe_args(&dir, "main", &[]).join(" "),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    let main = host_pid_of(wait_ready(&dir, "main"), grace.pid).expect("main's host pid");
    wait_until("every orphan re-parented to grace", || {
        children_of(grace.pid).len() > ORPHANS
    });

    // Readers that were still exec'ing miss the first writer; keep opening
    // until no reader is left to pair with.
    wait_until("every orphan reaped", || {
        if let Ok(writer) = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            drop(writer);
        }
        children_of(grace.pid) == [main]
    });
    let zombies: Vec<i32> = children_of(grace.pid)
        .into_iter()
        .filter(|&pid| state_of(pid) == Some('Z'))
        .collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");

    grace.signal(15);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
}

#[test]
fn orphans_exiting_at_once_leave_no_zombie_as_pid1() {
    orphans_exiting_at_once_leave_no_zombie(Mode::Pid1);
}

#[test]
fn orphans_exiting_at_once_leave_no_zombie_as_subreaper() {
    orphans_exiting_at_once_leave_no_zombie(Mode::Subreaper);
}
