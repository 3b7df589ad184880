//! Reading processes from /proc: the tree (pid, parent, group, session,
//! state, start time), signal dispositions and command lines.
//!
//! Parsers take captured text so they are tested without a kernel; readers
//! treat a process vanishing mid-read as the ordinary event it is.

use std::fs;
use std::io;

use crate::signals::Signal;

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

pub fn parse_dispositions(status: &str) -> Option<Dispositions> {
    let field = |name: &str| -> Option<u64> {
        let value = status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?;
        u64::from_str_radix(value.trim(), 16).ok()
    };
    Some(Dispositions {
        blocked: field("SigBlk")?,
        ignored: field("SigIgn")?,
        caught: field("SigCgt")?,
    })
}

/// The command line from /proc/PID/cmdline: NUL-separated arguments joined
/// by spaces. Empty for kernel threads and zombies.
pub fn parse_cmdline(raw: &[u8]) -> String {
    let trimmed = raw.strip_suffix(&[0]).unwrap_or(raw);
    String::from_utf8_lossy(trimmed).replace('\0', " ")
}

pub fn read_stat(pid: i32) -> io::Result<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed stat"))
}

pub fn read_dispositions(pid: i32) -> io::Result<Dispositions> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_dispositions(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed status"))
}

/// The command line, or the kernel's name in brackets when there is none.
pub fn read_command(pid: i32, comm: &str) -> String {
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) if !raw.is_empty() => parse_cmdline(&raw),
        _ => format!("[{comm}]"),
    }
}

/// Every process (thread-group leader) listed in /proc.
pub fn list_pids() -> io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// Whether /proc shows grace's own PID namespace (it may be the host's, or
/// not mounted): its `self` link must name grace's own pid.
pub fn shows_own_namespace() -> bool {
    fs::read_link("/proc/self")
        .ok()
        .and_then(|target| target.to_str()?.parse::<u32>().ok())
        == Some(std::process::id())
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
    fn joins_command_lines() {
        assert_eq!(parse_cmdline(b"sh\0-c\0sleep 5\0"), "sh -c sleep 5");
        assert_eq!(parse_cmdline(b""), "");
        assert_eq!(parse_cmdline(b"no-nul"), "no-nul");
    }
}
