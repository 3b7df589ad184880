//! Every process that exits under grace is reaped: the command, and every
//! orphan re-parented to grace, even thousands exiting at once.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;

use crate::support::{
    Grace, Mode, TempDir, children_of, host_pid_of_probe, probe, signals_received, state_of,
    wait_for_work, wait_until,
};

const ORPHANS: usize = 2000;
/// SIGRTMIN+6: a number above SIGCHLD's.
const MARKER: i32 = 40;

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
        main = probe(&dir, "main", &["--handle", &MARKER.to_string()]),
    );
    let mut grace = Grace::builder(mode)
        .args(["--", "sh", "-c", &script])
        .start(&dir);
    // The shell makes every orphan before it becomes the probe: work of the
    // machine's speed, waited for as such; the probe's start is one event.
    wait_for_work("every orphan re-parented to grace", || {
        (ORPHANS + 1).saturating_sub(children_of(grace.pid).len())
    });
    let main = host_pid_of_probe(&grace, &dir, "main");

    // Readers that were still exec'ing miss the first writer; keep opening
    // until every orphan has exited (a zombie, or already reaped).
    wait_for_work("every orphan exited", || {
        if let Ok(writer) = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            drop(writer);
        }
        children_of(grace.pid)
            .into_iter()
            .filter(|&pid| pid != main && !matches!(state_of(pid), Some('Z') | None))
            .count()
    });
    // The exits' SIGCHLD is pending before this signal is sent, and the
    // kernel hands grace the lower number first: by the time the main
    // process gets it, grace has reaped every orphan, with no waiting.
    grace.signal(MARKER);
    wait_until("the marker signal passed on", || {
        signals_received(&dir, "main") == [i64::from(MARKER)]
    });
    let zombies: Vec<i32> = children_of(grace.pid)
        .into_iter()
        .filter(|&pid| state_of(pid) == Some('Z'))
        .collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");
    assert_eq!(children_of(grace.pid), [main]);

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
