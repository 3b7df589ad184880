//! Reading processes from /proc: the tree (pid, parent, group, session,
//! state, start time, kernel-thread flag), signal dispositions, namespace
//! pids, command lines and executables.
//!
//! Parsers take captured text so they are tested without a kernel; readers
//! treat a process vanishing mid-read as the ordinary event it is.

use crate::base::environment;
use crate::base::prelude::*;
use crate::base::signals::Signal;
use crate::cli::SERVICE_VARIABLE;
use crate::sys;

/// The fields of /proc/PID/stat grace uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    /// The kernel's command name (at most 15 bytes, may hold any byte but
    /// NUL, including spaces, parentheses and newlines).
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Clock ticks after boot: with the pid, identifies a process across
    /// PID reuse.
    pub start_time: u64,
}

/// Parses /proc/PID/stat. The command name is everything between the first
/// '(' and the last ')', since the name itself may contain either.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let mut fields = text[close + 1..].split_whitespace();
    // Fields after the name, numbered as in proc(5): 3 state, 4 ppid,
    // 5 pgrp, 6 session, ..., 22 starttime.
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    let start_time = fields.nth(22 - 7)?.parse().ok()?;
    Some(Stat {
        pid,
        comm,
        state,
        ppid,
        pgrp,
        session,
        start_time,
    })
}

/// The signal masks that /proc/PID/stat carries too (fields 32 to 34, in
/// decimal): with them a single read gives a process's identity, state
/// and dispositions, which is what the deadline's snapshot needs. The
/// kernel keeps only signals 1 to 31 there (`STAT_SIGNALS`); for the
/// others, /proc/PID/status is the only source.
pub fn parse_stat_dispositions(text: &str) -> Option<Dispositions> {
    let close = text.rfind(')')?;
    let mut fields = text[close + 1..].split_whitespace().skip(32 - 3);
    let mut next = || -> Option<u64> { fields.next()?.parse().ok() };
    Some(Dispositions {
        blocked: next()?,
        ignored: next()?,
        caught: next()?,
    })
}

/// The signals whose dispositions /proc/PID/stat shows.
pub const STAT_SIGNALS: u64 = 0x7fff_ffff;

/// A process's signal masks from /proc/PID/status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dispositions {
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// What a process does with one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Blocked: it stays pending and never arrives, whatever the handler.
    Blocks,
    Ignores,
    Handles,
    /// No handler: the kernel's default action.
    Default,
}

impl Dispositions {
    pub fn of(self, signal: Signal) -> Disposition {
        let bit = 1u64 << (signal.number() - 1);
        if self.blocked & bit != 0 {
            Disposition::Blocks
        } else if self.ignored & bit != 0 {
            Disposition::Ignores
        } else if self.caught & bit != 0 {
            Disposition::Handles
        } else {
            Disposition::Default
        }
    }
}

impl Disposition {
    pub fn describe(self, signal: Signal) -> String {
        match self {
            Disposition::Blocks => format!("blocks {signal}"),
            Disposition::Ignores => format!("ignores {signal}"),
            Disposition::Handles => format!("handles {signal}"),
            Disposition::Default => format!("{signal} at default action"),
        }
    }
}

/// The value of one `Name:\tvalue` line of /proc/PID/status.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

pub fn parse_dispositions(status: &str) -> Option<Dispositions> {
    let field =
        |name: &str| -> Option<u64> { u64::from_str_radix(status_field(status, name)?, 16).ok() };
    Some(Dispositions {
        blocked: field("SigBlk")?,
        ignored: field("SigIgn")?,
        caught: field("SigCgt")?,
    })
}

/// The pid a process has in its own PID namespace: the last number of the
/// NSpid line (the first is the pid in the namespace /proc belongs to).
/// None when the kernel predates NSpid (4.1) or the line is malformed.
pub fn parse_ns_pid(status: &str) -> Option<i32> {
    status_field(status, "NSpid")?
        .split_whitespace()
        .next_back()?
        .parse()
        .ok()
}

/// The effective uid on the Uid line (real, effective, saved, fs).
pub fn parse_uid(status: &str) -> Option<u32> {
    status_field(status, "Uid")?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The effective uid `pid` runs as; None if it cannot be read.
pub fn read_uid(pid: i32) -> Option<u32> {
    parse_uid(&read_text(pid, "status").ok()?)
}

/// The process a thread belongs to (its thread-group id): /proc/TID exists
/// for every thread, though only processes are listed in /proc.
pub fn parse_tgid(status: &str) -> Option<i32> {
    status_field(status, "Tgid")?.parse().ok()
}

/// PF_KTHREAD in the flags field of /proc/PID/stat (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// Whether /proc/PID/stat describes a kernel thread, from its flags field
/// (field 9). None when the text is malformed.
pub fn parse_kernel_thread(text: &str) -> Option<bool> {
    // As in parse_stat: the fields after the name start after the last ')'.
    let close = text.rfind(')')?;
    let flags: u64 = text[close + 1..]
        .split_whitespace()
        .nth(9 - 3)?
        .parse()
        .ok()?;
    Some(flags & PF_KTHREAD != 0)
}

/// The arguments in /proc/PID/cmdline, each decoded lossily. A process that
/// rewrote its argv into one string (setproctitle) yields one argument.
pub fn parse_cmdline_args(raw: &[u8]) -> Vec<String> {
    let trimmed = raw.strip_suffix(&[0]).unwrap_or(raw);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(|&b| b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The command line from /proc/PID/cmdline: NUL-separated arguments joined
/// by spaces. Empty for kernel threads and zombies.
pub fn parse_cmdline(raw: &[u8]) -> String {
    let trimmed = raw.strip_suffix(&[0]).unwrap_or(raw);
    String::from_utf8_lossy(trimmed).replace('\0', " ")
}

/// The most grace reads of a /proc file the kernel composes (stat,
/// status, ns_last_pid): status is the longest, and even its `Groups:`
/// line for the kernel's maximum of 65,536 groups is under 1 MiB.
pub const PROC_FILE_LIMIT: usize = 1 << 20;

/// The most grace reads of a process's arguments or environment
/// (cmdline, environ): execve(2) caps both together at 6 MiB, so only a
/// process that moved its argument area (prctl PR_SET_MM) holds more, and
/// that one is read as unreadable.
pub const ARGUMENTS_LIMIT: usize = 8 << 20;

/// /proc/PID/FILE, bounded by the limit for its kind.
pub fn read_raw(pid: i32, file: &str) -> sys::Result<Vec<u8>> {
    let limit = if file.ends_with("cmdline") || file.ends_with("environ") {
        ARGUMENTS_LIMIT
    } else {
        PROC_FILE_LIMIT
    };
    sys::read_file(&format!("/proc/{pid}/{file}"), limit)
}

/// A /proc file as text. The kernel copies command names and arguments
/// byte for byte, so a name cut mid-character at 15 bytes is not UTF-8: it
/// is decoded lossily rather than making the whole process unreadable.
pub fn read_text(pid: i32, file: &str) -> sys::Result<String> {
    let raw = read_raw(pid, file)?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

pub fn read_stat(pid: i32) -> sys::Result<Stat> {
    let text = read_text(pid, "stat")?;
    parse_stat(&text).ok_or_else(|| sys::Error::with_detail(libc::EBADMSG, "malformed stat"))
}

/// /proc/PID/stat read once: the process and its signal dispositions.
pub fn read_stat_and_dispositions(pid: i32) -> sys::Result<(Stat, Dispositions)> {
    let text = read_text(pid, "stat")?;
    parse_stat(&text)
        .zip(parse_stat_dispositions(&text))
        .ok_or_else(|| sys::Error::with_detail(libc::EBADMSG, "malformed stat"))
}

/// The last pid the kernel handed out in grace's PID namespace
/// (/proc/sys/kernel/ns_last_pid, which always speaks for the reader's own
/// namespace). Pids grow until they wrap at pid_max, so a process with a
/// higher pid than this was created after the read. None where the kernel
/// lacks it (no CONFIG_CHECKPOINT_RESTORE) or /proc is not mounted.
pub fn read_last_pid() -> Option<i32> {
    let raw = sys::read_file("/proc/sys/kernel/ns_last_pid", PROC_FILE_LIMIT).ok()?;
    core::str::from_utf8(&raw).ok()?.trim().parse().ok()
}

/// The raw bytes of /proc/PID/cmdline (empty for zombies and kernel threads).
pub fn read_cmdline(pid: i32) -> sys::Result<Vec<u8>> {
    read_raw(pid, "cmdline")
}

/// The target of /proc/PID/exe. Reading it needs ptrace access, so it fails
/// with EACCES for other users' processes when not root, and with ENOENT for
/// zombies and kernel threads.
pub fn read_exe(pid: i32) -> sys::Result<Vec<u8>> {
    sys::read_link(&format!("/proc/{pid}/exe"))
}

/// Whether an error reading /proc/PID/... means the process is gone: ENOENT
/// once its directory is removed, ESRCH when it exited mid-read.
pub fn is_gone(error: &sys::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ESRCH))
}

pub fn read_dispositions(pid: i32) -> sys::Result<Dispositions> {
    let text = read_text(pid, "status")?;
    parse_dispositions(&text)
        .ok_or_else(|| sys::Error::with_detail(libc::EBADMSG, "malformed status"))
}

/// The command line, or the kernel's name in brackets when there is none.
pub fn read_command(pid: i32, comm: &str) -> String {
    match read_cmdline(pid) {
        Ok(raw) if !raw.is_empty() => parse_cmdline(&raw),
        _ => format!("[{comm}]"),
    }
}

/// The service a process came from, as the variable grace gives every
/// service says (None: not a service's, or its environment is unreadable).
pub fn read_service(pid: i32) -> Option<String> {
    let raw = read_raw(pid, "environ").ok()?;
    service_in_environ(&raw)
}

/// `GRACE_SERVICE`'s value among /proc/PID/environ's NUL-separated
/// entries.
pub fn service_in_environ(raw: &[u8]) -> Option<String> {
    environment::lookup_entry(raw.split(|&b| b == 0), SERVICE_VARIABLE)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// Every process (thread-group leader) listed in /proc.
pub fn list_pids() -> sys::Result<Vec<i32>> {
    sys::list_directory("/proc").map(|names| pids_among(&names))
}

/// How many processes /proc lists, counting only the first few hundred
/// (a lower bound when there are more): each one listed costs the kernel
/// an entry, milliseconds for thousands, which a stop must not spend
/// before reaping.
pub fn count_processes_up_to_a_few_hundred() -> sys::Result<usize> {
    // /proc's records are 24 to 32 bytes, and about 60 of them are not
    // processes: this reads a few hundred processes at most.
    const BUDGET: usize = 8 * 1024;
    let names = sys::list_directory_up_to("/proc", BUDGET)?;
    Ok(pids_among(&names).len())
}

fn pids_among(names: &[Vec<u8>]) -> Vec<i32> {
    names
        .iter()
        .filter_map(|name| core::str::from_utf8(name).ok()?.parse().ok())
        .collect()
}

/// The threads of process `pid`, as /proc/PID/task lists them.
pub fn list_threads(pid: i32) -> sys::Result<Vec<i32>> {
    sys::list_directory(&format!("/proc/{pid}/task")).map(|names| pids_among(&names))
}

/// Whether /proc shows grace's own PID namespace (it may be the host's, or
/// not mounted): its `self` link must name grace's own pid.
pub fn shows_own_namespace() -> bool {
    own_pid() == Some(sys::getpid())
}

/// This process's pid as /proc numbers it (None when /proc is not mounted).
pub fn own_pid() -> Option<i32> {
    sys::read_link("/proc/self")
        .ok()
        .and_then(|target| core::str::from_utf8(&target).ok()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (worker.py) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 987654 10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn parses_stat() {
        let stat = parse_stat(STAT).unwrap();
        assert_eq!(
            stat,
            Stat {
                pid: 4242,
                comm: "worker.py".into(),
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                session: 4242,
                start_time: 987654,
            }
        );
    }

    #[test]
    fn stat_carries_the_same_dispositions_as_status() {
        // Read from this very process, whose masks the test harness set:
        // both files must agree, or the deadline's snapshot would lie.
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let from_status = parse_dispositions(&status).unwrap();
        assert_eq!(
            parse_stat_dispositions(&stat),
            Some(Dispositions {
                blocked: from_status.blocked & STAT_SIGNALS,
                ignored: from_status.ignored & STAT_SIGNALS,
                caught: from_status.caught & STAT_SIGNALS,
            })
        );
        let hostile = STAT.replace("worker.py", "x) 1 2 3 4 5");
        assert_eq!(
            parse_stat_dispositions(&hostile),
            parse_stat_dispositions(STAT)
        );
        assert_eq!(parse_stat_dispositions("1 (x) S 1"), None);
    }

    #[test]
    fn parses_hostile_command_names() {
        for comm in ["a b", "x) S 9 9 9 (", "((", "))", "new\nline", ") R 1 1 1"] {
            let text = STAT.replace("worker.py", comm);
            let stat = parse_stat(&text).unwrap_or_else(|| panic!("{comm:?}"));
            assert_eq!(stat.comm, comm);
            assert_eq!((stat.state, stat.ppid, stat.start_time), ('S', 1, 987654));
        }
    }

    #[test]
    fn rejects_truncated_stat() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("12 (x"), None);
        assert_eq!(parse_stat("12 (x) S 1 1"), None);
        assert_eq!(parse_stat(")( S 1 1 1"), None);
    }

    const STATUS: &str = "Name:\tsleep\nState:\tS (sleeping)\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000002\nSigIgn:\t0000000000004000\nSigCgt:\t0000000000000201\n";

    #[test]
    fn parses_dispositions() {
        let d = parse_dispositions(STATUS).unwrap();
        assert_eq!(d.blocked, 0x2);
        assert_eq!(d.ignored, 0x4000);
        assert_eq!(d.caught, 0x201);
        let signal = |n| Signal::new(n).unwrap();
        assert_eq!(d.of(signal(15)), Disposition::Ignores);
        assert_eq!(d.of(signal(2)), Disposition::Blocks);
        assert_eq!(d.of(signal(1)), Disposition::Handles);
        assert_eq!(d.of(signal(10)), Disposition::Handles);
        assert_eq!(d.of(signal(3)), Disposition::Default);
        assert_eq!(parse_dispositions("SigBlk:\tzz\n"), None);
    }

    #[test]
    fn reads_the_innermost_namespace_pid() {
        assert_eq!(parse_ns_pid("Name:\tx\nNSpid:\t4242\t7\t1\n"), Some(1));
        assert_eq!(parse_ns_pid("NSpid:\t4242\n"), Some(4242));
        assert_eq!(parse_ns_pid(STATUS), None);
        assert_eq!(parse_ns_pid("NSpid:\t\n"), None);
        assert_eq!(parse_ns_pid("NSpid:\t12 x\n"), None);
        assert_eq!(parse_tgid("Name:\tx\nTgid:\t77\nPid:\t78\n"), Some(77));
        assert_eq!(
            parse_uid("Name:\tx\nUid:\t0\t1000\t1000\t1000\n"),
            Some(1000)
        );
    }

    #[test]
    fn tells_kernel_threads_by_their_flags() {
        // Captured from kthreadd (flags 0x208040) and a user process.
        let kthreadd = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        assert_eq!(parse_kernel_thread(kthreadd), Some(true));
        assert_eq!(parse_kernel_thread(STAT), Some(false));
        // A user process cannot pass for one by its name.
        let hostile = STAT.replace("worker.py", "x) S 0 0 0 0 -1 2129984");
        assert_eq!(parse_kernel_thread(&hostile), Some(false));
        assert_eq!(parse_kernel_thread("2 (x) S 0 0"), None);
    }

    #[test]
    fn splits_command_line_arguments() {
        assert_eq!(
            parse_cmdline_args(b"sh\0-c\0sleep 5\0"),
            ["sh", "-c", "sleep 5"]
        );
        assert_eq!(parse_cmdline_args(b"a\0\0b\0"), ["a", "", "b"]);
        assert_eq!(
            parse_cmdline_args(b"nginx: worker process"),
            ["nginx: worker process"]
        );
        assert_eq!(parse_cmdline_args(b"\xff\0"), ["\u{fffd}"]);
        assert!(parse_cmdline_args(b"").is_empty());
        assert!(parse_cmdline_args(b"\0").is_empty());
    }

    #[test]
    fn joins_command_lines() {
        assert_eq!(parse_cmdline(b"sh\0-c\0sleep 5\0"), "sh -c sleep 5");
        assert_eq!(parse_cmdline(b""), "");
        assert_eq!(parse_cmdline(b"no-nul"), "no-nul");
    }

    #[test]
    fn the_bounded_count_reads_a_few_hundred_processes_at_most() {
        // The machine's own /proc: this test process at least is in it.
        // Other tests come and go meanwhile: only the bounds are certain.
        let counted = count_processes_up_to_a_few_hundred().unwrap();
        assert!((1..=400).contains(&counted), "{counted}");
    }

    #[test]
    fn the_service_is_read_from_the_environment() {
        let raw = b"PATH=/bin\0GRACE_SERVICEX=no\0GRACE_SERVICE=web\0HOME=/\0";
        assert_eq!(service_in_environ(raw).as_deref(), Some("web"));
        assert_eq!(service_in_environ(b"PATH=/bin\0"), None);
        assert_eq!(service_in_environ(b""), None);
    }
}
