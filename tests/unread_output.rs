//! grace's stdout and stderr are pipes that nobody reads (a stalled
//! `docker logs` shim, a blocking logging driver): grace's own lines must
//! never block PID 1, during the life of the container or at the end of a
//! stop, and what grace drops it counts (issue 21, part 1).

use std::io::Read;
use std::thread;

use crate::support::{Grace, Mode, TempDir, json_log, log_events, wait_for_file, wait_until};

/// A main command that starts 3,000 orphans, each reaped by grace with a
/// `--warn-on-reap` line (far more than a 4 KiB pipe holds), then writes
/// `ready` and waits; SIGTERM makes it exit 7. Its sleeper ignores
/// SIGTERM and is ended by the handler: signalled together with the
/// shell, had it died first the shell's `wait` could return before the
/// trap ran.
fn orphans(dir: &TempDir) -> Vec<String> {
    let script = format!(
        "i=0; while [ $i -lt {ORPHANS} ]; do (true &); i=$((i+1)); done; \
         trap 'kill -9 $sleeper; exit 7' TERM; \
         (trap '' TERM; exec sleep 1000) & sleeper=$!; echo > {}; wait",
        dir.join("ready").display()
    );
    [
        "--warn-on-reap",
        "--grace-period",
        "5",
        "--",
        "sh",
        "-c",
        &script,
    ]
    .map(String::from)
    .to_vec()
}

const ORPHANS: usize = 3000;

/// A pipe of one page is full when what is in it leaves no room for
/// another line (grace's JSON lines here are under 512 bytes).
const FULL: usize = 4096 - 512;

fn drain(reader: &mut std::io::PipeReader) -> String {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("read");
    String::from_utf8(bytes).expect("UTF-8")
}

#[test]
fn a_sigterm_reaches_the_main_process_with_grace_stderr_full() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .unread_output()
        .args(orphans(&dir))
        .start(&dir);
    wait_for_file(&dir.join("ready"));
    wait_until("grace's stderr full", || grace.unread_bytes(1) >= FULL);
    grace.signal(libc::SIGTERM);
    // Before the fix grace sat in write(2) for good: the SIGTERM never
    // reached the main command, and the wait timed out.
    assert_eq!(grace.wait_code(), 7);
    let [_, mut stderr] = grace.unread.take().unwrap();
    let stderr = drain(&mut stderr);
    // What was written is whole lines.
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    for line in stderr.lines() {
        assert!(line.starts_with("grace: "), "{line:?}");
    }
}

#[test]
fn lines_dropped_for_a_full_stderr_are_counted_once_it_drains() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .unread_output()
        .args(orphans(&dir))
        .start(&dir);
    wait_for_file(&dir.join("ready"));
    wait_until("grace's stderr full", || grace.unread_bytes(1) >= FULL);
    // Now someone reads, to the end.
    let [_, mut stderr] = grace.unread.take().unwrap();
    let (sender, seen) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || {
        let mut text = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = stderr.read(&mut buffer).expect("read");
            if n == 0 {
                return String::from_utf8(text).expect("UTF-8");
            }
            text.extend_from_slice(&buffer[..n]);
            let _ = sender.send(String::from_utf8_lossy(&text).contains("\"log_dropped\""));
        }
    });
    let mut said = false;
    wait_until("the count of dropped lines", || {
        said |= seen.try_iter().any(|said| said);
        said
    });
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 7);
    let stderr = reader.join().unwrap();
    // Every line whole: each one parses.
    let events = log_events(&stderr);
    assert!(stderr.ends_with('\n'));
    let dropped: u64 = events
        .iter()
        .filter(|e| e["event"] == "log_dropped")
        .map(|e| e["lines"].as_u64().expect("lines"))
        .sum();
    let reaped = events.iter().filter(|e| e["event"] == "reaped").count();
    assert!(dropped > 0);
    // Every orphan's line was either written or counted.
    assert!(
        reaped + dropped as usize >= ORPHANS,
        "{reaped} written, {dropped} dropped"
    );
    // Said before the stop began: as soon as the pipe drained.
    let first_count = events.iter().position(|e| e["event"] == "log_dropped");
    let stop = events.iter().position(|e| e["event"] == "stop");
    assert!(first_count < stop, "{first_count:?} {stop:?}");
}

#[test]
fn a_stop_ends_and_grace_exits_with_services_flooding_and_no_reader() {
    let dir = TempDir::new();
    let flood = |name: &str| {
        format!(
            "[service.{name}]\ncommand = [\"sh\", \"-c\", \"trap 'exit 0' TERM; \
             while :; do echo o; echo e >&2; done\"]\n"
        )
    };
    let config = dir.join("services.toml");
    std::fs::write(&config, flood("a") + &flood("b")).unwrap();
    // The main command's own writers fill both pipes to the last byte
    // (the services' lines come in batches that may leave room), so that
    // nothing more fits, grace's summary line included. One writer per
    // pipe: a single one blocked on a full stdout would never fill stderr.
    let script = format!(
        "trap 'exit 7' TERM; (trap - TERM; while :; do echo m; done) & \
         (trap - TERM; while :; do echo m >&2; done) & echo > {}; wait",
        dir.join("ready").display()
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .unread_output()
        .arg("--config")
        .arg(&config)
        .args(["--grace-period", "5", "--", "sh", "-c", &script])
        .start(&dir);
    wait_for_file(&dir.join("ready"));
    wait_until("grace's stdout and stderr full", || {
        grace.unread_bytes(0) >= FULL && grace.unread_bytes(1) >= FULL
    });
    grace.signal(libc::SIGTERM);
    // Before the fix grace blocked for good writing its summary line.
    assert_eq!(grace.wait_code(), 7);
    let [mut stdout, mut stderr] = grace.unread.take().unwrap();
    for (text, expected) in [(drain(&mut stdout), "o"), (drain(&mut stderr), "e")] {
        assert!(text.ends_with('\n'), "{text:?}");
        for line in text.lines() {
            let whole = line == format!("a | {expected}")
                || line == format!("b | {expected}")
                || line == "m"
                || line.starts_with("grace: ");
            assert!(whole, "{line:?}");
        }
    }
}
