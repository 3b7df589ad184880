//! The command line split into options and values: `-abc` clusters,
//! `--name=value`, `--`, and the first word that is not an option, after
//! which everything is the command's, untouched. Which options exist is the
//! parsers' business (the personalities, `inspect`); this only splits.

use core::mem;
use core::str;

use crate::base::prelude::*;

use super::UsageError;

/// One item of a command line: `-x`, `--name`, or a word that is not an
/// option (after `--`, anything).
#[derive(Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    Short(char),
    Long(&'a str),
    Value(Vec<u8>),
}

pub use Arg::{Long, Short, Value};

impl Arg<'_> {
    /// The error for an item the parser has no use for.
    pub fn unexpected(self) -> UsageError {
        match self {
            Short(short) => UsageError::new(format!("invalid option '-{short}'")),
            Long(long) => UsageError::new(format!("invalid option '--{long}'")),
            Value(value) => UsageError::new(format!("unexpected argument {}", quoted(&value))),
        }
    }
}

/// A word for a message, as Rust's debug format shows a string: in double
/// quotes, escaped, and bytes that are not UTF-8 as `\xFF`.
pub fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for letter in chunk.valid().chars() {
            match letter {
                '\'' => out.push(letter),
                _ => out.extend(letter.escape_debug()),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out.push('"');
    out
}

/// The command line as options and values, for the parsers of the
/// personalities and of `inspect`. Options come first; a value ends them,
/// and the parser takes the rest untouched with `raw_args`.
pub struct Tokens {
    /// The arguments not yet looked at, last first (so that taking one is a
    /// pop).
    rest: Vec<Vec<u8>>,
    /// `-abc` while its letters are being read, and where the next one is.
    shorts: Option<(Vec<u8>, usize)>,
    /// The `value` of `--name=value`: the option must take it, or it is an
    /// error at the next item.
    attached: Option<Vec<u8>>,
    /// The last option as typed (`-p`, `--name`), for messages; `Long`
    /// borrows its name from here.
    last: String,
    /// After `--`: every word is a value.
    only_values: bool,
}

impl Tokens {
    pub fn new(mut args: Vec<Vec<u8>>) -> Self {
        args.reverse();
        Tokens {
            rest: args,
            shorts: None,
            attached: None,
            last: String::new(),
            only_values: false,
        }
    }

    pub fn next(&mut self) -> Result<Option<Arg<'_>>, UsageError> {
        if let Some(value) = self.attached.take() {
            return Err(self.unwanted_value(&value));
        }
        if let Some((word, at)) = self.shorts.take()
            && at < word.len()
        {
            // `-s=x`: a value for a flag. (A lone `-=` is option `=`.)
            if word[at] == b'=' && at > 1 {
                return Err(self.unwanted_value(&word[at + 1..]));
            }
            let (letter, len) = first_char(&word[at..]);
            self.shorts = Some((word, at + len));
            // Pushed rather than formatted: less code, and no new String.
            self.last.clear();
            self.last.push('-');
            self.last.push(letter);
            return Ok(Some(Short(letter)));
        }
        let Some(word) = self.rest.pop() else {
            return Ok(None);
        };
        if self.only_values {
            return Ok(Some(Value(word)));
        }
        if word == b"--" {
            self.only_values = true;
            return self.next();
        }
        if let Some(name) = word.strip_prefix(b"--") {
            let name = match name.iter().position(|&b| b == b'=') {
                Some(equals) => {
                    self.attached = Some(name[equals + 1..].to_vec());
                    &name[..equals]
                }
                None => name,
            };
            self.last.clear();
            self.last.push_str("--");
            self.last.push_str(&String::from_utf8_lossy(name));
            return Ok(Some(Long(&self.last[2..])));
        }
        if word.len() > 1 && word[0] == b'-' {
            self.shorts = Some((word, 1));
            return self.next();
        }
        Ok(Some(Value(word)))
    }

    /// The value of the option just returned: the rest of `-pVALUE` (or
    /// `-p=VALUE`), `--name=VALUE`'s, or else the next argument whatever
    /// it looks like.
    pub fn value(&mut self) -> Result<Vec<u8>, UsageError> {
        if let Some(value) = self.attached.take() {
            return Ok(value);
        }
        if let Some((mut word, mut at)) = self.shorts.take()
            && at < word.len()
        {
            if word[at] == b'=' {
                at += 1;
            }
            word.drain(..at);
            return Ok(word);
        }
        self.rest
            .pop()
            .ok_or_else(|| UsageError::new(format!("missing argument for option '{}'", self.last)))
    }

    /// Everything after the value just returned, untouched.
    pub fn raw_args(&mut self) -> Vec<Vec<u8>> {
        let mut rest = mem::take(&mut self.rest);
        rest.reverse();
        rest
    }

    fn unwanted_value(&self, value: &[u8]) -> UsageError {
        UsageError::new(format!(
            "unexpected argument for option '{}': {}",
            self.last,
            quoted(value)
        ))
    }
}

/// The first character of a short option cluster's rest and its length in
/// bytes; a byte that does not start valid UTF-8 is U+FFFD, so that it can
/// be refused as an option like any other.
fn first_char(bytes: &[u8]) -> (char, usize) {
    // No character is longer than 4 bytes.
    let head = &bytes[..bytes.len().min(4)];
    let valid = match str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    match valid.chars().next() {
        Some(letter) => (letter, letter.len_utf8()),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::testing::*;
    use crate::cli::{Invocation, parse};

    #[test]
    fn command_and_its_flags_pass_through_untouched() {
        let c = config(&["-v", "--", "ls", "-v", "--grace", "3", "--"]);
        assert_eq!(c.command, b"ls");
        assert_eq!(c.args, os_all(&["-v", "--grace", "3", "--"]));
        assert_eq!(c.verbose, 1);

        let c = config(&["ls", "-s", "--help"]);
        assert_eq!(c.command, b"ls");
        assert_eq!(c.args, os_all(&["-s", "--help"]));
        assert!(!c.subreaper);
    }

    #[test]
    fn non_utf8_arguments_survive() {
        let raw = vec![b'a', 0xff, b'b'];
        let parsed = parse([os("--"), b"echo".to_vec(), raw.clone()]);
        match parsed {
            Ok(Invocation::Init(c)) => assert_eq!(c.args, [raw]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_are_attached_or_the_next_word_whatever_it_looks_like() {
        for words in [
            &["-pTERM", "x"][..],
            &["-p=TERM", "x"],
            &["-p", "TERM", "x"],
            &["-sp", "TERM", "x"],
            &["-spTERM", "x"],
            &["--pdeathsig=TERM", "x"],
            &["--pdeathsig", "TERM", "x"],
        ] {
            let c = config(words);
            assert_eq!(c.parent_death_signal, Some(signals::SIGTERM), "{words:?}");
            assert_eq!(c.command, b"x", "{words:?}");
        }
        assert!(config(&["-sp", "TERM", "x"]).subreaper);
        assert_eq!(
            config(&["--pre-stop", "-v", "cmd"]).pre_stop,
            Some(os("-v"))
        );
        assert_eq!(config(&["--pre-stop=", "cmd"]).pre_stop, Some(os("")));
        assert_eq!(config(&["-vvv", "-qv", "cmd"]).verbose, 4);
        // A lone - is a word, not an option; after --, so is anything.
        let c = config(&["-v", "-", "-v"]);
        assert_eq!(
            (c.command, c.args, c.verbose),
            (os("-"), os_all(&["-v"]), 1)
        );
        let c = config(&["--", "-v", "--"]);
        assert_eq!(
            (c.command, c.args, c.verbose),
            (os("-v"), os_all(&["--"]), 0)
        );
    }

    #[test]
    fn usage_errors_name_the_option_or_word() {
        let message = |words: &[&str]| parse_words(words).unwrap_err().message.clone();
        assert_eq!(message(&["-x", "cmd"]), "invalid option '-x'");
        assert_eq!(message(&["-vx", "cmd"]), "invalid option '-x'");
        assert_eq!(message(&["--bogus=1", "cmd"]), "invalid option '--bogus'");
        assert_eq!(
            message(&["--grace-period"]),
            "missing argument for option '--grace-period'"
        );
        assert_eq!(message(&["-vp"]), "missing argument for option '-p'");
        assert_eq!(
            message(&["--subreaper=yes", "cmd"]),
            "unexpected argument for option '--subreaper': \"yes\""
        );
        assert_eq!(
            message(&["-s=1", "cmd"]),
            "unexpected argument for option '-s': \"1\""
        );
        assert_eq!(message(&["inspect", "1", "2"]), "unexpected argument \"2\"");
        let error = parse([os("inspect"), os("1"), vec![b'a', 0xff, b'"']]).unwrap_err();
        assert_eq!(error.message, "unexpected argument \"a\\xFF\\\"\"");
        let error = parse([vec![b'-', 0xff], os("cmd")]).unwrap_err();
        assert_eq!(error.message, "invalid option '-\u{FFFD}'");
    }
}
