//! `grace inspect`: a known tree of probes in a real PID namespace (handled,
//! ignored, blocked and default dispositions, a setsid'd process, a daemon,
//! a zombie, a hostile command name), read back as JSON from the host with a
//! PID and from inside the namespace as `docker exec` would; other inits as
//! PID 1; and bad input.
//!
//! Host pids, paths and the test's own session vary from run to run: they
//! are replaced by names before the JSON is compared, whole, with what it
//! must be.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    BOUND, Grace, Mode, TempDir, children_of, grace_bin, grace_command, grace_command_line,
    grace_runner, host_grace_bin, host_pid_of, host_pid_of_probe, parent_of, parse_json, probe,
    probe_args, probe_bin, wait_for_file, wait_ready, wait_until,
};

/// The JSON grace inspect wrote, read strictly: it must be JSON.
fn read_json(text: &str) -> Value {
    parse_json(text).unwrap_or_else(|error| panic!("invalid JSON: {error}:\n{text}"))
}

/// `value[key]`, which must be there.
fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .get(key)
        .unwrap_or_else(|| panic!("no key {key} in {value}"))
}

/// Replaces what varies between runs by names: pids in the pid fields and
/// in text, and paths.
struct Names {
    /// pid as the output numbers it → name.
    pids: HashMap<i64, String>,
    /// pid inside the namespace → name.
    ns_pids: HashMap<i64, String>,
    paths: Vec<(String, String)>,
}

impl Names {
    fn normalize(&self, value: &Value, key: &str) -> Value {
        let name = |map: &HashMap<i64, String>, n: i64| {
            Value::from(map.get(&n).cloned().unwrap_or_else(|| "?".into()))
        };
        match value {
            Value::Number(n) if ["pid", "ppid", "pgid", "sid", "main", "target"].contains(&key) => {
                name(&self.pids, n.as_i64().expect("a pid"))
            }
            Value::Number(n) if key == "ns_pid" => name(&self.ns_pids, n.as_i64().expect("a pid")),
            Value::String(text) if key == "verdict" => self.verdict(text).into(),
            Value::String(text) => self.text(text).into(),
            Value::Array(items) => items.iter().map(|i| self.normalize(i, key)).collect(),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.normalize(v, k)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (path, name) in &self.paths {
            text = text.replace(path, name);
        }
        text
    }

    /// Verdicts name processes as `PID (comm)`: each such known pid becomes
    /// `<name>` (other numbers, such as the deadline's, stay).
    fn verdict(&self, text: &str) -> String {
        let text = self.text(text);
        let mut out = String::new();
        let mut digits = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let labelled = c == ' ' && chars.peek() == Some(&'(');
            match digits.parse::<i64>().ok().and_then(|n| self.pids.get(&n)) {
                Some(name) if labelled => out.push_str(&format!("<{name}>")),
                _ => out.push_str(&digits),
            }
            digits.clear();
            out.push(c);
        }
        out.push_str(&digits);
        out
    }
}

// --- running grace inspect ---------------------------------------------------

struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `command` to completion, killing it if it takes longer than BOUND.
fn run_bounded(command: &mut Command) -> Output {
    command.stdout(Stdio::piped());
    run_bounded_with(command)
}

/// As `run_bounded`, with the stdout `command` was given (empty when it is
/// not a pipe).
fn run_bounded_with(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} did not finish within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

fn inspect(args: &[&str]) -> Output {
    run_bounded(grace_command().arg("inspect").args(args))
}

/// Gives grace default dispositions and an empty mask whatever the test
/// runner was started with (a shell's background job ignores SIGINT and
/// SIGQUIT; test harnesses have been seen to ignore signal 32), so that what
/// the tree inherits is known.
fn clean_signal_state(command: &mut Command) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            // The raw system call: glibc's signal() refuses 32 and 33. An
            // all-zero kernel sigaction (handler SIG_DFL, no flags, empty
            // mask) is the same whatever its layout; 32 bytes covers it.
            let default_action = [0u64; 4];
            for signal in 1..=64 {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        signal,
                        default_action.as_ptr(),
                        std::ptr::null_mut::<u64>(),
                        8usize,
                    );
                }
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}

// --- the known tree ------------------------------------------------------------

/// The name of the probe that is started through a symlink whose name has
/// a space, parentheses and a newline: the kernel's command name for it.
const HOSTILE: &str = "x) (y\nz";

const NAMES: [&str; 8] = [
    "main", "handler", "plain", "ignorer", "blocker", "session", "parent", "daemon",
];

struct Tree {
    dir: TempDir,
    grace: Grace,
    /// The grace binary that is PID 1.
    init_bin: &'static str,
    /// Host pid → name, and namespace pid → name.
    host: HashMap<i64, String>,
    ns: HashMap<i64, String>,
}

/// grace (PID 1, 3 s grace period) → main, which handles SIGTERM; below it
/// a handler, a process at SIGTERM's default action (started through the
/// hostile symlink), one that ignores SIGTERM, one that blocks it, a setsid'd
/// one, and a parent with a zombie child; a double-forked daemon below
/// grace.
fn start_tree() -> Tree {
    let dir = TempDir::new();
    let hostile = dir.join(HOSTILE);
    std::os::unix::fs::symlink(probe_bin(), &hostile).expect("symlink");
    let probe = |name: &str, extra: &[&str]| probe(&dir, name, extra);
    let mut plain = probe_args(&dir, "plain", &["--exit-on", "10"]);
    plain[0] = format!("'{}'", hostile.display());
    let script = format!(
        "{handler} & {plain} & {ignorer} & {blocker} & {session} & {parent} & {daemon}; exec {main}",
        handler = probe("handler", &[]),
        plain = plain.join(" "),
        ignorer = probe("ignorer", &["--ignore", "15", "--exit-on", "10"]),
        blocker = probe("blocker", &["--block", "15"]),
        session = probe("session", &["--setsid"]),
        parent = probe("parent", &["--zombie"]),
        daemon = probe("daemon", &["--daemonize"]),
        main = probe("main", &["--handle", "1"]),
    );
    // Under an emulator the kernel shows an emulated process's exe and
    // command line as the emulator's, so inspect would rightly not know an
    // emulated PID 1 for grace: there PID 1 is the host build, and what
    // runs emulated is inspect itself.
    let emulated = !grace_runner().is_empty();
    let mut builder = Grace::builder(Mode::Pid1);
    if emulated {
        builder = builder.host_build();
    }
    let grace = builder
        .configure(clean_signal_state)
        // `all`: this tree checks the reading and every process's
        // verdict as signalled at once; the default order's predictions
        // are the golden corpus's (tests/golden/inspect/grace-*.txt).
        .args(["--stop-order", "all", "--grace-period", "3s", "--"])
        .args(["sh", "-c", &script])
        .start(&dir);
    let init_bin = if emulated {
        host_grace_bin()
    } else {
        grace_bin()
    };
    let mut ns: HashMap<i64, String> = HashMap::from([(1, "grace".to_string())]);
    for name in NAMES {
        ns.insert(wait_ready(&dir, name).into(), name.to_string());
    }
    let zombie: i64 = wait_for_file(&dir.join("parent.zombie"))
        .trim()
        .parse()
        .expect("zombie pid");
    ns.insert(zombie, "zombie".into());
    let mut host = HashMap::from([(grace.pid.into(), "grace".to_string())]);
    for (&ns_pid, name) in &ns {
        if ns_pid != 1 {
            let pid = host_pid_of(ns_pid as i32, grace.pid)
                .unwrap_or_else(|| panic!("host pid of {name}"));
            host.insert(pid.into(), name.clone());
        }
    }
    // The tree is as described once the daemon's middle process has exited
    // (the daemon is grace's child) and grace has reaped it (grace's only
    // children are main and the daemon).
    let daemon = host
        .iter()
        .find(|(_, name)| *name == "daemon")
        .map(|(&pid, _)| pid as i32)
        .expect("the daemon");
    wait_until("the daemon to be grace's child, alone with main", || {
        parent_of(daemon) == Some(grace.pid) && children_of(grace.pid).len() == 2
    });
    // A probe writes its ready marker just before it goes to sleep: on a
    // busy machine /proc may still show it running for a moment.
    wait_until("every probe asleep", || {
        host.iter()
            .filter(|(pid, name)| **pid != i64::from(grace.pid) && *name != "zombie")
            .all(|(&pid, _)| crate::support::state_of(pid as i32) == Some('S'))
    });
    Tree {
        dir,
        grace,
        init_bin,
        host,
        ns,
    }
}

impl Tree {
    /// The host pid of the process named `name`.
    fn pid(&self, name: &str) -> i64 {
        self.host
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(&pid, _)| pid)
            .unwrap_or_else(|| panic!("no process named {name}"))
    }

    fn names(&self, pids: &HashMap<i64, String>) -> Names {
        Names {
            pids: pids.clone(),
            ns_pids: self.ns.clone(),
            paths: vec![
                (self.dir.path().display().to_string(), "$DIR".into()),
                (self.init_bin.to_string(), "$GRACE".into()),
                (probe_bin().display().to_string(), "$PROBE".into()),
            ],
        }
    }
}

/// The JSON for the tree above, with names for pids and paths.
const EXPECTED: &str = r#"{
  "version": 1,
  "signal": "SIGTERM",
  "signal_number": 15,
  "target": "$TARGET",
  "init": {
    "pid": "grace",
    "kind": "grace",
    "namespace_init": true,
    "main": "main",
    "forwards_to": "everyone",
    "grace": {
      "options_from": "cmdline",
      "stop_on": ["SIGINT", "SIGTERM"],
      "stop_signal": "SIGTERM",
      "stop_order": "all",
      "grace_period_ms": 3000,
      "stop_delay_ms": 0,
      "pre_stop": null,
      "forward_to": "child"
    }
  },
  "processes": [
    {
      "pid": "grace",
      "ns_pid": "grace",
      "ppid": "?",
      "pgid": "?",
      "sid": "?",
      "depth": 0,
      "state": "S",
      "state_name": "sleeping",
      "comm": "grace",
      "command": ["$GRACE", "--stop-order", "all", "--grace-period", "3s", "--", "sh", "-c", "$PROBE --dir $DIR --name handler & '$DIR/x) (y\nz' --dir $DIR --name plain --exit-on 10 & $PROBE --dir $DIR --name ignorer --ignore 15 --exit-on 10 & $PROBE --dir $DIR --name blocker --block 15 & $PROBE --dir $DIR --name session --setsid & $PROBE --dir $DIR --name parent --zombie & $PROBE --dir $DIR --name daemon --daemonize; exec $PROBE --dir $DIR --name main --handle 1"],
      "exe": "$GRACE",
      "kernel_thread": false,
      "role": "init",
      "disposition": "blocked",
      "handled": [],
      "ignored": [],
      "blocked": ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS", "SIG32", "SIG33", "SIGRTMIN", "SIGRTMIN+1", "SIGRTMIN+2", "SIGRTMIN+3", "SIGRTMIN+4", "SIGRTMIN+5", "SIGRTMIN+6", "SIGRTMIN+7", "SIGRTMIN+8", "SIGRTMIN+9", "SIGRTMIN+10", "SIGRTMIN+11", "SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMAX-14", "SIGRTMAX-13", "SIGRTMAX-12", "SIGRTMAX-11", "SIGRTMAX-10", "SIGRTMAX-9", "SIGRTMAX-8", "SIGRTMAX-7", "SIGRTMAX-6", "SIGRTMAX-5", "SIGRTMAX-4", "SIGRTMAX-3", "SIGRTMAX-2", "SIGRTMAX-1", "SIGRTMAX"],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": null,
      "verdict": "grace as PID 1, stopping on SIGTERM: signals every process, waits for them, SIGKILLs any left at its 3 s deadline, then exits",
      "error": null
    },
    {
      "pid": "main",
      "ns_pid": "main",
      "ppid": "grace",
      "pgid": "main",
      "sid": "?",
      "depth": 1,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "main", "--handle", "1"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "main",
      "disposition": "handled",
      "handled": ["SIGHUP", "SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": "grace-deadline",
      "verdict": "main process: gets SIGTERM from grace and handles it: it has until grace's 3 s deadline to finish",
      "error": null
    },
    {
      "pid": "handler",
      "ns_pid": "handler",
      "ppid": "main",
      "pgid": "main",
      "sid": "?",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "handler"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "handled",
      "handled": ["SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
      "error": null
    },
    {
      "pid": "plain",
      "ns_pid": "plain",
      "ppid": "main",
      "pgid": "main",
      "sid": "?",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "x) (y\nz",
      "command": ["$DIR/x) (y\nz", "--dir", "$DIR", "--name", "plain", "--exit-on", "10"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "default",
      "handled": ["SIGBUS", "SIGUSR1", "SIGSEGV"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "terminated",
      "killed_by": null,
      "verdict": "gets SIGTERM and SIGCONT from grace; SIGTERM at its default action terminates it at once, without cleanup",
      "error": null
    },
    {
      "pid": "ignorer",
      "ns_pid": "ignorer",
      "ppid": "main",
      "pgid": "main",
      "sid": "?",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "ignorer", "--ignore", "15", "--exit-on", "10"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "ignored",
      "handled": ["SIGBUS", "SIGUSR1", "SIGSEGV"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE", "SIGTERM"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "sigkill",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace, but ignores SIGTERM, so it cannot stop gracefully: SIGKILL at grace's 3 s deadline",
      "error": null
    },
    {
      "pid": "blocker",
      "ns_pid": "blocker",
      "ppid": "main",
      "pgid": "main",
      "sid": "?",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "blocker", "--block", "15"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "blocked",
      "handled": ["SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": ["SIGTERM"],
      "receives": "SIGTERM",
      "outcome": "sigkill",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace, but blocks SIGTERM, so it cannot stop gracefully: SIGKILL at grace's 3 s deadline",
      "error": null
    },
    {
      "pid": "session",
      "ns_pid": "session",
      "ppid": "main",
      "pgid": "session",
      "sid": "session",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "session", "--setsid"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "handled",
      "handled": ["SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
      "error": null
    },
    {
      "pid": "parent",
      "ns_pid": "parent",
      "ppid": "main",
      "pgid": "main",
      "sid": "?",
      "depth": 2,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "parent", "--zombie"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "handled",
      "handled": ["SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
      "error": null
    },
    {
      "pid": "zombie",
      "ns_pid": "zombie",
      "ppid": "parent",
      "pgid": "main",
      "sid": "?",
      "depth": 3,
      "state": "Z",
      "state_name": "zombie",
      "comm": "probe",
      "command": [],
      "exe": null,
      "kernel_thread": false,
      "role": "other",
      "disposition": "default",
      "handled": ["SIGBUS", "SIGSEGV"],
      "ignored": ["SIGINT", "SIGQUIT", "SIGPIPE"],
      "blocked": [],
      "receives": null,
      "outcome": "zombie",
      "killed_by": null,
      "verdict": "zombie: it has exited and waits for its parent <parent> (probe) to reap it; once its parent exits, grace reaps it",
      "error": null
    },
    {
      "pid": "daemon",
      "ns_pid": "daemon",
      "ppid": "grace",
      "pgid": "?",
      "sid": "?",
      "depth": 1,
      "state": "S",
      "state_name": "sleeping",
      "comm": "probe",
      "command": ["$PROBE", "--dir", "$DIR", "--name", "daemon", "--daemonize"],
      "exe": "$PROBE",
      "kernel_thread": false,
      "role": "other",
      "disposition": "handled",
      "handled": ["SIGBUS", "SIGSEGV", "SIGTERM"],
      "ignored": ["SIGPIPE"],
      "blocked": [],
      "receives": "SIGTERM",
      "outcome": "graceful",
      "killed_by": "grace-deadline",
      "verdict": "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
      "error": null
    }
  ],
  "kernel_threads_omitted": 0,
  "summary": {
    "stop_ends": "grace-deadline",
    "counts": {
      "graceful": 6,
      "cut-short": 0,
      "terminated": 1,
      "sigkill": 2,
      "survives": 0,
      "zombie": 1,
      "kernel-thread": 0,
      "unknown": 0
    },
    "verdict": ["PID 1, <grace> (grace), is grace and stops on SIGTERM: it sends SIGTERM to the main process <main> (probe) and SIGTERM then SIGCONT to the 7 other processes at once, then SIGKILLs any left at its 3 s deadline.", "10 processes: 6 can stop gracefully, 1 is terminated at once, 2 will be SIGKILLed, 1 zombie.", "The stop will last until grace's 3 s deadline, because these processes cannot stop gracefully: <ignorer> (probe) ignores SIGTERM; <blocker> (probe) blocks SIGTERM."]
  }
}
"#;

fn expected_json(target: &str) -> Value {
    read_json(&EXPECTED.replace("\"$TARGET\"", target))
}

/// Compares the two as indented text, key order included, and shows the
/// first line that differs.
fn assert_json(actual: &Value, expected: &Value) {
    let pretty = |value| serde_json::to_string_pretty(value).expect("JSON");
    let (actual, expected) = (pretty(actual), pretty(expected));
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or(0);
        panic!(
            "JSON differs from line {}:\n  got:      {}\n  expected: {}\nwhole output:\n{actual}",
            line + 1,
            actual.lines().nth(line).unwrap_or(""),
            expected.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn json_of_a_known_tree_from_the_host() {
    let tree = start_tree();
    let output = inspect(&["--json", &tree.grace.pid.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(output.stderr, "");
    let actual = tree
        .names(&tree.host)
        .normalize(&read_json(&output.stdout), "");
    assert_json(&actual, &expected_json("\"grace\""));
}

#[test]
fn json_of_the_same_tree_from_inside_the_namespace() {
    // What `docker exec CONTAINER grace inspect --json` does: a process
    // entered into the namespace, reading the namespace's /proc; it leaves
    // itself out.
    let tree = start_tree();
    let output = run_bounded(
        Command::new("nsenter")
            .args(["--target", &tree.grace.pid.to_string(), "--pid", "--mount"])
            .args(grace_command_line())
            .args(["inspect", "--json"]),
    );
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(output.stderr, "");
    let actual = tree
        .names(&tree.ns)
        .normalize(&read_json(&output.stdout), "");
    assert_json(&actual, &expected_json("null"));
}

#[test]
fn the_tree_for_people_is_plain_text_off_a_terminal() {
    let tree = start_tree();
    let output = inspect(&[&tree.grace.pid.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    let names = tree.names(&tree.host);
    let raw: Vec<&str> = output.stdout.lines().collect();
    assert!(!output.stdout.contains('\x1b'), "{}", output.stdout);
    assert!(
        raw[0].starts_with("    PID  NSPID    PPID    PGID     SID S SIGTERM  OUTCOME"),
        "{}",
        output.stdout
    );
    // The forest: the command column, indented by depth, with the hostile
    // name escaped rather than breaking the line.
    let column = raw[0].find("COMMAND").expect("a COMMAND column");
    let commands: Vec<String> = raw[1..=10]
        .iter()
        .map(|line| names.text(&line[column..]))
        .collect();
    assert!(
        commands[0].starts_with("$GRACE --stop-order all --grace-period 3s -- sh -c "),
        "{commands:?}"
    );
    let shapes: Vec<&str> = commands[1..]
        .iter()
        .map(|c| c.split(" --dir").next().unwrap_or(""))
        .collect();
    assert_eq!(
        shapes,
        [
            "\\_ $PROBE",
            "   \\_ $PROBE",
            "   \\_ $DIR/x) (y\\nz",
            "   \\_ $PROBE",
            "   \\_ $PROBE",
            "   \\_ $PROBE",
            "   \\_ $PROBE",
            "      \\_ [probe]",
            "\\_ $PROBE",
        ],
        "{}",
        output.stdout
    );
    let text = names.verdict(&output.stdout);
    let verdict = |name: &str, rest: &str| format!("\n{:>7} {rest}", tree.pid(name));
    assert!(
        text.contains(&verdict(
            "ignorer",
            "probe: gets SIGTERM and SIGCONT from grace, but ignores SIGTERM, so it cannot stop \
             gracefully: SIGKILL at grace's 3 s deadline\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&verdict(
            "plain",
            "x) (y\\nz: gets SIGTERM and SIGCONT from grace; SIGTERM at its default"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "The stop will last until grace's 3 s deadline, because these processes cannot stop \
             gracefully: <ignorer> (probe) ignores SIGTERM; <blocker> (probe) blocks SIGTERM.\n"
        ),
        "{text}"
    );
}

// --- other inits as PID 1 ----------------------------------------------------

/// A command as PID 1 of a new PID namespace, without grace; the namespace
/// is killed with it when dropped.
struct Bare {
    unshare: Child,
    init: i32,
}

impl Bare {
    fn start(args: &[String]) -> Bare {
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--mount-proc", "--"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        clean_signal_state(&mut command);
        let mut unshare = command.spawn().expect("spawn unshare");
        let id = unshare.id() as i32;
        let mut init = 0;
        wait_until("the namespace's init", || {
            init = children_of(id).first().copied().unwrap_or(0);
            assert!(
                unshare.try_wait().expect("try_wait").is_none(),
                "{args:?} exited at once"
            );
            init != 0
        });
        Bare { unshare, init }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        // SAFETY: kill(2) with plain integers; the namespace's init only.
        unsafe { libc::kill(self.init, libc::SIGKILL) };
        let _ = self.unshare.wait();
    }
}

/// `name` on PATH. A program these tests need that is missing fails the
/// test: it must not pass untested (.ci/run installs tini; script(1) is in
/// Debian's bsdutils, always installed).
fn find_program(name: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is not on PATH: this test needs it"))
}

/// `grace inspect --json PID` with pids named: the host pid of each probe
/// (from its ready marker), and PID 1 as `init_name`.
fn inspect_bare(bare: &Bare, dir: &TempDir, init_name: &str, probes: &[&str]) -> (Value, Names) {
    let mut host = HashMap::from([(i64::from(bare.init), init_name.to_string())]);
    let mut ns = HashMap::from([(1, init_name.to_string())]);
    for &name in probes {
        let ns_pid = wait_ready(dir, name);
        let pid = host_pid_of(ns_pid, bare.init).expect("host pid");
        host.insert(pid.into(), name.to_string());
        ns.insert(ns_pid.into(), name.to_string());
    }
    let output = inspect(&["--json", &bare.init.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    let names = Names {
        pids: host,
        ns_pids: ns,
        paths: vec![
            (dir.path().display().to_string(), "$DIR".into()),
            (probe_bin().display().to_string(), "$PROBE".into()),
        ],
    };
    let json = names.normalize(&read_json(&output.stdout), "");
    (json, names)
}

/// Each process's name, outcome, killed_by and verdict.
fn fates(json: &Value) -> Vec<[String; 4]> {
    field(json, "processes")
        .as_array()
        .expect("an array of processes")
        .iter()
        .map(|p| {
            let field = |key: &str| match field(p, key) {
                Value::Null => "null".to_string(),
                value => value.as_str().expect("a string").to_string(),
            };
            [
                field("pid"),
                field("outcome"),
                field("killed_by"),
                field("verdict"),
            ]
        })
        .collect()
}

fn strings<const N: usize>(items: [&str; N]) -> [String; N] {
    items.map(str::to_string)
}

#[test]
fn a_shell_as_pid1_leaves_everything_to_the_runtime_s_timeout() {
    let dir = TempDir::new();
    let probe = |name: &str, extra: &[&str]| probe(&dir, name, extra);
    let script = format!(
        "{child} & {session} & wait",
        child = probe("child", &[]),
        session = probe("session", &["--setsid"]),
    );
    let bare = Bare::start(&["sh".into(), "-c".into(), script]);
    let (json, _) = inspect_bare(&bare, &dir, "sh", &["child", "session"]);
    let init = field(&json, "init");
    assert_eq!(field(init, "kind"), "shell");
    assert_eq!(field(init, "namespace_init"), true);
    assert_eq!(field(init, "forwards_to"), "none");
    let no_signal = "gets no signal: a shell does not forward signals to its children; SIGKILL at \
                     the runtime's timeout";
    assert_eq!(
        fates(&json),
        [
            strings([
                "sh",
                "sigkill",
                "runtime-timeout",
                "PID 1, a shell: gets SIGTERM, but as PID 1 with SIGTERM at its default action it \
                 ignores it (the kernel drops it), so docker stop will wait its full timeout, then \
                 SIGKILL everything"
            ]),
            strings(["child", "sigkill", "runtime-timeout", no_signal]),
            strings(["session", "sigkill", "runtime-timeout", no_signal]),
        ]
    );
    let summary = field(&json, "summary");
    assert_eq!(field(summary, "stop_ends"), "runtime-timeout");
    assert_eq!(
        field(summary, "verdict")[0],
        "PID 1, <sh> (sh), is a shell, which does not forward signals to its children; it gets \
         SIGTERM, but as PID 1 with SIGTERM at its default action it ignores it (the kernel drops \
         it), so docker stop will wait its full timeout, then SIGKILL everything."
    );
}

#[test]
fn tini_as_pid1_cuts_its_group_short_and_kills_a_setsid_process() {
    let tini = find_program("tini");
    let dir = TempDir::new();
    let probe = |name: &str, extra: &[&str]| probe(&dir, name, extra);
    let script = format!(
        "{sibling} & {session} & exec {main}",
        sibling = probe("sibling", &[]),
        session = probe("session", &["--setsid"]),
        main = probe("main", &[]),
    );
    let bare = Bare::start(&[
        tini.display().to_string(),
        "-g".into(),
        "--".into(),
        "sh".into(),
        "-c".into(),
        script,
    ]);
    let (json, names) = inspect_bare(&bare, &dir, "tini", &["main", "sibling", "session"]);
    let init = field(&json, "init");
    assert_eq!(field(init, "kind"), "tini");
    assert_eq!(field(init, "forwards_to"), "group");
    assert_eq!(field(init, "main"), "main");
    let main_pid = names
        .pids
        .iter()
        .find(|(_, name)| *name == "main")
        .map(|(pid, _)| *pid)
        .unwrap();
    let until_main_exits = "it will be SIGKILLed when PID 1 exits, which tini does as soon as its \
                            child <main> (probe) exits";
    assert_eq!(
        fates(&json),
        [
            strings([
                "tini",
                "graceful",
                "null",
                "tini as PID 1: forwards SIGTERM to the process group of its child <main> \
                 (probe), and exits as soon as that child exits"
            ]),
            strings([
                "main",
                "graceful",
                "runtime-timeout",
                "main process: gets SIGTERM from tini and handles it: it has until the runtime's \
                 timeout to finish (docker stop: 10 s)"
            ]),
            strings([
                "sibling",
                "cut-short",
                "init-exit",
                &format!(
                    "gets SIGTERM (tini forwards it to process group {main_pid}) and handles it, \
                     but {until_main_exits}: it may be cut short mid-cleanup"
                )
            ]),
            strings([
                "session",
                "sigkill",
                "init-exit",
                &format!(
                    "gets no signal: it is outside process group {main_pid}, the only one tini \
                     forwards SIGTERM to (it called setsid); {until_main_exits}"
                )
            ]),
        ]
    );
    assert_eq!(
        field(field(&json, "summary"), "verdict")[0],
        "PID 1, <tini> (tini), is tini: it forwards SIGTERM to the process group of its child \
         <main> (probe) and exits as soon as that child exits; the kernel then SIGKILLs every \
         other process."
    );
}

// --- bad input -------------------------------------------------------------------

#[test]
fn a_pid_that_does_not_exist_is_one_line_and_exit_1() {
    let pid_max: i64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("pid_max")
        .trim()
        .parse()
        .expect("a number");
    let missing = (pid_max + 1).to_string();
    let output = inspect(&[&missing]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(output.stdout, "");
    assert_eq!(
        output.stderr,
        format!("grace: error: no process with PID {missing}\n")
    );
}

#[test]
fn usage_errors_exit_2_with_inspect_s_usage_line() {
    for args in [
        &["--bogus"][..],
        &["1", "2"],
        &["--signal", "NOPE"],
        &["--signal"],
        &["0"],
        &["abc"],
    ] {
        let output = inspect(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", output.stderr);
        let lines: Vec<&str> = output.stderr.lines().collect();
        assert_eq!(lines.len(), 3, "{args:?}: {}", output.stderr);
        assert!(lines[0].starts_with("grace: error: "), "{}", output.stderr);
        assert_eq!(
            lines[1..],
            [
                "usage: grace inspect [--json] [--signal SIGNAL] [PID]",
                "Try 'grace inspect --help' for more information."
            ]
        );
    }
    let help = inspect(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        help.stdout.starts_with("grace inspect: "),
        "{}",
        help.stdout
    );
    assert!(
        help.stdout
            .contains("usage: grace inspect [--json] [--signal SIGNAL] [PID]")
    );
}

#[test]
fn inspect_after_options_or_dashes_is_a_command() {
    for args in [&["--", "inspect"][..], &["-v", "inspect", "--json"]] {
        let (code, stderr) = crate::support::run_plain(args);
        assert_eq!(code, 127, "{args:?}: {stderr}");
        assert!(stderr.contains("inspect: command not found"), "{stderr}");
    }
}

#[test]
fn without_proc_it_says_so() {
    // A mount namespace of its own, where /proc is an empty tmpfs.
    for args in ["", " 1"] {
        let output = run_bounded(Command::new("unshare").args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &format!("mount -t tmpfs none /proc && exec \"$0\" inspect{args}"),
            grace_bin(),
        ]));
        assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
        assert_eq!(
            output.stderr,
            "grace: error: cannot read /proc/self: /proc is not mounted\n"
        );
    }
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `grace inspect | head -c 0`: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = run_bounded_with(
        Command::new(grace_bin())
            .args(["inspect", "--json", &std::process::id().to_string()])
            .stdout(writer),
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", output.status);
    assert_eq!(output.stderr, "");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let script = find_program("script");
    let on_terminal = |no_color: Option<&str>| {
        let mut command = Command::new(&script);
        command
            .args(["--quiet", "--return", "--command"])
            .arg(format!("{} inspect {}", grace_bin(), std::process::id()))
            .arg("/dev/null")
            .env("TERM", "xterm")
            .env("SHELL", "/bin/sh")
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = run_bounded(&mut command);
        assert!(output.status.success(), "{}", output.stderr);
        output.stdout
    };
    assert!(on_terminal(None).contains("\x1b["));
    assert!(on_terminal(Some("")).contains("\x1b["));
    let plain = on_terminal(Some("1"));
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("OUTCOME"), "{plain:?}");
}

/// What inspect predicts the main process gets on SIGTERM, and its
/// headline, for the grace running as `program` with `args`, and what the
/// main process then really got when SIGTERM was sent. `settle`, when
/// SIGTERM is not to stop grace: a signal sent after it, which shows the
/// first was dealt with (grace takes the lower-numbered first); SIGINT then
/// ends the test.
fn predicted_and_received(
    program: &Path,
    args: &[&str],
    settle: Option<i32>,
) -> (Value, String, Vec<i64>) {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .args(args)
        .arg("--")
        .args(probe_args(
            &dir,
            "main",
            &["--handle", "28", "--exit-on", "3,15"],
        ))
        .start_as(program, &[], &dir);
    let main_ns_pid = wait_ready(&dir, "main");
    let main = host_pid_of(main_ns_pid, grace.pid).expect("main's host pid");
    let output = inspect(&["--json", &grace.pid.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    let json = read_json(&output.stdout);
    let receives = field(&json, "processes")
        .as_array()
        .expect("processes")
        .iter()
        .find(|p| field(p, "pid").as_i64() == Some(i64::from(main)))
        .map(|p| field(p, "receives").clone())
        .expect("the main process in inspect's output");
    let headline = field(field(&json, "summary"), "verdict")[0]
        .as_str()
        .expect("the headline")
        .to_string();
    grace.signal(15);
    // A stop that does not happen shows only by what follows it.
    if let Some(settle) = settle {
        grace.signal(settle);
        wait_until("the main process to see the settling signal", || {
            crate::support::signals_received(&dir, "main").contains(&i64::from(settle))
        });
        grace.signal(2);
    }
    let _ = grace.wait();
    let received = crate::support::signals_received(&dir, "main");
    (receives, headline, received)
}

#[test]
fn inspect_predicts_a_term_rewritten_to_nothing_and_grace_drops_it() {
    let dir = TempDir::new();
    let grace = crate::support::personality_link(&dir, "grace");
    let (predicted, headline, received) =
        predicted_and_received(&grace, &["--rewrite", "TERM:0"], Some(28));
    assert_eq!(
        predicted,
        Value::Null,
        "inspect says the main process gets nothing"
    );
    assert!(
        headline.contains(" is grace: drops SIGTERM (--rewrite SIGTERM:0)")
            && !headline.contains("stops on SIGTERM"),
        "the headline says grace drops SIGTERM: {headline}"
    );
    assert_eq!(received, [28], "and it got nothing but the settling signal");
}

#[test]
fn inspect_predicts_dumb_init_s_term_rewritten_to_quit_and_grace_sends_quit() {
    let dir = TempDir::new();
    let dumb_init = crate::support::personality_link(&dir, "dumb-init");
    let (predicted, headline, received) = predicted_and_received(&dumb_init, &["-r", "15:3"], None);
    assert_eq!(predicted, Value::from("SIGQUIT"), "inspect says SIGQUIT");
    assert!(
        headline.contains("it sends SIGQUIT to the main process"),
        "the headline says SIGQUIT too: {headline}"
    );
    assert_eq!(received, [3], "and SIGQUIT is what came");
}

#[test]
fn a_live_process_whose_main_thread_exited_is_not_called_a_zombie() {
    let dir = TempDir::new();
    let mut grace = Grace::builder(Mode::Pid1)
        .arg("--")
        .args(probe_args(&dir, "main", &["--leader-exits"]))
        .start(&dir);
    let probe = host_pid_of_probe(&grace, &dir, "main");
    // /proc shows the exited leader as a zombie while the process runs on.
    wait_until("the probe's main thread to exit", || {
        crate::support::state_of(probe) == Some('Z')
    });

    let output = inspect(&["--json", &grace.pid.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    let json = read_json(&output.stdout);
    let processes = field(&json, "processes").as_array().expect("processes");
    let entry = processes
        .iter()
        .find(|p| field(p, "pid") == &Value::from(probe))
        .unwrap_or_else(|| panic!("probe {probe} in {json}"));
    assert_ne!(field(entry, "state"), "Z", "{entry}");
    assert_eq!(field(entry, "disposition"), "handled", "{entry}");
    assert_eq!(field(entry, "outcome"), "graceful", "{entry}");
    assert!(
        field(entry, "command")
            .to_string()
            .contains("--leader-exits"),
        "the command line, read from the live thread: {entry}"
    );

    // What the stop then does agrees: the probe gets SIGTERM and handles it.
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
    assert_eq!(crate::support::signals_received(&dir, "main"), [15]);
}

/// grace as PID 1 running a services file of three, c after b after a,
/// each with its own stop signal (a QUIT, b TERM, c INT) and timeout (b
/// 20 s, c 25 s, a none), and a main command: inspect predicts the main
/// command first, then c, b and a, each with its signal and timeout; and
/// the stop then goes so.
#[test]
fn inspect_predicts_a_services_chain_s_order_signals_and_timeouts() {
    let dir = TempDir::new();
    let service = |name: &str, extra: &[&str]| {
        let words: Vec<String> = probe_args(&dir, name, extra)
            .iter()
            .map(|word| crate::support::json_string(word))
            .collect();
        format!("[{}]", words.join(", "))
    };
    let file = dir.join("services.toml");
    std::fs::write(
        &file,
        format!(
            "[service.a]\ncommand = {a}\nstop_signal = \"QUIT\"\n\
             [service.b]\ncommand = {b}\nafter = [\"a\"]\nstop_timeout = \"20s\"\n\
             [service.c]\ncommand = {c}\nafter = [\"b\"]\nstop_signal = \"INT\"\nstop_timeout = \"25s\"\n",
            a = service("a", &["--exit-on", "3"]),
            b = service("b", &[]),
            c = service("c", &["--exit-on", "2"]),
        ),
    )
    .expect("write services.toml");
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(clean_signal_state)
        .args(["--grace-period", "30s", "--config"])
        .arg(&file)
        .arg("--")
        .args(probe_args(&dir, "main", &[]))
        .start(&dir);
    let mut host = HashMap::new();
    for name in ["a", "b", "c", "main"] {
        let ns_pid = wait_ready(&dir, name);
        let pid = host_pid_of(ns_pid, grace.pid).expect("host pid");
        host.insert(i64::from(pid), name.to_string());
    }
    let output = inspect(&["--json", &grace.pid.to_string()]);
    assert!(output.status.success(), "{}", output.stderr);
    let json = read_json(&output.stdout);
    let init = field(&json, "init");
    let main = host.get(&field(init, "main").as_i64().expect("a main process"));
    assert_eq!(main.map(String::as_str), Some("main"), "{json}");
    let mut predicted: Vec<[String; 3]> = field(&json, "processes")
        .as_array()
        .expect("processes")
        .iter()
        .filter_map(|p| {
            let name = host.get(&field(p, "pid").as_i64()?)?;
            let text = |key| match field(p, key) {
                Value::Null => "null".to_string(),
                value => value.as_str().expect("a string").to_string(),
            };
            Some([name.clone(), text("receives"), text("killed_by")])
        })
        .collect();
    predicted.sort();
    assert_eq!(
        predicted,
        [
            strings(["a", "SIGQUIT", "grace-deadline"]),
            strings(["b", "SIGTERM", "stop-timeout"]),
            strings(["c", "SIGINT", "stop-timeout"]),
            strings(["main", "SIGTERM", "grace-deadline"]),
        ],
        "{json}"
    );
    let headline = field(field(&json, "summary"), "verdict")[0]
        .as_str()
        .expect("the headline")
        .to_string();
    assert!(
        headline.contains(
            "(probe), then once it has exited, stops the services in turn: c (SIGINT, SIGKILL \
             after 25 s), then b (SIGTERM, SIGKILL after 20 s), then a (SIGQUIT), then "
        ),
        "{headline}"
    );

    // And the stop goes as predicted: main, then c, b and a, each with
    // its own signal.
    grace.signal(libc::SIGTERM);
    let _ = grace.wait();
    let time = |name: &str| {
        crate::support::event_time(&dir, name, "signal")
            .unwrap_or_else(|| panic!("{name} got no signal: {}", grace.stderr()))
    };
    for (name, signal) in [("main", 15), ("c", 2), ("b", 15), ("a", 3)] {
        assert_eq!(
            crate::support::signals_received(&dir, name),
            [signal],
            "{name}: {}",
            grace.stderr()
        );
    }
    assert!(
        time("main") <= time("c") && time("c") <= time("b") && time("b") <= time("a"),
        "{}",
        grace.stderr()
    );
}
