//! What an option's value means: the value types of `Config`, the parsers
//! that turn a word into them, and how a value reaches its setting
//! (`Input`: one typed word, a whole variable, or a bare flag).
//!
//! Every parser says what it expected in its error; the caller adds which
//! option or variable it came from.

use core::str;
use core::time::Duration;

use crate::base::prelude::*;

use super::lexer::quoted;
use crate::base::signals::{self, Signal, SignalSet};

/// Longer durations are certainly typos, and would overflow clock arithmetic
/// long before they made sense.
const MAX_DURATION: Duration = Duration::from_secs(100 * 24 * 3600);

/// Who is signalled first when stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOrder {
    /// Everyone at once.
    All,
    /// The main process first; the rest once it exited or at half the
    /// grace period, for masters that stop their own workers.
    MainFirst,
    /// The order of `init::order` (issue 20): the main process first, then
    /// each process once those it waits for (its parent, its clients, the
    /// main process) exited, or at half the grace period.
    Auto,
}

/// Where forwarded signals go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardTo {
    /// The command's process only.
    Child,
    /// The command's process group (the command leads its own group).
    Group,
}

/// `--rewrite FROM:TO`: a received FROM is passed on as TO; no TO (0)
/// drops FROM altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub from: Signal,
    pub to: Option<Signal>,
}

// ---------------------------------------------------------------------------
// How a value reaches its setting
// ---------------------------------------------------------------------------

/// A value for one setting, as it came.
pub enum Input {
    /// A flag on the command line, without a value.
    Flag,
    /// A value typed on the command line: one more item of a repeatable
    /// option.
    Typed(Vec<u8>),
    /// An environment variable's value: a whole comma-separated list, or a
    /// flag's truth value.
    Variable(Vec<u8>),
}

impl Input {
    fn text(&self) -> Result<&str, String> {
        match self {
            Input::Flag => Err("a value is missing".into()),
            Input::Typed(bytes) | Input::Variable(bytes) => str::from_utf8(bytes)
                .map_err(|_| format!("invalid value {}: not UTF-8", quoted(bytes))),
        }
    }
}

/// A path: any UTF-8 but the empty one.
pub fn parse_path(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the path is empty".into());
    }
    Ok(text.to_string())
}

// The kinds of setting the option table names (`parse: one(...)`): each
// stores an `Input` into its slot of one layer.

/// One value; a later one replaces it.
pub fn one<T>(
    slot: &mut Option<T>,
    input: Input,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    *slot = Some(parse(input.text()?)?);
    Ok(())
}

/// A repeatable option: each typed value adds an item, a variable gives
/// the whole list.
pub fn list<T>(
    slot: &mut Option<Vec<T>>,
    input: Input,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), String> {
    let text = input.text()?;
    if let Input::Variable(_) = input {
        // A loop, not a collect into a Result: less code per item type.
        let mut items = Vec::new();
        for item in text.split(',') {
            items.push(parse(item.trim())?);
        }
        *slot = Some(items);
    } else {
        slot.get_or_insert_with(Vec::new).push(parse(text)?);
    }
    Ok(())
}

/// An on/off flag: set on the command line, a truth value in a variable.
pub fn flag(slot: &mut Option<bool>, input: Input) -> Result<(), String> {
    *slot = Some(match input {
        Input::Flag => true,
        _ => parse_bool(input.text()?)?,
    });
    Ok(())
}

/// A flag that counts (`-vv`): one more each time on the command line, the
/// number in a variable.
pub fn count(slot: &mut Option<u8>, input: Input) -> Result<(), String> {
    *slot = Some(match input {
        Input::Flag => slot.unwrap_or(0).saturating_add(1),
        _ => {
            let text = input.text()?;
            text.parse::<u8>()
                .map_err(|_| format!("invalid level '{text}': expected a number from 0 to 255"))?
        }
    });
    Ok(())
}

/// Raw bytes, passed on as they are (a shell command need not be UTF-8).
pub fn bytes(slot: &mut Option<Vec<u8>>, input: Input) -> Result<(), String> {
    match input {
        Input::Flag => Err("a value is missing".into()),
        Input::Typed(bytes) | Input::Variable(bytes) => {
            *slot = Some(bytes);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------

/// SIGKILL and SIGSTOP never reach grace, and SIGCHLD is grace's own (it
/// reaps on it): a rule or a stop that waits for one of them would never
/// happen, so it is refused rather than accepted silently.
const NEVER_ACTED_ON: SignalSet = SignalSet::EMPTY
    .with(signals::SIGKILL)
    .with(signals::SIGSTOP)
    .with(signals::SIGCHLD);

/// `signal`, unless grace never acts on receiving it: then why not, after
/// what would not happen (`is never passed on`).
fn acted_on(signal: Signal, would_not: &str) -> Result<Signal, String> {
    if NEVER_ACTED_ON.contains(signal) {
        return Err(format!(
            "{signal} {would_not} (grace cannot catch it, or reaps on it)"
        ));
    }
    Ok(signal)
}

pub fn parse_signal(text: &str) -> Result<Signal, String> {
    text.parse::<Signal>().map_err(|error| error.to_string())
}

/// `TERM,INT,QUIT`: at least one signal, each in any accepted form.
pub fn parse_signal_list(text: &str) -> Result<SignalSet, String> {
    text.split(',').try_fold(SignalSet::EMPTY, |set, name| {
        Ok(set.with(parse_signal(name.trim())?))
    })
}

/// `--stop-on`: a signal list, each one a signal grace acts on.
pub fn stop_on(text: &str) -> Result<SignalSet, String> {
    let set = parse_signal_list(text)?;
    for signal in set.iter() {
        acted_on(signal, "can never start a stop")?;
    }
    Ok(set)
}

/// `--stop-signal`: a signal that can end a process. SIGKILL can (a stop
/// with no time to finish, if that is what is asked for); SIGSTOP is undone
/// by the SIGCONT sent after it, and SIGCHLD is ignored by default.
pub fn stop_signal(text: &str) -> Result<Signal, String> {
    let signal = parse_signal(text)?;
    if signal == signals::SIGSTOP {
        return Err(format!(
            "{signal} cannot stop a process: the SIGCONT sent after it resumes it"
        ));
    }
    if signal == signals::SIGCHLD {
        return Err(format!(
            "{signal} cannot stop a process: it is ignored unless handled, and means that a \
             child changed state"
        ));
    }
    Ok(signal)
}

/// One of two words, each naming a value.
fn either<T>(text: &str, [(first, a), (second, b)]: [(&str, T); 2]) -> Result<T, String> {
    match text {
        _ if text == first => Ok(a),
        _ if text == second => Ok(b),
        other => Err(format!(
            "invalid value '{other}': expected {first} or {second}"
        )),
    }
}

pub fn stop_order(text: &str) -> Result<StopOrder, String> {
    if text == "auto" {
        return Ok(StopOrder::Auto);
    }
    either(
        text,
        [
            ("all", StopOrder::All),
            ("main-first", StopOrder::MainFirst),
        ],
    )
    .map_err(|error| format!("{error} or auto"))
}

pub fn forward_to(text: &str) -> Result<ForwardTo, String> {
    either(
        text,
        [("child", ForwardTo::Child), ("group", ForwardTo::Group)],
    )
}

/// `--services`: service names, separated by commas (which of them the
/// file declares is the services file's check).
pub fn service_names(text: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for name in text.split(',').map(str::trim) {
        if !name.is_empty() {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err("no service named: expected NAME[,NAME...]".into());
    }
    Ok(names)
}

pub fn parse_code(text: &str) -> Result<u8, String> {
    text.parse::<u8>()
        .map_err(|_| format!("invalid exit code '{text}': expected a number from 0 to 255"))
}

/// A truth value in any case: 1, true, yes or on; 0, false, no or off
/// (supervisord's words too, for `grace import`); None for anything else.
pub fn truth(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    truth(text).ok_or_else(|| {
        format!("invalid value '{text}': expected 1, true, yes or on (0, false, no or off)")
    })
}

/// `FROM:TO` for grace's own `--rewrite`: signals in any accepted form; TO
/// may be 0 (drop). FROM cannot be a signal grace never passes on.
pub fn parse_rewrite(text: &str) -> Result<Rewrite, String> {
    let error =
        || format!("invalid rewrite '{text}': expected FROM:TO, such as TERM:QUIT or USR1:0");
    let (from, to) = text.split_once(':').ok_or_else(error)?;
    let from = acted_on(parse_signal(from.trim())?, "is never passed on")
        .map_err(|why| format!("invalid rewrite '{text}': {why}"))?;
    let to = match to.trim() {
        "0" => None,
        other => Some(parse_signal(other)?),
    };
    Ok(Rewrite { from, to })
}

/// `500ms`, `9s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = || {
        format!(
            "invalid duration '{text}': expected a number with a unit, such as 500ms, 9s, 1.5s, 2m or 1h"
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_nanos: u128 = match unit {
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(error()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error());
    }
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole) || !digits_only(fraction) || fraction.len() > 9 {
        return Err(error());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| error())?
    };
    let fraction_nanos: u128 = if fraction.is_empty() {
        0
    } else {
        let value: u128 = fraction.parse().map_err(|_| error())?;
        value * unit_nanos / 10u128.pow(fraction.len() as u32)
    };
    let nanos = whole
        .checked_mul(unit_nanos)
        .and_then(|n| n.checked_add(fraction_nanos))
        .ok_or_else(error)?;
    if nanos > MAX_DURATION.as_nanos() {
        return Err(format!("duration '{text}' is longer than 100 days"));
    }
    Ok(Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::{refused_by, rule};

    #[test]
    fn parses_durations() {
        let ok = |text: &str| parse_duration(text).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("9s"), Duration::from_secs(9));
        assert_eq!(ok("9"), Duration::from_secs(9));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".25s"), Duration::from_millis(250));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("0.001ms"), Duration::from_nanos(1000));
        assert_eq!(ok("2400h"), Duration::from_secs(2400 * 3600));
        refused_by(
            parse_duration,
            &[
                "",
                "s",
                "ms",
                ".",
                "1.2.3s",
                "-1s",
                "1 s",
                "1sec",
                "1d",
                "5x",
                "1e3",
                "2401h",
                "99999999999999999999999999999999999999999999s",
                "1.0000000001s",
                "+1s",
            ],
        );
    }

    #[test]
    fn parses_signal_lists() {
        assert_eq!(parse_signal_list("TERM").unwrap().bits(), 1 << 14);
        assert_eq!(
            parse_signal_list("TERM,INT,RTMIN").unwrap().bits(),
            1 << 14 | 1 << 1 | 1 << 33
        );
        assert!(parse_signal_list("").is_err());
        assert!(parse_signal_list("TERM,").is_err());
        assert!(parse_signal_list("TERM,NOPE").is_err());
    }

    #[test]
    fn parses_rewrites() {
        assert_eq!(parse_rewrite("SIGTERM:3"), Ok(rule(15, 3)));
        assert_eq!(parse_rewrite("RTMIN+1:0"), Ok(rule(35, 0)));
        refused_by(
            parse_rewrite,
            &[
                "",
                "TERM",
                "TERM:",
                ":QUIT",
                "KILL:TERM",
                "CHLD:TERM",
                "STOP:0",
                "TERM:NOPE",
                "TERM:QUIT:INT",
            ],
        );
    }

    #[test]
    fn refuses_stop_signals_that_cannot_work() {
        let set = |text: &str| stop_on(text).map(SignalSet::bits);
        assert_eq!(set("TERM,INT"), Ok(1 << 14 | 1 << 1));
        assert_eq!(set("QUIT,RTMIN+3"), Ok(1 << 2 | 1 << 36));
        refused_by(
            stop_on,
            &["KILL", "SIGSTOP", "chld", "TERM,9", "CLD", "TERM,NOPE", ""],
        );
        let message = stop_on("TERM,KILL").unwrap_err();
        assert!(message.contains("SIGKILL"), "{message}");

        for good in ["TERM", "KILL", "QUIT", "USR1", "RTMAX"] {
            assert!(stop_signal(good).is_ok(), "{good:?}");
        }
        refused_by(stop_signal, &["STOP", "19", "CHLD", "sigcld", "NOPE"]);
    }
}
