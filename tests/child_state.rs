//! The command sees the world as if grace were not there: the signal mask and
//! ignored signals grace was started with, and exactly the descriptors it
//! would have inherited without grace.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::support::{Grace, Mode, TempDir, probe_bin};

const BLOCKED: &[i32] = &[10, 12, 40];
const IGNORED: &[i32] = &[2, 3, 13, 41];

/// Makes `command` start with `BLOCKED` blocked, `IGNORED` ignored and
/// descriptor 7 open without close-on-exec.
fn with_inherited_state(command: &mut Command) {
    let inherited = std::fs::File::open("/dev/null").unwrap();
    let raw = std::os::fd::IntoRawFd::into_raw_fd(inherited);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in BLOCKED {
                libc::sigaddset(&mut set, signal);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            for &signal in IGNORED {
                libc::signal(signal, libc::SIG_IGN);
            }
            libc::dup2(raw, 7);
            Ok(())
        });
    }
}

/// Runs the probe's report in a new PID namespace with the inherited state
/// above, through grace or not, and returns what the probe saw.
fn observe(through_grace: bool) -> String {
    let dir = TempDir::new();
    let out = dir.join("out");
    let report = [
        probe_bin().into_os_string(),
        "--report".into(),
        out.clone().into(),
    ];
    if through_grace {
        let mut grace = Grace::builder(Mode::Pid1)
            .configure(with_inherited_state)
            .arg("--")
            .args(&report)
            .start(&dir);
        assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    } else {
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--mount-proc", "--"])
            .args(&report)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        with_inherited_state(&mut command);
        assert!(command.status().unwrap().success());
    }
    std::fs::read_to_string(out).unwrap()
}

fn field(report: &str, name: &str) -> u64 {
    let line = report.lines().find(|l| l.starts_with(name)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn command_gets_the_mask_and_ignored_signals_grace_was_started_with() {
    let without = observe(false);
    let with = observe(true);
    for name in ["SigBlk", "SigIgn"] {
        assert_eq!(
            field(&with, name),
            field(&without, name),
            "{name}\nwith:\n{with}\nwithout:\n{without}"
        );
    }
    for &signal in BLOCKED {
        assert!(
            field(&with, "SigBlk") & 1 << (signal - 1) != 0,
            "signal {signal} blocked"
        );
    }
    for &signal in IGNORED {
        assert!(
            field(&with, "SigIgn") & 1 << (signal - 1) != 0,
            "signal {signal} ignored"
        );
    }
    assert!(
        field(&with, "SigBlk") & 1 << 14 == 0,
        "SIGTERM must not be blocked"
    );
}

#[test]
fn command_holds_exactly_the_descriptors_it_would_without_grace() {
    let descriptors = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|line| line.starts_with("fd "))
            .map(|line| line.split_whitespace().nth(1).unwrap().to_string())
            .collect()
    };
    let without = observe(false);
    let with = observe(true);
    assert_eq!(
        descriptors(&with),
        descriptors(&without),
        "with:\n{with}\nwithout:\n{without}"
    );
    assert!(with.lines().any(|line| line == "fd 7 /dev/null"), "{with}");
    assert!(!with.contains("signalfd"), "{with}");
}
