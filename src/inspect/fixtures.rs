//! Test fixtures shared by the layers' tests: process records to predict
//! from, a fake /proc to read them from, and short ways to predict and to
//! read the report.

use crate::sys;
use std::collections::HashMap;

use super::classify::Init;
use super::collect::{Process, Source};
use super::fate::KilledBy;
use super::judge::{Report, predict};
use crate::base::signals::Signal;
use crate::process::procfs::Dispositions;

pub(super) fn bits(signals: &[i32]) -> u64 {
    signals.iter().fold(0, |set, n| set | 1 << (n - 1))
}

/// A sleeping process that handles nothing, in its parent's group and
/// session (1's by default).
pub(super) fn process(pid: i32, ppid: i32, comm: &str) -> Process {
    Process {
        pid,
        ns_pid: pid,
        ppid,
        pgid: 1,
        sid: 1,
        state: 'S',
        start_time: 1000 + pid as u64,
        comm: comm.into(),
        args: vec![comm.into()],
        exe: Some(format!("/usr/bin/{comm}")),
        init_env: Vec::new(),
        kernel_thread: false,
        live_thread: None,
        dispositions: Some(Dispositions::default()),
        error: None,
    }
}

pub(super) fn handling(mut p: Process, signals: &[i32]) -> Process {
    if let Some(d) = &mut p.dispositions {
        d.caught |= bits(signals);
    }
    p
}

pub(super) fn ignoring(mut p: Process, signals: &[i32]) -> Process {
    if let Some(d) = &mut p.dispositions {
        d.ignored |= bits(signals);
    }
    p
}

pub(super) fn blocking(mut p: Process, signals: &[i32]) -> Process {
    if let Some(d) = &mut p.dispositions {
        d.blocked |= bits(signals);
    }
    p
}

pub(super) fn args(mut p: Process, args: &[&str]) -> Process {
    p.args = args.iter().map(|a| a.to_string()).collect();
    p
}

pub(super) fn group(mut p: Process, pgid: i32, sid: i32) -> Process {
    p.pgid = pgid;
    p.sid = sid;
    p
}

/// tini (PID 1) → main 7, which started 8 in its group and 9 in a
/// session of its own.
pub(super) fn forwarder_tree(init: &[&str]) -> Vec<Process> {
    let comm = init[0].rsplit('/').next().unwrap();
    vec![
        handling(args(process(1, 0, comm), init), &[]),
        group(handling(process(7, 1, "main"), &[15]), 7, 1),
        group(handling(process(8, 7, "sibling"), &[15]), 7, 1),
        group(handling(process(9, 7, "daemon"), &[15]), 9, 9),
    ]
}

/// grace (PID 1) → main 7; below main: 8 handles, 9 ignores, 10 blocks,
/// 11 default, 12 setsid'd daemon that handles and has zombie 13;
/// 14 stopped (handles); 15 entered from outside.
pub(super) fn grace_tree(options: &[&str]) -> Vec<Process> {
    let mut argv = vec!["/usr/bin/grace"];
    argv.extend(options);
    argv.extend(["--", "main"]);
    let mut stopped = handling(process(14, 7, "stopped"), &[15]);
    stopped.state = 'T';
    let mut zombie = process(13, 12, "probe");
    zombie.state = 'Z';
    zombie.args.clear();
    vec![
        blocking(args(process(1, 0, "grace"), &argv), &[15]),
        group(handling(process(7, 1, "main"), &[15]), 7, 1),
        group(handling(process(8, 7, "handler"), &[15]), 7, 1),
        group(ignoring(process(9, 7, "ignorer"), &[15]), 7, 1),
        group(
            blocking(handling(process(10, 7, "blocker"), &[15]), &[15]),
            7,
            1,
        ),
        group(process(11, 7, "plain"), 7, 1),
        group(handling(process(12, 7, "daemon"), &[15]), 12, 12),
        group(zombie, 12, 12),
        group(stopped, 7, 1),
        handling(process(15, 0, "bash"), &[15]),
    ]
}

/// grace's options for a stop with every step: a delay, a pre-stop
/// command, the main process first, another stop signal.
pub(super) const DELAY_PRE_STOP_MAIN_FIRST: [&str; 8] = [
    "--stop-delay",
    "2s",
    "--pre-stop",
    "nginx -s quit",
    "--stop-order",
    "main-first",
    "--stop-signal",
    "USR2",
];

pub(super) fn signal(number: i32) -> Signal {
    Signal::new(number).unwrap()
}

/// Predicts with PID 1 (the first process) as the target.
pub(super) fn run(processes: &[Process], signal: Signal) -> Report {
    at(processes, Some(0), signal)
}

/// Predicts with `processes[top]` as the target (None: PID 1 not
/// visible), no process in a service and no file readable.
pub(super) fn at(processes: &[Process], top: Option<usize>, signal: Signal) -> Report {
    let init = top.map(|top| Init::identify(processes, top, &[], &no_file));
    predict(processes, &[], init, signal)
}

/// A target none of whose files can be read.
pub(super) fn no_file(path: &str) -> Result<Vec<u8>, String> {
    Err(format!("{path}: cannot read"))
}

/// (outcome, killed_by) per process.
pub(super) fn fates(report: &Report) -> Vec<(&'static str, Option<&'static str>)> {
    report
        .predictions
        .iter()
        .map(|p| (p.outcome.name(), p.killed_by.map(KilledBy::name)))
        .collect()
}

/// The fates of a PID 1 that handles the stop signal and exits, and of
/// the one other process, which gets nothing and is SIGKILLed by the
/// kernel as PID 1 exits.
pub(super) const HANDLED_THEN_KERNEL_KILLS: [(&str, Option<&str>); 2] = [
    ("graceful", Some("runtime-timeout")),
    ("sigkill", Some("init-exit")),
];

pub(super) fn verdict(report: &Report, index: usize) -> &str {
    &report.predictions[index].verdict
}

/// /proc as captured text; a missing file is ENOENT, like a process
/// that has gone.
#[derive(Default)]
pub(super) struct FakeProc {
    pub(super) pids: Vec<i32>,
    pub(super) files: HashMap<(i32, &'static str), Result<Vec<u8>, i32>>,
    /// Keyed by pid, then by thread id for a thread's own files (those
    /// under task/TID/).
    pub(super) exes: HashMap<i32, String>,
    /// /proc/PID/task; a process missing here has only its leader.
    pub(super) threads: HashMap<i32, Vec<i32>>,
    pub(super) unlisted: bool,
}

impl FakeProc {
    pub(super) fn add(&mut self, pid: i32, ppid: i32, comm: &[u8], state: char, flags: u64) {
        let mut stat = format!("{pid} (").into_bytes();
        stat.extend_from_slice(comm);
        stat.extend_from_slice(
            format!(
                ") {state} {ppid} {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n",
                500 + pid
            )
            .as_bytes(),
        );
        self.pids.push(pid);
        self.files.insert((pid, "stat"), Ok(stat));
        let status = format!(
            "Name:\tx\nTgid:\t{pid}\nNSpid:\t{pid}\t{}\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000004000\n",
            pid - 100
        );
        self.files.insert((pid, "status"), Ok(status.into_bytes()));
        self.files
            .insert((pid, "cmdline"), Ok(b"prog\0arg\0".to_vec()));
        self.exes.insert(pid, "/bin/prog".into());
    }
}

impl Source for FakeProc {
    fn pids(&self) -> sys::Result<Vec<i32>> {
        if self.unlisted {
            return Err(sys::Error::from_raw_os_error(libc::ENOENT));
        }
        Ok(self.pids.clone())
    }

    fn read(&self, pid: i32, file: &str) -> sys::Result<Vec<u8>> {
        let key = self.files.keys().find(|(p, f)| *p == pid && *f == file);
        match key.and_then(|key| self.files.get(key)) {
            Some(Ok(bytes)) => Ok(bytes.clone()),
            Some(Err(errno)) => Err(sys::Error::from_raw_os_error(*errno)),
            None => Err(sys::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    fn exe(&self, pid: i32, thread: Option<i32>) -> sys::Result<String> {
        self.exes
            .get(&thread.unwrap_or(pid))
            .cloned()
            .ok_or_else(|| sys::Error::from_raw_os_error(libc::EACCES))
    }

    fn threads(&self, pid: i32) -> sys::Result<Vec<i32>> {
        Ok(self.threads.get(&pid).cloned().unwrap_or_else(|| vec![pid]))
    }
}

pub(super) fn sample() -> FakeProc {
    let mut proc = FakeProc::default();
    proc.add(101, 0, b"init", 'S', 0);
    proc.add(102, 0, b"kthreadd", 'S', 0x0020_8040);
    proc.add(110, 101, b"a", 'S', 0);
    proc.add(105, 110, b"b", 'S', 0);
    proc.add(120, 101, b"c", 'Z', 0);
    proc.add(130, 0, b"entered", 'S', 0);
    proc
}
