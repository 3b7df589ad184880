//! What /proc says about a process (its state, parent, children, status
//! fields, process group and session), signalling one, and the monotonic
//! clock processes stamp what they did with.

use std::fs;

/// CLOCK_MONOTONIC in milliseconds, the clock the probe's log uses.
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// kill(2), which must succeed.
pub fn send_signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) with plain integers.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// The direct children of `pid`, from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The one-letter state of `pid` from /proc/PID/stat (None once gone).
pub fn state_of(pid: i32) -> Option<char> {
    stat_field(pid, 3)?.chars().next()
}

/// The parent of `pid`, from /proc/PID/stat.
pub fn parent_of(pid: i32) -> Option<i32> {
    stat_field(pid, 4)?.parse().ok()
}

/// Field `number` of /proc/PID/stat, numbered as in proc(5) (3 is the
/// state: the fields after the command name, which may hold anything);
/// None once the process is gone.
pub fn stat_field(pid: i32, number: usize) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(") ")?.1;
    after_name
        .split_whitespace()
        .nth(number.checked_sub(3)?)
        .map(str::to_string)
}

/// One field of /proc/PID/status, e.g. "SigBlk".
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
}

/// The host pid of a process in grace's namespace, found by the ready
/// marker's namespace pid in /proc/PID/status's NSpid line.
pub fn host_pid_of(namespace_pid: i32, below: i32) -> Option<i32> {
    // Breadth first, each process checked as it is found: the one sought
    // is usually a child of grace, and a flood of thousands of orphans
    // below grace must not make every look a walk of all of them.
    let is_it = |pid: i32| {
        status_field(pid, "NSpid")
            .and_then(|line| line.split_whitespace().last().map(str::to_string))
            .is_some_and(|inner| inner == namespace_pid.to_string())
    };
    let mut queue = std::collections::VecDeque::from([below]);
    while let Some(next) = queue.pop_front() {
        for child in children_of(next) {
            if is_it(child) {
                return Some(child);
            }
            queue.push_back(child);
        }
    }
    None
}

/// Every descendant of `pid`, from /proc's children lists.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for child in children_of(next) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// VmRSS of `pid` in kB.
pub fn rss_kb(pid: i32) -> u64 {
    kb_field(pid, "VmRSS")
}

/// kB of `pid`'s memory that is its own (RssAnon: heap, stack, written
/// data), what a leak grows. Its code is file-backed: grace gives the
/// set-up's code pages back once idle (`sys::image`) and the kernel maps
/// what runs again, which VmRSS counts and no leak is.
pub fn anon_kb(pid: i32) -> u64 {
    kb_field(pid, "RssAnon")
}

fn kb_field(pid: i32, name: &str) -> u64 {
    status_field(pid, name)
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} of {pid}"))
}

/// Fields 5 and 6 of /proc/PID/stat: the process group and the session.
pub fn group_and_session(pid: i32) -> Option<(i32, i32)> {
    Some((
        stat_field(pid, 5)?.parse().ok()?,
        stat_field(pid, 6)?.parse().ok()?,
    ))
}
