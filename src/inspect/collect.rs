//! Reading: /proc into `Process` records, behind the `Source` trait, so
//! that everything above it can be tested on captured text.

use core::fmt;

use crate::base::environment::lookup;
use crate::base::prelude::*;
use crate::cli::SERVICE_VARIABLE;
use crate::sys;

use crate::process::procfs::{self, Dispositions};
use crate::services::published::Published;

/// One process as /proc describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Process {
    /// As /proc numbers it (the host's pid when run on the host).
    pub(super) pid: i32,
    /// In the process's own PID namespace (NSpid's last field).
    pub(super) ns_pid: i32,
    pub(super) ppid: i32,
    pub(super) pgid: i32,
    pub(super) sid: i32,
    pub(super) state: char,
    pub(super) start_time: u64,
    pub(super) comm: String,
    /// Empty for zombies, kernel threads and unreadable command lines.
    pub(super) args: Vec<String>,
    /// None when unreadable (other users' processes, zombies).
    pub(super) exe: Option<String>,
    /// The GRACE_*, TINI_* and DUMB_INIT_* variables it was started with
    /// (from /proc/PID/environ; nothing else is kept): how an init was
    /// configured.
    pub(super) init_env: Vec<(Vec<u8>, Vec<u8>)>,
    pub(super) kernel_thread: bool,
    /// A live thread of a process whose main thread has exited (called
    /// pthread_exit): /proc shows the leader as a zombie, but the process
    /// runs on in this thread, and `state`, the dispositions, the command
    /// line and the executable are read from it.
    pub(super) live_thread: Option<i32>,
    /// None when /proc/PID/status could not be read; `error` says why.
    pub(super) dispositions: Option<Dispositions>,
    pub(super) error: Option<String>,
}

/// Where process records come from: /proc, or captured text in tests.
pub(super) trait Source {
    fn pids(&self) -> sys::Result<Vec<i32>>;
    /// The bytes of /proc/PID/FILE (FILE may be `task/TID/...`).
    fn read(&self, pid: i32, file: &str) -> sys::Result<Vec<u8>>;
    /// Where /proc/PID/exe, or /proc/PID/task/TID/exe, points.
    fn exe(&self, pid: i32, thread: Option<i32>) -> sys::Result<String>;
    /// The thread ids in /proc/PID/task.
    fn threads(&self, pid: i32) -> sys::Result<Vec<i32>>;
}

pub(super) struct ProcFs;

impl Source for ProcFs {
    fn pids(&self) -> sys::Result<Vec<i32>> {
        procfs::list_pids()
    }

    fn read(&self, pid: i32, file: &str) -> sys::Result<Vec<u8>> {
        procfs::read_raw(pid, file)
    }

    fn exe(&self, pid: i32, thread: Option<i32>) -> sys::Result<String> {
        let path = match thread {
            None => procfs::read_exe(pid)?,
            Some(tid) => sys::read_link(&format!("/proc/{pid}/task/{tid}/exe"))?,
        };
        Ok(String::from_utf8_lossy(&path).into_owned())
    }

    fn threads(&self, pid: i32) -> sys::Result<Vec<i32>> {
        procfs::list_threads(pid)
    }
}

/// The processes to show, in tree order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// Depth-first, parents before children, siblings by pid.
    pub(super) processes: Vec<Process>,
    /// Each process's depth in the tree (0 for a root).
    pub(super) depths: Vec<usize>,
    /// Kernel threads left out of a whole-namespace listing (on a host).
    pub(super) kernel_threads_omitted: usize,
    /// The service each process belongs to, in the same order; empty when
    /// none belongs to any (no services run), which leaves the output as
    /// it was before services existed.
    pub(super) services: Vec<Option<String>>,
}

#[derive(Debug)]
pub(super) enum CollectError {
    /// /proc cannot be listed.
    NoProc(sys::Error),
    NoSuchProcess(i32),
    /// The PID is a thread's; /proc lists only processes.
    Thread {
        tid: i32,
        tgid: i32,
    },
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollectError::NoProc(error) => {
                write!(f, "cannot list /proc: {error} (is /proc mounted?)")
            }
            CollectError::NoSuchProcess(pid) => write!(f, "no process with PID {pid}"),
            CollectError::Thread { tid, tgid } => write!(
                f,
                "{tid} is a thread of process {tgid}, not a process: try grace inspect {tgid}"
            ),
        }
    }
}

/// Reads the processes to show: `target` and its descendants, or every
/// process but `own_pid` (the inspecting process itself) and kernel threads.
pub(super) fn collect(
    source: &impl Source,
    target: Option<i32>,
    own_pid: Option<i32>,
) -> Result<Snapshot, CollectError> {
    let mut pids = source.pids().map_err(CollectError::NoProc)?;
    pids.retain(|&pid| Some(pid) != own_pid || Some(pid) == target);
    if let Some(target) = target
        && !pids.contains(&target)
    {
        return Err(not_listed(source, target));
    }
    let mut processes = Vec::new();
    for pid in pids {
        processes.extend(read_stat(source, pid));
    }
    let mut kernel_threads_omitted = 0;
    match target {
        Some(target) => {
            let mut keep = subtree(&processes, target).into_iter();
            processes.retain(|_| keep.next() == Some(true));
        }
        None => {
            let before = processes.len();
            processes.retain(|p| !p.kernel_thread);
            kernel_threads_omitted = before - processes.len();
        }
    }
    processes.retain_mut(|process| read_details(source, process));
    if let Some(target) = target
        && !processes.iter().any(|p| p.pid == target)
    {
        // It exited while being read.
        return Err(CollectError::NoSuchProcess(target));
    }
    let (processes, depths) = forest(processes);
    Ok(Snapshot {
        processes,
        depths,
        kernel_threads_omitted,
        services: Vec::new(),
    })
}

fn not_listed(source: &impl Source, pid: i32) -> CollectError {
    let tgid = source
        .read(pid, "status")
        .ok()
        .and_then(|raw| procfs::parse_tgid(&String::from_utf8_lossy(&raw)));
    match tgid {
        Some(tgid) if tgid != pid => CollectError::Thread { tid: pid, tgid },
        _ => CollectError::NoSuchProcess(pid),
    }
}

/// The tree fields from /proc/PID/stat; None when the process is gone. A
/// stat that cannot be read or parsed although the process exists still
/// gives a (marked) record, placed at the top of the tree.
fn read_stat(source: &impl Source, pid: i32) -> Option<Process> {
    let unreadable = |error: String| Process {
        pid,
        ns_pid: pid,
        ppid: 0,
        pgid: 0,
        sid: 0,
        state: '?',
        start_time: 0,
        comm: String::new(),
        args: Vec::new(),
        exe: None,
        init_env: Vec::new(),
        kernel_thread: false,
        live_thread: None,
        dispositions: None,
        error: Some(error),
    };
    let text = match source.read(pid, "stat") {
        Ok(raw) => String::from_utf8_lossy(&raw).into_owned(),
        Err(error) if procfs::is_gone(&error) => return None,
        Err(error) => return Some(unreadable(format!("cannot read /proc/{pid}/stat: {error}"))),
    };
    let (Some(stat), Some(kernel_thread)) = (
        procfs::parse_stat(&text),
        procfs::parse_kernel_thread(&text),
    ) else {
        return Some(unreadable(format!("malformed /proc/{pid}/stat")));
    };
    // A zombie leader may head a live process: look at its other threads.
    let live = match stat.state {
        'Z' if !kernel_thread => live_thread(source, pid),
        _ => None,
    };
    Some(Process {
        pid,
        ns_pid: pid,
        ppid: stat.ppid,
        pgid: stat.pgrp,
        sid: stat.session,
        state: live.map_or(stat.state, |(_, state)| state),
        start_time: stat.start_time,
        comm: stat.comm,
        args: Vec::new(),
        exe: None,
        init_env: Vec::new(),
        kernel_thread,
        live_thread: live.map(|(tid, _)| tid),
        dispositions: None,
        error: None,
    })
}

/// A thread of `pid` other than its (exited) leader that has not exited,
/// and its state; None for a real zombie, all of whose threads are gone.
fn live_thread(source: &impl Source, pid: i32) -> Option<(i32, char)> {
    let threads = source.threads(pid).ok()?;
    threads
        .into_iter()
        .filter(|&tid| tid != pid)
        .find_map(|tid| {
            let raw = source.read(pid, &format!("task/{tid}/stat")).ok()?;
            let state = procfs::parse_stat(&String::from_utf8_lossy(&raw))?.state;
            (!matches!(state, 'Z' | 'X')).then_some((tid, state))
        })
}

/// Fills in dispositions, namespace pid, command line and executable.
/// False when the process exited meanwhile.
fn read_details(source: &impl Source, process: &mut Process) -> bool {
    let pid = process.pid;
    if process.error.is_some() {
        return true;
    }
    // What an exited leader no longer shows (its blocked signals are its
    // own, its memory is gone) comes from the thread that runs on; the
    // leader's status still gives the process's own namespace pid.
    let task = process
        .live_thread
        .map(|tid| format!("task/{tid}/"))
        .unwrap_or_default();
    let status_file = format!("{task}status");
    match source.read(pid, &status_file) {
        Ok(raw) => {
            let status = String::from_utf8_lossy(&raw);
            process.dispositions = procfs::parse_dispositions(&status);
            process.ns_pid = procfs::parse_ns_pid(&status).unwrap_or(pid);
            if process.dispositions.is_none() {
                process.error = Some(format!("malformed /proc/{pid}/{status_file}"));
            }
        }
        Err(error) if procfs::is_gone(&error) => return false,
        Err(error) => {
            process.error = Some(format!("cannot read /proc/{pid}/{status_file}: {error}"));
        }
    }
    if process.live_thread.is_some()
        && let Ok(raw) = source.read(pid, "status")
        && let Some(ns_pid) = procfs::parse_ns_pid(&String::from_utf8_lossy(&raw))
    {
        process.ns_pid = ns_pid;
    }
    match source.read(pid, &format!("{task}cmdline")) {
        Ok(raw) => process.args = procfs::parse_cmdline_args(&raw),
        Err(error) if procfs::is_gone(&error) => return false,
        Err(error) => {
            if process.error.is_none() {
                process.error = Some(format!("cannot read /proc/{pid}/cmdline: {error}"));
            }
        }
    }
    // Unreadable for other users' processes, zombies and kernel threads:
    // only an aid to recognise PID 1, never an error worth marking.
    process.exe = source.exe(pid, process.live_thread).ok();
    process.init_env = source
        .read(pid, &format!("{task}environ"))
        .map(|raw| init_variables(&raw))
        .unwrap_or_default();
    true
}

/// The variables that configure an init, from /proc/PID/environ's
/// NUL-separated `NAME=value` entries; everything else (secrets included)
/// is dropped at once.
fn init_variables(raw: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut variables = Vec::new();
    for entry in raw.split(|&b| b == 0) {
        if [&b"GRACE_"[..], b"TINI_", b"DUMB_INIT_"]
            .iter()
            .any(|prefix| entry.starts_with(prefix))
            && let Some(at) = entry.iter().position(|&b| b == b'=')
        {
            variables.push((entry[..at].to_vec(), entry[at + 1..].to_vec()));
        }
    }
    variables
}

/// The service each process belongs to: by the state the running grace
/// publishes (a service's process group, the runtime starting each in its
/// own), else by the `GRACE_SERVICE` it was started with, which everything
/// a service starts inherits, a daemon that left the group included. The
/// state counts only when the grace that wrote it is among `processes`,
/// started when it did: not a stale file, nor one from another namespace.
/// Empty when no process belongs to a service.
pub(super) fn services(
    processes: &[Process],
    published: Option<&Published>,
) -> Vec<Option<String>> {
    let published = published.filter(|state| {
        processes.iter().any(|p| {
            p.pid == state.grace_pid
                && (state.grace_start == 0 || p.start_time == state.grace_start)
        })
    });
    let by_group = |p: &Process| {
        published?
            .services
            .iter()
            .find(|(service, pgid)| {
                service.state.running() && (*pgid == Some(p.pgid) || service.pid == Some(p.pid))
            })
            .map(|(service, _)| service.name.clone())
    };
    let by_environment = |p: &Process| {
        lookup(&p.init_env, SERVICE_VARIABLE)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    };
    let services: Vec<Option<String>> = processes
        .iter()
        .map(|p| by_group(p).or_else(|| by_environment(p)))
        .collect();
    if services.iter().all(Option::is_none) {
        return Vec::new();
    }
    services
}

/// A file as process `pid` sees it: an absolute path in its root, a
/// relative one in its working directory (both through /proc, so that a
/// container's files are read from the host too).
pub(super) fn target_file(source: &impl Source, pid: i32, path: &str) -> Result<Vec<u8>, String> {
    let file = match path.strip_prefix('/') {
        Some(absolute) => format!("root/{absolute}"),
        None => format!("cwd/{path}"),
    };
    source
        .read(pid, &file)
        .map_err(|why| format!("{path}: cannot read: {why}"))
}

/// Whether each process is `root` or below it, by parent links.
pub(super) fn subtree(processes: &[Process], root: i32) -> Vec<bool> {
    let parents = parents(processes);
    let mut inside: Vec<Option<bool>> = processes
        .iter()
        .map(|p| (p.pid == root).then_some(true))
        .collect();
    let mut path = Vec::new();
    for start in 0..processes.len() {
        // Up the parent links to a process already decided; those on the
        // way are marked first, so that a cycle (only in made-up input)
        // ends the walk, outside.
        let mut at = start;
        let found = loop {
            if let Some(known) = inside[at] {
                break known;
            }
            inside[at] = Some(false);
            path.push(at);
            match parents[at] {
                Some(parent) => at = parent,
                None => break false,
            }
        };
        for index in path.drain(..) {
            inside[index] = Some(found);
        }
    }
    inside
        .into_iter()
        .map(|known| known == Some(true))
        .collect()
}

/// The indices of `processes` in pid order: the one sort of inspect, for
/// both the search by pid and the forest's order. (Pids are unique but in
/// made-up input, where equal ones come in the order given.) Sorted as
/// (pid, index) pairs, the one sort of the stop order's tables: a sort of
/// its own would be kilobytes more of the binary.
fn by_pid(processes: &[Process]) -> Vec<usize> {
    let mut order: Vec<(i32, i32)> = processes
        .iter()
        .enumerate()
        .map(|(index, process)| (process.pid, index as i32))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|pair| pair.1 as usize).collect()
}

/// Each process's parent among `processes`, by index (None: its parent is
/// not among them, or is itself).
fn parents(processes: &[Process]) -> Vec<Option<usize>> {
    parents_in(processes, &by_pid(processes))
}

fn parents_in(processes: &[Process], order: &[usize]) -> Vec<Option<usize>> {
    processes
        .iter()
        .map(|p| {
            let at = order
                .binary_search_by_key(&p.ppid, |&index| processes[index].pid)
                .ok()?;
            Some(order[at]).filter(|_| p.ppid != p.pid)
        })
        .collect()
}

/// Orders processes depth-first like `ps --forest`: roots (whose parent is
/// not shown) and siblings by pid. Returns each one's depth.
fn forest(processes: Vec<Process>) -> (Vec<Process>, Vec<usize>) {
    let by_pid = by_pid(&processes);
    let parents = parents_in(&processes, &by_pid);
    let mut children: Vec<Vec<usize>> = processes.iter().map(|_| Vec::new()).collect();
    let mut roots = Vec::new();
    for &index in &by_pid {
        match parents[index] {
            Some(parent) => children[parent].push(index),
            None => roots.push(index),
        }
    }
    let mut order = Vec::with_capacity(processes.len());
    let mut visited = vec![false; processes.len()];
    // A stack of (index, depth), pushed in reverse so the smallest pid
    // comes out first.
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    loop {
        while let Some((index, depth)) = stack.pop() {
            if core::mem::replace(&mut visited[index], true) {
                continue;
            }
            order.push((index, depth));
            stack.extend(children[index].iter().rev().map(|&kid| (kid, depth + 1)));
        }
        // Parent links that form a cycle (only in made-up input) leave
        // processes unreached: show them as roots rather than lose them.
        match by_pid.iter().find(|&&index| !visited[index]) {
            Some(&index) => stack.push((index, 0)),
            None => break,
        }
    }
    let depths = order.iter().map(|&(_, depth)| depth).collect();
    let mut slots: Vec<Option<Process>> = processes.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(order.len());
    for &(index, _) in &order {
        ordered.extend(slots[index].take());
    }
    (ordered, depths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::fate::{Outcome, Prediction};
    use crate::inspect::fixtures::at;
    use crate::inspect::fixtures::{FakeProc, sample};
    use crate::inspect::render::render_text;

    fn pids(snapshot: &Snapshot) -> Vec<(i32, usize)> {
        snapshot
            .processes
            .iter()
            .zip(&snapshot.depths)
            .map(|(p, &depth)| (p.pid, depth))
            .collect()
    }

    #[test]
    fn collects_a_forest_in_ps_order() {
        let snapshot = collect(&sample(), None, Some(130)).unwrap();
        assert_eq!(pids(&snapshot), [(101, 0), (110, 1), (105, 2), (120, 1)]);
        assert_eq!(snapshot.kernel_threads_omitted, 1);
        let a = &snapshot.processes[1];
        assert_eq!((a.ns_pid, a.ppid, a.pgid, a.sid), (10, 101, 110, 110));
        assert_eq!(a.args, ["prog", "arg"]);
        assert_eq!(a.exe.as_deref(), Some("/bin/prog"));
        assert_eq!(a.dispositions.map(|d| d.caught), Some(1 << 14));

        let snapshot = collect(&sample(), Some(110), Some(130)).unwrap();
        assert_eq!(pids(&snapshot), [(110, 0), (105, 1)]);
        // With a target, kernel threads are shown, marked.
        let snapshot = collect(&sample(), Some(102), None).unwrap();
        assert!(snapshot.processes[0].kernel_thread);
    }

    #[test]
    fn processes_vanishing_mid_read_are_dropped() {
        for file in ["stat", "status", "cmdline"] {
            let mut proc = sample();
            proc.files.insert((110, file), Err(libc::ESRCH));
            let snapshot = collect(&proc, None, None).unwrap();
            let shown: Vec<i32> = snapshot.processes.iter().map(|p| p.pid).collect();
            assert!(!shown.contains(&110), "{file}: {shown:?}");
            // Its child is still shown, as a root.
            assert!(shown.contains(&105));
            assert!(matches!(
                collect(&proc, Some(110), None),
                Err(CollectError::NoSuchProcess(110))
            ));
        }
    }

    #[test]
    fn unreadable_entries_are_marked_not_fatal() {
        let mut proc = sample();
        proc.files.insert((110, "status"), Err(libc::EACCES));
        proc.files.insert((105, "stat"), Err(libc::EACCES));
        proc.files.insert((120, "stat"), Ok(b"garbage".to_vec()));
        proc.exes.clear();
        let snapshot = collect(&proc, None, None).unwrap();
        let find = |pid| snapshot.processes.iter().find(|p| p.pid == pid).unwrap();
        assert_eq!(find(110).dispositions, None);
        assert_eq!(
            find(110).error.as_deref(),
            Some("cannot read /proc/110/status: Permission denied (os error 13)")
        );
        assert_eq!(find(110).exe, None);
        assert_eq!(find(105).state, '?');
        assert!(
            find(105)
                .error
                .as_deref()
                .unwrap()
                .starts_with("cannot read /proc/105/stat")
        );
        assert_eq!(find(120).error.as_deref(), Some("malformed /proc/120/stat"));
        // And the rest still predicts and renders.
        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let text = render_text(&snapshot, &report, SIGTERM, false);
        assert!(text.contains("Permission denied"), "{text}");
    }

    /// The sample, plus 140, whose main thread has called pthread_exit
    /// while thread 141 runs on: /proc shows the leader as a zombie, with
    /// no command line and no executable, and the process's life in
    /// task/141.
    fn with_exited_leader() -> FakeProc {
        let mut proc = sample();
        proc.add(140, 101, b"server", 'Z', 0);
        proc.threads.insert(140, vec![140, 141]);
        proc.files.insert((140, "cmdline"), Ok(Vec::new()));
        proc.exes.remove(&140);
        proc.files.insert(
            (140, "task/141/stat"),
            Ok(b"141 (server) S 101 140 140 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 700 0 0\n".to_vec()),
        );
        proc.files.insert(
            (140, "task/141/status"),
            Ok(b"Name:\tserver\nTgid:\t140\nNSpid:\t141\t41\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000004002\n".to_vec()),
        );
        proc.files
            .insert((140, "task/141/cmdline"), Ok(b"server\0--port\0".to_vec()));
        proc.exes.insert(141, "/usr/bin/server".into());
        proc
    }

    /// What a SIGTERM stop does to `pid`, with the snapshot's first
    /// process as PID 1.
    fn prediction_for(snapshot: &Snapshot, pid: i32) -> Prediction {
        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let index = snapshot.processes.iter().position(|p| p.pid == pid);
        report.predictions[index.expect("shown")].clone()
    }

    #[test]
    fn a_process_whose_main_thread_exited_is_read_from_a_live_thread() {
        let snapshot = collect(&with_exited_leader(), None, Some(130)).unwrap();
        let server = snapshot.processes.iter().find(|p| p.pid == 140).unwrap();
        assert_eq!(server.state, 'S');
        assert_eq!(server.live_thread, Some(141));
        assert_eq!(server.args, ["server", "--port"]);
        assert_eq!(server.exe.as_deref(), Some("/usr/bin/server"));
        assert_eq!(
            server.dispositions.map(|d| d.caught),
            Some(1 << 14 | 1 << 1)
        );
        // The process's own namespace pid, from the leader's status, not
        // the thread's.
        assert_eq!(server.ns_pid, 40);
        // And a stop treats it as the live process it is.
        let prediction = prediction_for(&snapshot, 140);
        assert_ne!(prediction.outcome, Outcome::Zombie);
        assert!(
            !prediction.verdict.contains("zombie"),
            "{}",
            prediction.verdict
        );
    }

    #[test]
    fn a_zombie_is_a_zombie_when_no_other_thread_lives() {
        let mut proc = with_exited_leader();
        // 141 exiting too: the process is done.
        proc.files.insert(
            (140, "task/141/stat"),
            Ok(b"141 (server) Z 101 140 140 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 700 0 0\n".to_vec()),
        );
        let snapshot = collect(&proc, None, Some(130)).unwrap();
        let find = |pid| snapshot.processes.iter().find(|p| p.pid == pid).unwrap();
        assert_eq!((find(140).state, find(140).live_thread), ('Z', None));
        // The sample's own zombie has only its leader in task/.
        assert_eq!((find(120).state, find(120).live_thread), ('Z', None));
        assert_eq!(prediction_for(&snapshot, 140).outcome, Outcome::Zombie);
    }

    #[test]
    fn each_process_is_known_by_its_service_group_or_environment() {
        use crate::base::time::Instant;
        use crate::inspect::fixtures::grace_tree;
        use crate::services::published::{ServiceStatus, State};
        let mut processes = grace_tree(&[]);
        // The setsid'd daemon left main's group; its environment remains.
        processes[6]
            .init_env
            .push((b"GRACE_SERVICE".to_vec(), b"main".to_vec()));
        let service = |name: &str, state, pid| {
            let status = ServiceStatus {
                name: name.into(),
                state,
                pid: Some(pid),
                restarts: 0,
                since: Instant::from_millis(0),
            };
            (status, Some(pid))
        };
        let mut published = Published {
            grace_pid: 1,
            grace_start: processes[0].start_time,
            published: Instant::from_millis(0),
            stopping: false,
            services: vec![
                service("main", State::Ready, 7),
                // Exited: its old group says nothing any more.
                service(
                    "old",
                    State::Exited(crate::process::reap::WaitStatus::Exited(0)),
                    15,
                ),
            ],
        };
        let names = |published: Option<&Published>| -> Vec<Option<&'static str>> {
            services(&processes, published)
                .into_iter()
                .map(|name| name.map(|name| &*name.leak()))
                .collect()
        };
        let main = Some("main");
        assert_eq!(
            names(Some(&published)),
            [None, main, main, main, main, main, main, None, main, None]
        );
        // A state left by another grace than this PID 1: the environment
        // alone.
        published.grace_start += 1;
        let by_environment = [None, None, None, None, None, None, main, None, None, None];
        assert_eq!(names(Some(&published)), by_environment);
        assert_eq!(names(None), by_environment);
        processes[6].init_env.clear();
        assert!(services(&processes, None).is_empty());
    }

    #[test]
    fn a_missing_pid_a_thread_and_no_proc_are_clear_errors() {
        let proc = sample();
        let error = collect(&proc, Some(4242), None).unwrap_err();
        assert_eq!(error.to_string(), "no process with PID 4242");
        let mut proc = sample();
        proc.files.insert(
            (111, "status"),
            Ok(b"Name:\tworker\nTgid:\t110\nPid:\t111\n".to_vec()),
        );
        let error = collect(&proc, Some(111), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "111 is a thread of process 110, not a process: try grace inspect 110"
        );
        let proc = FakeProc {
            unlisted: true,
            ..FakeProc::default()
        };
        let error = collect(&proc, None, None).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot list /proc: "),
            "{error}"
        );
    }
}
