//! Signal numbers, their names, sets of them, and which ones grace passes on.
//!
//! Names follow what Docker, systemd and bash accept: `TERM`, `SIGTERM`,
//! `sigterm`, `15`, `RTMIN+3`, `SIGRTMAX-1`. Real-time numbering uses
//! SIGRTMIN = 34 like glibc and Docker, whatever libc grace itself is built
//! with (musl reserves one more), so a name means the same number everywhere.

use core::fmt;

use crate::base::prelude::*;

pub const FIRST: i32 = 1;
pub const LAST: i32 = 64;
pub const RTMIN: i32 = 34;
pub const RTMAX: i32 = 64;

pub const SIGHUP: Signal = Signal(1);
pub const SIGINT: Signal = Signal(2);
pub const SIGKILL: Signal = Signal(9);
pub const SIGPIPE: Signal = Signal(13);
pub const SIGTERM: Signal = Signal(15);
pub const SIGCHLD: Signal = Signal(17);
pub const SIGCONT: Signal = Signal(18);
pub const SIGSTOP: Signal = Signal(19);
pub const SIGTSTP: Signal = Signal(20);
pub const SIGTTIN: Signal = Signal(21);
pub const SIGTTOU: Signal = Signal(22);

/// Standard signal names on Linux x86-64, indexed by number.
const NAMES: [(&str, i32); 34] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
    // Aliases come after the canonical names so that formatting finds those.
    ("IOT", 6),
    ("CLD", 17),
    ("POLL", 29),
];

/// A valid Linux signal number, 1 to 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(i32);

impl Signal {
    pub fn new(number: i32) -> Option<Self> {
        (FIRST..=LAST).contains(&number).then_some(Self(number))
    }

    pub fn number(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.0;
        if let Some((name, _)) = NAMES.iter().find(|(_, n)| *n == number) {
            return write!(f, "SIG{name}");
        }
        match number {
            RTMIN => f.write_str("SIGRTMIN"),
            RTMAX => f.write_str("SIGRTMAX"),
            n if n > RTMIN && n - RTMIN <= RTMAX - n => write!(f, "SIGRTMIN+{}", n - RTMIN),
            n if n > RTMIN => write!(f, "SIGRTMAX-{}", RTMAX - n),
            n => write!(f, "SIG{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalParseError(String);

impl fmt::Display for SignalParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid signal '{}': expected a name (TERM, SIGTERM, sigterm), \
             a number from 1 to 64, or RTMIN+N / RTMAX-N",
            self.0
        )
    }
}

impl core::str::FromStr for Signal {
    type Err = SignalParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || SignalParseError(text.to_string());
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            let number = name.parse::<i32>().map_err(|_| error())?;
            return Signal::new(number).ok_or_else(error);
        }
        if let Some(&(_, number)) = NAMES.iter().find(|(n, _)| *n == name) {
            return Ok(Signal(number));
        }
        let realtime = |base: i32, rest: &str, sign: i32| -> Option<Signal> {
            let offset = if rest.is_empty() {
                0
            } else {
                let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                digits.parse::<i32>().ok()?
            };
            let number = base.checked_add(sign.checked_mul(offset)?)?;
            (RTMIN..=RTMAX).contains(&number).then_some(Signal(number))
        };
        if let Some(rest) = name.strip_prefix("RTMIN") {
            return realtime(RTMIN, rest, 1).ok_or_else(error);
        }
        if let Some(rest) = name.strip_prefix("RTMAX") {
            return realtime(RTMAX, rest, -1).ok_or_else(error);
        }
        Err(error())
    }
}

/// A set of signals in the kernel's layout: bit `n - 1` is signal `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalSet(u64);

impl SignalSet {
    pub const EMPTY: SignalSet = SignalSet(0);
    pub const ALL: SignalSet = SignalSet(u64::MAX);

    pub fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    pub const fn with(self, signal: Signal) -> Self {
        Self(self.0 | 1 << (signal.0 - 1))
    }

    pub const fn contains(self, signal: Signal) -> bool {
        self.0 & (1 << (signal.0 - 1)) != 0
    }

    /// The signals in the set, lowest first.
    /// The members in increasing order; only set bits are visited, so an
    /// empty set (the usual case in the event loop) costs nothing.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        let mut remaining = self.bits();
        core::iter::from_fn(move || {
            if remaining == 0 {
                return None;
            }
            let bit = remaining.trailing_zeros();
            remaining &= remaining - 1;
            Some(Signal(bit as i32 + FIRST))
        })
    }
}

/// Whether grace passes `signal` on to the command. SIGCHLD is grace's own
/// business (reaping), and the terminal stop signals would only stop a
/// process that has no terminal of its own to resume it from; everything
/// else, real-time signals included, is forwarded.
pub fn is_forwarded(signal: Signal) -> bool {
    const KEPT: SignalSet = SignalSet::EMPTY
        .with(SIGKILL)
        .with(SIGCHLD)
        .with(SIGSTOP)
        .with(SIGTSTP)
        .with(SIGTTIN)
        .with(SIGTTOU);
    !KEPT.contains(signal)
}

/// SIGTSTP, SIGTTIN and SIGTTOU: the terminal's job-control stops, kept
/// by grace unless a rewrite or the dumb-init personality says otherwise.
pub fn is_terminal_stop(signal: Signal) -> bool {
    [SIGTSTP, SIGTTIN, SIGTTOU].contains(&signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> impl Iterator<Item = Signal> {
        (FIRST..=LAST).map(Signal)
    }

    fn parse(text: &str) -> Option<i32> {
        text.parse::<Signal>().ok().map(Signal::number)
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(parse("TERM"), Some(15));
        assert_eq!(parse("SIGTERM"), Some(15));
        assert_eq!(parse("sigterm"), Some(15));
        assert_eq!(parse("SigTerm"), Some(15));
        assert_eq!(parse("15"), Some(15));
        assert_eq!(parse("RTMIN"), Some(34));
        assert_eq!(parse("RTMIN+3"), Some(37));
        assert_eq!(parse("SIGRTMIN+3"), Some(37));
        assert_eq!(parse("sigrtmax-1"), Some(63));
        assert_eq!(parse("RTMAX"), Some(64));
        assert_eq!(parse("RTMIN+30"), Some(64));
        assert_eq!(parse("RTMAX-30"), Some(34));
        assert_eq!(parse("IOT"), Some(6));
        assert_eq!(parse("CLD"), Some(17));
        assert_eq!(parse("1"), Some(1));
        assert_eq!(parse("64"), Some(64));
        assert_eq!(parse("32"), Some(32));
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            "",
            "0",
            "65",
            "-1",
            "+15",
            "SIG",
            "TERMX",
            "SIGSIGTERM",
            "RTMIN+",
            "RTMIN-1",
            "RTMAX+1",
            "RTMIN+31",
            "RTMAX-31",
            "RTMIN+-1",
            "RTMIN+ 1",
            "RTMIN3",
            "1.5",
            "99999999999",
            "RTMIN+99999999999",
            " TERM",
            "TERM ",
            "ＴERM",
        ] {
            assert_eq!(parse(text), None, "{text:?} must be rejected");
        }
    }

    #[test]
    fn error_lists_the_accepted_forms() {
        let message = "TERMX".parse::<Signal>().unwrap_err().to_string();
        assert!(message.contains("'TERMX'"));
        assert!(message.contains("SIGTERM") && message.contains("RTMIN+N"));
    }

    #[test]
    fn names_round_trip_for_every_signal() {
        for signal in all() {
            let name = signal.to_string();
            assert_eq!(name.parse::<Signal>(), Ok(signal), "{name}");
        }
        assert_eq!(SIGTERM.to_string(), "SIGTERM");
        assert_eq!(Signal(37).to_string(), "SIGRTMIN+3");
        assert_eq!(Signal(63).to_string(), "SIGRTMAX-1");
        assert_eq!(Signal(6).to_string(), "SIGABRT");
    }

    #[test]
    fn set_uses_the_kernel_bit_layout() {
        let set = SignalSet::EMPTY
            .with(Signal(1))
            .with(SIGTERM)
            .with(Signal(64));
        assert_eq!(set.bits(), 1 | 1 << 14 | 1 << 63);
    }

    #[test]
    fn forwards_all_but_reaping_and_terminal_stops() {
        let kept: Vec<i32> = all()
            .filter(|&s| !is_forwarded(s))
            .map(Signal::number)
            .collect();
        assert_eq!(kept, [9, 17, 19, 20, 21, 22]);
    }

    #[test]
    fn a_set_lists_its_members_in_order() {
        let set = [64, 1, 15, 34]
            .into_iter()
            .filter_map(Signal::new)
            .fold(SignalSet::EMPTY, SignalSet::with);
        let members: Vec<i32> = set.iter().map(Signal::number).collect();
        assert_eq!(members, [1, 15, 34, 64]);
        assert_eq!(SignalSet::EMPTY.iter().count(), 0);
        assert_eq!(SignalSet::ALL.iter().count(), 64);
    }
}
