//! The services file's format and every check on it, before anything
//! starts. `tree` reads the file into its document tree (every key and
//! value with its span), whose shape is checked here by hand, as serde
//! would have: a key no table has is an error, not ignored, so that a
//! misspelt key is never a default; then the checks read the tree itself. Values are read by grace's own parsers
//! (`cli::parse_duration`, `cli::stop_signal`, `UserSpec`), so that a
//! duration or a signal means the same here as on the command line.
//!
//! A refusal is one `Error`: the line, the dotted key
//! (`service.app.after`) and what is wrong, for
//! `grace: error: FILE:LINE: KEY: MESSAGE`. Lines come from the spans of
//! the tree: every error has the span of what it is about (a syntax error,
//! a key, a value, an item of an array), and its key is the one written
//! there.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::Range;
use core::time::Duration;

use crate::base::prelude::*;

use super::command;
use super::container::{Container, describe};
use super::graph::{self, Order, Problem};
use super::model::{
    DEFAULT_MAX_RESTARTS, DEFAULT_PROBE_INTERVAL, DEFAULT_START_TIMEOUT, Ending, Kind, Probe,
    Ready, Restart, Service, Services, TcpAddress, User,
};
use super::tree::{self, Table, Value as Node};
use super::variables;
use crate::base::signals;
use crate::cli;
use crate::process::user::{self, UserSpec};

/// A file grace refuses, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// From 1; None when the file as a whole is wrong.
    pub line: Option<usize>,
    /// The dotted key the problem is about; empty when it is about none
    /// (a syntax error between keys).
    pub key: String,
    pub message: String,
}

impl Error {
    /// `FILE:LINE: KEY: MESSAGE`, the parts that are known.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::from(file);
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
        }
        if !self.key.is_empty() {
            out.push_str(": ");
            out.push_str(&self.key);
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }
}

// ---------------------------------------------------------------------------
// The file's shape
// ---------------------------------------------------------------------------

// What serde's derive did, by hand (its generated code was 86 KB of the
// static binary; issue 14 asks for 450 KB in all): every key one that its
// table has, every value of its key's type, in the tree's (sorted) key order,
// in serde's words. Nothing is built here: the checks below read the tree
// itself, knowing its shape.

const READY_EXPECTED: &str =
    "\"notify\", { fd = N }, { exec = [PROGRAM, ARG...] } or { tcp = \"HOST:PORT\" }";

/// The keys of each table, for `unknown field` (in the order of the
/// documentation).
const FILE_KEYS: &str = "`grace_period` or `service`";
const SERVICE_KEYS: &str = "one of `command`, `ready`, `stop_signal`, `stop_timeout`, \
     `type`, `stop_command`, `start_timeout`, `after`, `restart`, `max_restarts`, `essential`, \
     `restart_delay`, `restart_max_delay`, `success_exit_codes`, `user`, `environment`, `env_file`, \
     `working_directory`, `enabled`";
const READY_KEYS: &str = "one of `fd`, `exec`, `interval`, `tcp`";
const RESTART_VALUES: &str = "one of `no`, `on-failure`, `always`";
const TYPE_VALUES: &str = "one of `longrun`, `oneshot`";

/// A value of the wrong type, or a key that does not belong: where, and
/// what is wrong. Boxed: one word in every `Shaped` result.
struct Flaw(Box<(Range<usize>, String)>);

fn flaw(span: Range<usize>, message: String) -> Flaw {
    Flaw(Box::new((span, message)))
}

type Shaped<T> = Result<T, Flaw>;

type Value<'i> = tree::Item<'i>;

type Key<'i> = tree::Key<'i>;

fn unknown_key(key: &Key<'_>, expected: &str) -> Flaw {
    flaw(
        key.span(),
        format!("unknown field `{}`, expected {expected}", key.get_ref()),
    )
}

/// The ranges of the integer types the file has, for `Document::integer`.
const U8: (i64, i64) = (0, u8::MAX as i64);
const U32: (i64, i64) = (0, u32::MAX as i64);
const I64: (i64, i64) = (i64::MIN, i64::MAX);

/// An integer that fits an i64, as serde took it (a larger one is
/// reported as written).
fn integer(digits: &str, radix: u32) -> Option<i64> {
    i64::from_str_radix(digits, radix).ok()
}

impl<'i> Document<'i> {
    fn shape(&self) -> Shaped<()> {
        for (key, value) in self.root.iter() {
            match key.get_ref().as_ref() {
                "grace_period" => self.string(value)?,
                "service" => {
                    for (_, service) in self.table(value)?.iter() {
                        self.service_shape(service)?;
                    }
                }
                _ => return Err(unknown_key(key, FILE_KEYS)),
            }
        }
        Ok(())
    }

    fn service_shape(&self, value: &Value<'i>) -> Shaped<()> {
        let table = self.table(value)?;
        for (key, value) in table.iter() {
            match key.get_ref().as_ref() {
                "command" | "after" | "env_file" | "stop_command" => self.strings(value)?,
                "enabled" | "essential" => {
                    if value.get_ref().as_bool().is_none() {
                        return Err(self.wrong_type(value, "a boolean"));
                    }
                }
                "ready" => self.ready_shape(value)?,
                "stop_signal" | "stop_timeout" | "start_timeout" | "user" | "working_directory"
                | "restart_delay" | "restart_max_delay" => {
                    self.string(value)?;
                }
                "restart" => {
                    self.restart(value)?;
                }
                "type" => {
                    self.service_type(value)?;
                }
                "max_restarts" => {
                    self.integer(value, "u32", U32)?;
                }
                "success_exit_codes" => match value.get_ref().as_array() {
                    Some(codes) if !codes.is_empty() => {
                        for code in codes {
                            self.integer(code, "an exit code from 0 to 255", U8)?;
                        }
                    }
                    _ => return Err(self.wrong_type(value, "a non-empty array of exit codes")),
                },
                "environment" => {
                    for (_, text) in self.table(value)?.iter() {
                        self.string(text)?;
                    }
                }
                _ => return Err(unknown_key(key, SERVICE_KEYS)),
            }
        }
        if table.get("command").is_none() {
            return Err(flaw(value.span(), "missing field `command`".to_string()));
        }
        Ok(())
    }

    /// `ready`: a word (`"notify"`) or a table (`{ fd = 3 }`, ...).
    fn ready_shape(&self, value: &Value<'i>) -> Shaped<()> {
        let table = match value.get_ref() {
            Node::String(_) => return Ok(()),
            Node::Table(table) => table,
            _ => return Err(self.wrong_type(value, READY_EXPECTED)),
        };
        for (key, value) in table.iter() {
            match key.get_ref().as_ref() {
                "fd" => {
                    self.integer(value, "i64", I64)?;
                }
                "exec" => self.strings(value)?,
                "interval" | "tcp" => self.string(value)?,
                _ => return Err(unknown_key(key, READY_KEYS)),
            }
        }
        Ok(())
    }

    /// One of `names`, as written: its index.
    fn word(&self, value: &Value<'i>, names: &[&str], expected: &str) -> Shaped<usize> {
        let Node::String(word) = value.get_ref() else {
            return Err(self.wrong_type(value, expected));
        };
        names.iter().position(|name| name == word).ok_or_else(|| {
            flaw(
                value.span(),
                format!("unknown variant `{word}`, expected {expected}"),
            )
        })
    }

    fn restart(&self, value: &Value<'i>) -> Shaped<Restart> {
        let all = [Restart::No, Restart::OnFailure, Restart::Always];
        let at = self.word(value, &all.map(Restart::name), RESTART_VALUES)?;
        Ok(all[at])
    }

    fn service_type(&self, value: &Value<'i>) -> Shaped<Kind> {
        let at = self.word(value, &["longrun", "oneshot"], TYPE_VALUES)?;
        Ok([Kind::Longrun, Kind::Oneshot][at])
    }

    fn string(&self, value: &Value<'i>) -> Shaped<()> {
        match value.get_ref() {
            Node::String(_) => Ok(()),
            _ => Err(self.wrong_type(value, "a string")),
        }
    }

    fn strings(&self, value: &Value<'i>) -> Shaped<()> {
        match value.get_ref() {
            Node::Array(_) => items(value).iter().try_for_each(|item| self.string(item)),
            _ => Err(self.wrong_type(value, "a sequence")),
        }
    }

    fn table<'v>(&self, value: &'v Value<'i>) -> Shaped<&'v Table<'i>> {
        match value.get_ref() {
            Node::Table(table) => Ok(table),
            _ => Err(self.wrong_type(value, "a map")),
        }
    }

    /// An integer from `min` to `max`, `kind` naming its type for a
    /// message. (One function for every integer type, not one per type:
    /// the callers cast what it checked.)
    fn integer(&self, value: &Value<'i>, kind: &str, (min, max): (i64, i64)) -> Shaped<i64> {
        let Node::Integer(digits, radix) = value.get_ref() else {
            return Err(self.wrong_type(value, kind));
        };
        if let Some(n) = integer(digits, *radix).filter(|n| (min..=max).contains(n)) {
            return Ok(n);
        }
        Err(flaw(
            value.span(),
            format!("invalid value: {}, expected {kind}", self.found(value)),
        ))
    }

    /// `invalid type: FOUND, expected EXPECTED`, worded as serde words it.
    fn wrong_type(&self, value: &Value<'i>, expected: &str) -> Flaw {
        flaw(
            value.span(),
            format!("invalid type: {}, expected {expected}", self.found(value)),
        )
    }

    /// What a value is, for a message: its type, and the value when it is
    /// short.
    fn found(&self, value: &Value<'i>) -> String {
        // Numbers and dates as written: reading a float (or a date) would
        // link its parser for the sake of a message.
        let written = || self.text.get(value.span()).unwrap_or_default();
        match value.get_ref() {
            Node::String(text) => format!("string {}", crate::base::quoted::Quoted(text)),
            Node::Integer(digits, radix) => match integer(digits, *radix) {
                Some(n) => format!("integer `{n}`"),
                None => format!("integer `{}`", written()),
            },
            Node::Float => format!("floating point `{}`", written()),
            Node::Boolean(truth) => format!("boolean `{truth}`"),
            Node::Datetime => format!("datetime `{}`", written()),
            Node::Array(_) => "sequence".into(),
            Node::Table(_) => "map".into(),
        }
    }
}

/// A string value's text (of a value whose shape is checked: "" for any
/// other).
fn text<'v>(value: &'v Value<'_>) -> &'v str {
    value.get_ref().as_str().unwrap_or_default()
}

/// An array value's items (none for any other value).
fn items<'v, 'i>(value: &'v Value<'i>) -> &'v [Value<'i>] {
    value.get_ref().as_array().unwrap_or_default()
}

/// A table's entries in the order they are written (the tree keeps them
/// sorted by key).
fn in_file_order<'t, 'i>(table: &'t Table<'i>) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
    let entries: Vec<_> = table.iter().collect();
    let starts: Vec<usize> = entries.iter().map(|(key, _)| key.span().start).collect();
    file_order(&starts)
        .into_iter()
        .map(|index| entries[index])
        .collect()
}

/// The indices of `starts` by ascending start (the starts of different
/// keys differ).
fn file_order(starts: &[usize]) -> Vec<usize> {
    let sorted = ascending(starts.to_vec());
    let mut order = vec![0; starts.len()];
    for (index, start) in starts.iter().enumerate() {
        if let Ok(rank) = sorted.binary_search(start) {
            order[rank] = index;
        }
    }
    order
}

/// `values`, ascending. Through a heap, as `graph` orders services: a
/// slice sort is kilobytes of code for each type sorted.
fn ascending(values: Vec<usize>) -> Vec<usize> {
    let mut heap: BinaryHeap<Reverse<usize>> = values.into_iter().map(Reverse).collect();
    let mut sorted = Vec::with_capacity(heap.len());
    while let Some(Reverse(value)) = heap.pop() {
        sorted.push(value);
    }
    sorted
}

// ---------------------------------------------------------------------------
// Where things are written
// ---------------------------------------------------------------------------

/// The document with the span of every key and value, to point at.
struct Document<'i> {
    text: &'i str,
    /// Read with recovery, so that a syntax error is found under its key
    /// too.
    root: Table<'i>,
}

impl<'i> Document<'i> {
    /// An error about what is written at `span`.
    fn error(&self, span: Range<usize>, message: String) -> Error {
        Error {
            line: Some(self.line(&span)),
            key: self.key_at(&span),
            message,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    /// The dotted key an error reported at `span` is about: the key
    /// written there, else the deepest key whose value holds it. (A
    /// table's value can span its header, which also holds the header's
    /// keys.)
    fn key_at(&self, span: &Range<usize>) -> String {
        // A key written twice: the tree holds only the first, which is the
        // same key, so it is named by that one (the last part of what is
        // written at the span, `command` or `[service.db]`).
        let written = self.text.get(span.clone()).unwrap_or_default();
        let written = written
            .trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
        let mut found = Found::default();
        search_table(&self.root, span, written, &mut Vec::new(), &mut found);
        [found.key, found.value, found.earlier.1]
            .into_iter()
            .find(|path| !path.is_empty())
            .unwrap_or_default()
            .join(".")
    }
}

/// The line (from 1) of the byte at `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[derive(Default)]
struct Found {
    /// The deepest key whose own span holds the error's.
    key: Vec<String>,
    /// The deepest key whose value holds it.
    value: Vec<String>,
    /// The last key before it that is written as it is (where it starts).
    earlier: (usize, Vec<String>),
}

fn search_table(
    table: &Table<'_>,
    span: &Range<usize>,
    written: &str,
    path: &mut Vec<String>,
    found: &mut Found,
) {
    let holds = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    for (key, value) in table.iter() {
        path.push(key_part(key.get_ref()));
        if path.len() > found.key.len() && holds(key.span()) {
            found.key.clone_from(path);
        }
        if path.len() > found.value.len() && holds(value.span()) {
            found.value.clone_from(path);
        }
        let start = key.span().start;
        if !written.is_empty()
            && key.get_ref().as_ref() == written
            && start < span.start
            && start >= found.earlier.0
        {
            found.earlier = (start, path.clone());
        }
        search_value(value.get_ref(), span, written, path, found);
        path.pop();
    }
}

fn search_value(
    value: &Node<'_>,
    span: &Range<usize>,
    written: &str,
    path: &mut Vec<String>,
    found: &mut Found,
) {
    match value {
        Node::Table(table) => search_table(table, span, written, path, found),
        _ => {
            for item in value.as_array().unwrap_or_default() {
                search_value(item.get_ref(), span, written, path, found);
            }
        }
    }
}

/// One part of a dotted key, quoted as TOML would need it.
pub fn key_part(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return name.to_string();
    }
    basic_string(name)
}

/// `text` as a TOML basic string (`"..."`, escaped as TOML needs).
pub fn basic_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for letter in text.chars() {
        match letter {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(letter);
            }
            '\0'..='\x1f' | '\x7f' => quoted.push_str(&format!("\\u{:04X}", letter as u32)),
            _ => quoted.push(letter),
        }
    }
    quoted.push('"');
    quoted
}

// ---------------------------------------------------------------------------
// Checking it
// ---------------------------------------------------------------------------

/// The file's text, read and checked against `container`: every service
/// that is not `enabled = false`, and those they start after.
#[cfg(any(test, fuzzing))]
pub fn parse(text: &str, container: &dyn Container) -> Result<Services, Error> {
    parse_selecting(text, container, &[])
}

/// The file's text, read and checked against `container`: the services
/// named in `asked` (`--services`; none: every enabled one), and every
/// service they start after, transitively.
#[inline(never)] // Inlined into grace's main dispatch, it is a kilobyte larger.
pub fn parse_selecting(
    text: &str,
    container: &dyn Container,
    asked: &[String],
) -> Result<Services, Error> {
    // One parse, with recovery: its first error is the one a plain parse
    // stops at, and the rest of the tree still holds that error's key.
    let (root, error) = tree::parse(text);
    let document = Document { text, root };
    if let Some(tree::Error { message, span }) = error {
        return Err(match span {
            Some(span) => document.error(span, message),
            None => Error {
                line: None,
                key: String::new(),
                message,
            },
        });
    }
    document
        .shape()
        .map_err(|Flaw(flaw)| document.error(flaw.0, flaw.1))?;
    Checker {
        document: &document,
        container,
    }
    .file(asked)
    .map_err(|refusal| *refusal)
}

/// A refusal on its way out of `Checker`: one word in every result.
type Refusal = Box<Error>;

struct Checker<'d, 'i> {
    document: &'d Document<'i>,
    container: &'d dyn Container,
}

/// A service as checked, before the order is known.
struct Checked<'d, 'i> {
    service: Service,
    /// Its `after` entries.
    after: &'d [Value<'i>],
    /// `enabled`.
    enabled: bool,
}

impl<'d, 'i> Checker<'d, 'i> {
    /// An error about what is written at `span`.
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Refusal {
        self.refuse(span, message.into())
    }

    /// `error`'s body, once for every type of message.
    #[inline(never)]
    fn refuse(&self, span: Range<usize>, message: String) -> Refusal {
        Box::new(self.document.error(span, message))
    }

    fn duration(&self, value: &Value<'i>) -> Result<Duration, Refusal> {
        cli::parse_duration(text(value)).map_err(|why| self.error(value.span(), why))
    }

    fn file(&self, asked: &[String]) -> Result<Services, Refusal> {
        let root = &self.document.root;
        let grace_period = match root.get("grace_period") {
            Some(value) => Some(self.duration(value)?),
            None => None,
        };
        // In the file's order, which is the start order wherever `after`
        // does not decide.
        let entries = match root
            .get("service")
            .and_then(|value| value.get_ref().as_table())
        {
            Some(table) => in_file_order(table),
            None => Vec::new(),
        };
        if entries.is_empty() {
            return Err(Box::new(Error {
                line: None,
                key: String::new(),
                message: "no service: declare at least one [service.NAME] table".into(),
            }));
        }
        let mut checked = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            if let Some(table) = value.get_ref().as_table() {
                checked.push(self.service(name, table)?);
            }
        }
        let names: Vec<&str> = checked.iter().map(|c| c.service.name.as_str()).collect();
        let after: Vec<Vec<(&str, usize)>> = checked
            .iter()
            .map(|c| {
                let entries = c.after.iter().enumerate();
                entries.map(|(i, name)| (text(name), i)).collect()
            })
            .collect();
        let order = graph::start_order(&names, &after).map_err(|problem| {
            let (service, entry, message) = match problem {
                Problem::Unknown {
                    service,
                    site,
                    name,
                } => (service, site, format!("unknown service \"{name}\"")),
                Problem::Cycle {
                    service,
                    site,
                    cycle,
                } => {
                    let mut path = vec![names[service].to_string()];
                    path.extend(cycle.iter().map(|&i| names[i].to_string()));
                    let message = format!("dependency cycle: {}", path.join(" after "));
                    (service, site, message)
                }
            };
            self.error(checked[service].after[entry].span(), message)
        })?;
        let whole_file = |message: String| -> Refusal {
            Box::new(Error {
                line: None,
                key: String::new(),
                message,
            })
        };
        let mut roots = Vec::new();
        for name in asked {
            let Some(index) = names.iter().position(|known| known == name) else {
                return Err(whole_file(format!(
                    "unknown service \"{name}\" asked for (--services or GRACE_SERVICES): \
                     the file declares {}",
                    checked
                        .iter()
                        .map(|c| c.service.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            roots.push(index);
        }
        if asked.is_empty() {
            roots.extend((0..checked.len()).filter(|&index| checked[index].enabled));
        }
        let runs = graph::needed(roots, &order.after);
        if !runs.contains(&true) {
            return Err(whole_file(
                "no service to run: every one is enabled = false; name those to run with \
                 --services or GRACE_SERVICES"
                    .into(),
            ));
        }
        Ok(Services {
            grace_period,
            services: in_order(checked, &order, &runs),
        })
    }

    fn service(&self, key: &'d Key<'i>, table: &'d Table<'i>) -> Result<Checked<'d, 'i>, Refusal> {
        let name = key.get_ref();
        if !valid_name(name) {
            return Err(self.error(
                key.span(),
                format!(
                    "invalid service name \"{name}\": expected letters, digits, - and _ \
                     (it prefixes the service's log lines)"
                ),
            ));
        }

        // The env files first, then `environment`: a later value of a name
        // replaces an earlier one, as the service will see them.
        let mut environment: Vec<(String, String)> = Vec::new();
        let inherited = |name: &str| self.container.variable(name);
        for file in table.get("env_file").map_or(&[][..], |value| items(value)) {
            let path = text(file);
            if !path.starts_with('/') {
                return Err(self.error(
                    file.span(),
                    format!("\"{path}\": expected an absolute path"),
                ));
            }
            let contents = self.container.text(path).map_err(|code| {
                self.error(file.span(), format!("\"{path}\": {}", describe(code)))
            })?;
            let read = variables::env_file(&contents, &inherited)
                .map_err(|(line, why)| self.error(file.span(), format!("{path}:{line}: {why}")))?;
            for (name, value) in read {
                set(&mut environment, name, value);
            }
        }
        // `${VAR}` is what the env files say, else grace's environment.
        let from_files = environment.clone();
        let lookup = |name: &str| value_of(&from_files, name).or_else(|| inherited(name));
        let expand = |value: &Value<'i>| {
            variables::expand(text(value), &lookup).map_err(|why| self.error(value.span(), why))
        };

        // Relative paths are resolved here, once, from grace's own working
        // directory: the start changes into the service's directory before
        // it executes, and must find there what was checked here. (A
        // working directory without a name was removed: nothing is found
        // relative to it anyway.)
        let here = self.container.working_directory().ok();
        let working_directory = match table.get("working_directory") {
            Some(value) => {
                let written = expand(value)?;
                if written.is_empty() || written.contains('\0') {
                    return Err(self.error(value.span(), "expected a directory's path"));
                }
                let directory = command::within(here.as_deref(), &written);
                self.container.directory(&directory).map_err(|code| {
                    self.error(value.span(), format!("\"{directory}\": {}", describe(code)))
                })?;
                Some(directory)
            }
            None => None,
        };

        let mut own = Vec::new();
        if let Some(variables) = table
            .get("environment")
            .and_then(|value| value.get_ref().as_table())
        {
            for (key, value) in in_file_order(variables) {
                let variable = key.get_ref();
                if variable.is_empty() || variable.contains(['=', '\0']) {
                    return Err(self.error(
                        key.span(),
                        "invalid variable name: it cannot be empty or hold = or a NUL byte",
                    ));
                }
                if text(value).contains('\0') {
                    return Err(self.error(value.span(), "a value cannot hold a NUL byte"));
                }
                own.push((variable.to_string(), expand(value)?));
            }
        }
        for (name, value) in own {
            set(&mut environment, name, value);
        }
        // The program is looked for in the PATH the service will have.
        let search_path = value_of(&environment, "PATH").or_else(|| inherited("PATH"));
        let base = working_directory.as_deref().or(here.as_deref());
        let find = |argv: &Value<'i>| self.argv(argv, &expand, base, search_path.as_deref());

        let Some(command) = table.get("command") else {
            return Err(self.error(key.span(), "missing field `command`"));
        };
        let (command, executable) = find(command)?;

        let ready = match table.get("ready") {
            None => Ready::Spawned,
            Some(value) => match value.get_ref() {
                Node::Table(spec) => self.ready(value, spec, &find)?,
                _ if text(value) == "notify" => Ready::Notify,
                _ => {
                    return Err(self.error(
                        value.span(),
                        format!(
                            "invalid ready \"{}\": expected {READY_EXPECTED}",
                            text(value)
                        ),
                    ));
                }
            },
        };

        let stop_signal = match table.get("stop_signal") {
            Some(value) => {
                cli::stop_signal(text(value)).map_err(|why| self.error(value.span(), why))?
            }
            None => signals::SIGTERM,
        };
        let stop_timeout = match table.get("stop_timeout") {
            Some(value) => Some(self.duration(value)?),
            None => None,
        };
        let (kind, stop_command) = self.kind(table, &find)?;
        let start_timeout = match table.get("start_timeout") {
            Some(value) => self.duration(value)?,
            None => DEFAULT_START_TIMEOUT,
        };

        let user = match table.get("user") {
            Some(value) => {
                let spec: UserSpec = text(value)
                    .parse()
                    .map_err(|why: String| self.error(value.span(), why))?;
                // As for --user: the name must exist in the container, now
                // rather than when the service starts; and what it is now is
                // what every start uses.
                let credentials = user::resolve(
                    &spec,
                    &self.container.read("/etc/passwd"),
                    &self.container.read("/etc/group"),
                )
                .map_err(|why| self.error(value.span(), format!("\"{spec}\": {why}")))?;
                Some(User { spec, credentials })
            }
            None => None,
        };

        // Both of a shape already checked.
        let restart = table
            .get("restart")
            .map(|value| self.document.restart(value));
        let max_restarts = table
            .get("max_restarts")
            .map(|value| self.document.integer(value, "u32", U32));

        let ending = self.ending(table, restart.as_ref())?;

        Ok(Checked {
            service: Service {
                name: name.to_string(),
                command,
                executable,
                ready,
                stop_signal,
                stop_timeout,
                kind,
                stop_command,
                start_timeout,
                after: Vec::new(),
                dependents: Vec::new(),
                restart: restart.and_then(Result::ok).unwrap_or_default(),
                max_restarts: max_restarts
                    .and_then(Result::ok)
                    .map_or(DEFAULT_MAX_RESTARTS, |n| n as u32),
                ending,
                user,
                environment,
                working_directory,
            },
            after: table.get("after").map_or(&[], |value| items(value)),
            enabled: table
                .get("enabled")
                .and_then(|value| value.get_ref().as_bool())
                .unwrap_or(true),
        })
    }

    /// `type` and `stop_command`, and the keys a oneshot has no use for.
    fn kind(
        &self,
        table: &Table<'i>,
        find: &FindArgv<'_, 'i>,
    ) -> Result<(Kind, Option<super::model::Command>), Refusal> {
        // Of a shape already checked.
        let kind = table
            .get("type")
            .and_then(|value| self.document.service_type(value).ok())
            .unwrap_or_default();
        if kind == Kind::Oneshot {
            // Each would be ignored: refused, so that nobody counts on it.
            for (key, why) in [
                ("ready", "it is ready once it exits 0"),
                ("restart", "it runs once, and a failure stops the container"),
                ("max_restarts", "it is never restarted"),
            ] {
                if let Some(value) = table.get(key) {
                    return Err(self.error(
                        value.span(),
                        format!("{key} does not apply to a oneshot: {why}"),
                    ));
                }
            }
        }
        let stop_command = match table.get("stop_command") {
            Some(value) => {
                let (command, executable) = find(value)?;
                Some(super::model::Command {
                    command,
                    executable,
                })
            }
            None => None,
        };
        Ok((kind, stop_command))
    }

    /// `essential`, `restart_delay`, `restart_max_delay` and
    /// `success_exit_codes` (each of a shape already checked).
    fn ending(
        &self,
        table: &Table<'i>,
        restart: Option<&Shaped<Restart>>,
    ) -> Result<Ending, Refusal> {
        let mut ending = Ending::default();
        if let Some(value) = table.get("essential") {
            ending.essential = value.get_ref().as_bool().unwrap_or(true);
            if !ending.essential && !matches!(restart, None | Some(Ok(Restart::No))) {
                return Err(self.error(
                    value.span(),
                    "essential = false is for a service that is not restarted \
                     (restart = \"no\"): a restarted one ends the container only once it \
                     gives up (max_restarts)",
                ));
            }
        }
        for (key, slot) in [
            ("restart_delay", &mut ending.delay),
            ("restart_max_delay", &mut ending.max_delay),
        ] {
            if let Some(value) = table.get(key) {
                *slot = self.duration(value)?;
                if slot.is_zero() {
                    return Err(self.error(value.span(), "expected a duration above 0"));
                }
            }
        }
        if ending.max_delay < ending.delay {
            let value = table
                .get("restart_max_delay")
                .or_else(|| table.get("restart_delay"));
            return Err(self.error(
                value.map_or(0..0, |value| value.span()),
                "restart_max_delay (default 30s) is shorter than restart_delay (default 100ms)",
            ));
        }
        if let Some(value) = table.get("success_exit_codes") {
            ending.success = Ending::codes(
                items(value)
                    .iter()
                    .filter_map(|code| Some(self.document.integer(code, "", U8).ok()? as u8)),
            );
        }
        Ok(ending)
    }

    /// An argv: not empty, no NUL byte, its program found. Its words, and
    /// the program's path.
    fn argv(
        &self,
        argv: &Value<'i>,
        expand: &Expand<'_, 'i>,
        base: Option<&str>,
        search_path: Option<&str>,
    ) -> Result<(Vec<String>, String), Refusal> {
        let words = items(argv);
        let Some(program) = words.first() else {
            return Err(self.error(argv.span(), "empty command: expected [PROGRAM, ARG...]"));
        };
        if let Some(word) = words.iter().find(|word| text(word).contains('\0')) {
            return Err(self.error(word.span(), "an argument cannot hold a NUL byte"));
        }
        let words = words.iter().map(expand).collect::<Result<Vec<_>, _>>()?;
        let executable = command::find(&words[0], base, search_path, self.container)
            .map_err(|why| self.error(program.span(), why))?;
        Ok((words, executable))
    }

    fn ready(
        &self,
        value: &Value<'i>,
        spec: &Table<'i>,
        find: &FindArgv<'_, 'i>,
    ) -> Result<Ready, Refusal> {
        let (fd, exec, interval, tcp) = (
            spec.get("fd"),
            spec.get("exec"),
            spec.get("interval"),
            spec.get("tcp"),
        );
        match [fd, exec, tcp]
            .iter()
            .filter(|given| given.is_some())
            .count()
        {
            1 => {}
            0 => return Err(self.error(value.span(), format!("expected {READY_EXPECTED}"))),
            _ => {
                return Err(self.error(value.span(), "give one of fd, exec and tcp, not several"));
            }
        }
        if let (Some(interval), None) = (interval, exec) {
            return Err(self.error(
                interval.span(),
                "interval is how often an exec probe runs: it goes with exec only",
            ));
        }
        if let Some(fd) = fd {
            // Of a shape already checked: an i64.
            let number = self.document.integer(fd, "i64", I64).unwrap_or(-1);
            return match number {
                0..=2 => Err(self.error(
                    fd.span(),
                    format!(
                        "descriptor {number} is the service's standard {}: expected 3 or more",
                        ["input", "output", "error"][number as usize]
                    ),
                )),
                3.. if number <= i64::from(i32::MAX)
                    && number as u64 >= self.container.descriptor_limit() =>
                {
                    Err(self.error(
                        fd.span(),
                        format!(
                            "descriptor {number} is not below the open-file limit of {} \
                             (ulimit -n): the service could not be given it",
                            self.container.descriptor_limit()
                        ),
                    ))
                }
                3.. if number <= i64::from(i32::MAX) => Ok(Ready::Fd(number as i32)),
                _ => Err(self.error(
                    fd.span(),
                    format!("invalid descriptor {number}: expected a number from 3 up"),
                )),
            };
        }
        if let Some(command) = exec {
            let (command, executable) = find(command)?;
            let interval = match interval {
                Some(value) => {
                    let interval = self.duration(value)?;
                    if interval.is_zero() {
                        return Err(self.error(
                            value.span(),
                            "an interval of 0 would run the probe without a pause",
                        ));
                    }
                    interval
                }
                None => DEFAULT_PROBE_INTERVAL,
            };
            return Ok(Ready::Exec(Probe {
                command,
                executable,
                interval,
            }));
        }
        match tcp {
            Some(address) => parse_tcp(text(address))
                .map(Ready::Tcp)
                .map_err(|why| self.error(address.span(), why)),
            None => Err(self.error(value.span(), format!("expected {READY_EXPECTED}"))),
        }
    }
}

/// The value of `name` in `environment` (where `set` put it).
fn value_of(environment: &[(String, String)], name: &str) -> Option<String> {
    let (_, value) = environment.iter().find(|(known, _)| known == name)?;
    Some(value.clone())
}

/// `environment` with `name` set to `value`, once: a later value replaces
/// an earlier one, as it will for the service.
fn set(environment: &mut Vec<(String, String)>, name: String, value: String) {
    environment.retain(|(known, _)| *known != name);
    environment.push((name, value));
}

/// A string value with its variables expanded.
type Expand<'a, 'i> = dyn Fn(&Value<'i>) -> Result<String, Refusal> + 'a;

/// Checks an argv: its words and the program's path.
type FindArgv<'a, 'i> = dyn Fn(&Value<'i>) -> Result<(Vec<String>, String), Refusal> + 'a;

/// Service names prefix log lines (`db | ...`) and name services in
/// messages: plain words only.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `HOST:PORT`, with HOST an IPv4 address, an IPv6 address in brackets, or
/// `localhost`.
fn parse_tcp(text: &str) -> Result<TcpAddress, String> {
    let expected = "expected HOST:PORT, with HOST an IP address ([::1] for IPv6) or localhost";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("invalid address \"{text}\": {expected}"));
    };
    let digits = port;
    let port = match port.parse::<u16>() {
        Ok(port) if port > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => port,
        _ => {
            return Err(format!(
                "invalid port \"{digits}\" in \"{text}\": expected a number from 1 to 65535"
            ));
        }
    };
    let ip = if host == "localhost" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        IpAddr::V6(
            inner
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("invalid IPv6 address \"{inner}\" in \"{text}\""))?,
        )
    } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
        IpAddr::V4(ip)
    } else if host.contains(':') {
        return Err(format!(
            "invalid address \"{text}\": an IPv6 address goes in brackets, as [::1]:5432"
        ));
    } else {
        return Err(format!(
            "invalid host \"{host}\" in \"{text}\": {expected} (grace looks up no names)"
        ));
    };
    Ok(TcpAddress { ip, port })
}

/// The checked services that run (`runs[i]` for the file's i-th) in start
/// order, with `after` and `dependents` as positions in that order. Every
/// service a running one starts after runs too.
fn in_order(checked: Vec<Checked<'_, '_>>, order: &Order, runs: &[bool]) -> Vec<Service> {
    let starting: Vec<usize> = order
        .order
        .iter()
        .copied()
        .filter(|&index| runs[index])
        .collect();
    // position[i]: where the file's i-th service starts.
    let mut position = vec![0; runs.len()];
    for (at, &index) in starting.iter().enumerate() {
        position[index] = at;
    }
    let mut slots: Vec<Option<Service>> = checked.into_iter().map(|c| Some(c.service)).collect();
    let mut services: Vec<Service> = Vec::with_capacity(starting.len());
    for &index in &starting {
        let Some(mut service) = slots[index].take() else {
            continue;
        };
        // Once each already: `graph` resolved them.
        let after = order.after[index].iter().map(|&before| position[before]);
        service.after = ascending(after.collect());
        services.push(service);
    }
    for at in 0..services.len() {
        for i in 0..services[at].after.len() {
            let before = services[at].after[i];
            services[before].dependents.push(at);
        }
    }
    services
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::reap::WaitStatus;
    use crate::services::container::fake::Fake;

    fn parse_with(text: &str, fake: &Fake) -> Result<Services, Error> {
        parse(text, fake)
    }

    fn ok(text: &str) -> Services {
        parse_with(text, &Fake::new()).unwrap_or_else(|e| panic!("{}", e.render("f.toml")))
    }

    /// The error for `text`, as grace shows it for a file f.toml.
    fn refused(text: &str) -> String {
        refused_in(text, &Fake::new())
    }

    fn refused_in(text: &str, fake: &Fake) -> String {
        match parse_with(text, fake) {
            Ok(services) => panic!("accepted {text:?}: {services:?}"),
            Err(error) => error.render("f.toml"),
        }
    }

    const ISSUE_EXAMPLE: &str = r#"grace_period = "25s"                  # as --grace-period

[service.db]
command = ["/usr/bin/db", "--data", "/data"]   # an argv
ready = { fd = 3 }
stop_signal = "INT"
stop_timeout = "15s"

[service.app]
command = ["/app/server"]
after = ["db"]
restart = "on-failure"
user = "app"
environment = { PORT = "8080" }
working_directory = "/app"
"#;

    #[test]
    fn the_issue_example_is_accepted_with_its_defaults() {
        let file = ok(ISSUE_EXAMPLE);
        assert_eq!(file.grace_period, Some(Duration::from_secs(25)));
        let [db, app] = &file.services[..] else {
            panic!("{file:?}");
        };
        assert_eq!(db.name, "db");
        assert_eq!(db.command, ["/usr/bin/db", "--data", "/data"]);
        assert_eq!(db.executable, "/usr/bin/db");
        assert_eq!(db.ready, Ready::Fd(3));
        assert_eq!(db.stop_signal, signals::SIGINT);
        assert_eq!(db.stop_timeout, Some(Duration::from_secs(15)));
        assert_eq!(db.start_timeout, DEFAULT_START_TIMEOUT);
        assert_eq!((db.restart, db.max_restarts), (Restart::No, 10));
        assert_eq!((db.after.clone(), db.dependents.clone()), (vec![], vec![1]));
        assert_eq!(db.user, None);

        assert_eq!(app.ready, Ready::Spawned);
        assert_eq!(app.stop_signal, signals::SIGTERM);
        assert_eq!(app.stop_timeout, None);
        assert_eq!(app.restart, Restart::OnFailure);
        assert_eq!(
            (app.after.clone(), app.dependents.clone()),
            (vec![0], vec![])
        );
        let user = app.user.as_ref().expect("user");
        assert_eq!(user.spec, "app".parse().unwrap());
        assert_eq!(
            (user.credentials.uid, user.credentials.gid),
            (1000, 1000),
            "resolved once, into the model"
        );
        assert_eq!(app.environment, [("PORT".into(), "8080".into())]);
        assert_eq!(app.working_directory.as_deref(), Some("/app"));
    }

    /// docs/services.md's example is a valid file.
    #[test]
    fn the_documented_example_is_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join("docs/services.md")).unwrap();
        let (_, rest) = doc.split_once("```toml\n").expect("a toml example");
        let (example, _) = rest.split_once("```").unwrap();
        assert_eq!(ok(example), ok(ISSUE_EXAMPLE));
    }

    #[test]
    fn services_come_in_start_order_with_their_relations() {
        let file = ok(r#"
[service.web]
command = ["/bin/true"]
after = ["app"]
[service.app]
command = ["/bin/true"]
after = ["db", "cache"]
[service.db]
command = ["/bin/true"]
[service.cache]
command = ["/bin/true"]
"#);
        let names: Vec<&str> = file.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["db", "cache", "app", "web"]);
        let relations: Vec<(Vec<usize>, Vec<usize>)> = file
            .services
            .iter()
            .map(|s| (s.after.clone(), s.dependents.clone()))
            .collect();
        assert_eq!(
            relations,
            [
                (vec![], vec![2]),
                (vec![], vec![2]),
                (vec![0, 1], vec![3]),
                (vec![2], vec![])
            ]
        );
    }

    #[test]
    fn every_ready_form_is_read() {
        let ready = |spec: &str| {
            let text = format!("[service.s]\ncommand = [\"true\"]\nready = {spec}\n");
            ok(&text).services[0].ready.clone()
        };
        assert_eq!(ready("{ fd = 3 }"), Ready::Fd(3));
        assert_eq!(ready("\"notify\""), Ready::Notify);
        assert_eq!(
            ready("{ exec = [\"sh\", \"-c\", \"exit 0\"], interval = \"1s\" }"),
            Ready::Exec(Probe {
                command: vec!["sh".into(), "-c".into(), "exit 0".into()],
                executable: "/bin/sh".into(),
                interval: Duration::from_secs(1),
            })
        );
        match ready("{ exec = [\"true\"] }") {
            Ready::Exec(probe) => assert_eq!(probe.interval, DEFAULT_PROBE_INTERVAL),
            other => panic!("{other:?}"),
        }
        for (spec, shown) in [
            ("127.0.0.1:5432", "127.0.0.1:5432"),
            ("localhost:80", "127.0.0.1:80"),
            ("[::1]:8080", "[::1]:8080"),
            ("0.0.0.0:65535", "0.0.0.0:65535"),
        ] {
            match ready(&format!("{{ tcp = \"{spec}\" }}")) {
                Ready::Tcp(address) => assert_eq!(address.to_string(), shown),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn syntax_errors_and_unknown_keys_name_their_line_and_key() {
        assert_eq!(
            refused("[service.db]\ncommand = [\"/bin/true\"\n"),
            "f.toml:2: service.db.command: unclosed array, expected `]`"
        );
        let message = refused("[service.db]\ncommand = [\"/bin/true\"]\n\ncomand = []\n");
        assert!(
            message.starts_with("f.toml:4: service.db.comand: unknown field `comand`"),
            "{message}"
        );
        let message = refused("grace_periode = \"1s\"\n[service.db]\ncommand = [\"true\"]\n");
        assert!(
            message.starts_with("f.toml:1: grace_periode: unknown field"),
            "{message}"
        );
        let message =
            refused("[service.db]\ncommand = [\"true\"]\nready = { fd = 3, bogus = 1 }\n");
        assert!(
            message.starts_with("f.toml:3: service.db.ready.bogus: unknown field `bogus`"),
            "{message}"
        );
        let message = refused("[services.db]\ncommand = [\"true\"]\n");
        assert!(
            message.starts_with("f.toml:1: services: unknown field"),
            "{message}"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\ncommand = [\"false\"]\n"),
            "f.toml:3: service.db.command: duplicate key"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\n[service.db]\n"),
            "f.toml:3: service.db: duplicate key"
        );
        assert_eq!(
            refused("[service.db]\nready = \"notify\"\n"),
            "f.toml:1: service.db: missing field `command`"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nrestart = \"sometimes\"\n"),
            "f.toml:3: service.db.restart: unknown variant `sometimes`, expected one of `no`, \
             `on-failure`, `always`"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nmax_restarts = -1\n"),
            "f.toml:3: service.db.max_restarts: invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nenvironment = { PORT = 8080 }\n"),
            "f.toml:3: service.db.environment.PORT: invalid type: integer `8080`, expected a string"
        );
        assert_eq!(
            refused("[service.db]\ncommand = \"true\"\n"),
            "f.toml:2: service.db.command: invalid type: string \"true\", expected a sequence"
        );
        assert_eq!(
            refused("service = 3\n"),
            "f.toml:1: service: invalid type: integer `3`, expected a map"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\n[service.db]\n"),
            refused("[service.db]\ncommand = [\"true\"]\n[service.db]\n")
        );
        assert!(
            refused("[service.db]\ncommand = [\"true\"]\n[service.db]\n").starts_with("f.toml:3: ")
        );
        assert_eq!(
            refused("# nothing\n"),
            "f.toml: no service: declare at least one [service.NAME] table"
        );
    }

    #[test]
    fn the_ending_keys_are_read_with_their_defaults() {
        let services = ok("[service.db]\ncommand = [\"true\"]\n\
             [service.warm]\ncommand = [\"true\"]\nessential = false\n\
             success_exit_codes = [0, 3, 255]\n\
             [service.app]\ncommand = [\"true\"]\nrestart = \"on-failure\"\n\
             restart_delay = \"1.5s\"\nrestart_max_delay = \"2m\"\n");
        let [db, warm, app] = &services.services[..] else {
            panic!("{services:?}")
        };
        assert_eq!(db.ending, Ending::default());
        assert_eq!(
            (db.ending.delay, db.ending.max_delay, db.ending.success),
            (
                Duration::from_millis(100),
                Duration::from_secs(30),
                Ending::codes([0])
            )
        );
        assert!(!warm.ending.essential);
        assert_eq!(warm.ending.success, Ending::codes([0, 3, 255]));
        for (code, success) in [(0, true), (3, true), (255, true), (1, false), (64, false)] {
            assert_eq!(
                warm.ending.success(WaitStatus::Exited(code)),
                success,
                "{code}"
            );
        }
        assert!(!warm.ending.success(WaitStatus::Signaled(3)));
        assert_eq!(app.ending.delay, Duration::from_millis(1500));
        assert_eq!(app.ending.max_delay, Duration::from_secs(120));
    }

    #[test]
    fn mistakes_in_the_ending_keys_are_refused_at_their_line() {
        let service = "[service.db]\ncommand = [\"true\"]\n";
        for (text, expected) in [
            (
                "essential = \"no\"\n",
                "f.toml:3: service.db.essential: invalid type: string \"no\", expected a boolean",
            ),
            (
                "restart = \"always\"\nessential = false\n",
                "f.toml:4: service.db.essential: essential = false is for a service that is \
                 not restarted (restart = \"no\"): a restarted one ends the container only \
                 once it gives up (max_restarts)",
            ),
            (
                "restart_delay = 5\n",
                "f.toml:3: service.db.restart_delay: invalid type: integer `5`, expected a string",
            ),
            (
                "restart_delay = \"-1s\"\n",
                "f.toml:3: service.db.restart_delay: invalid duration '-1s': expected a number \
                 with a unit, such as 500ms, 9s, 1.5s, 2m or 1h",
            ),
            (
                "restart_max_delay = \"0s\"\n",
                "f.toml:3: service.db.restart_max_delay: expected a duration above 0",
            ),
            (
                "restart_delay = \"40s\"\n",
                "f.toml:3: service.db.restart_delay: restart_max_delay (default 30s) is \
                 shorter than restart_delay (default 100ms)",
            ),
            (
                "restart_delay = \"5s\"\nrestart_max_delay = \"1s\"\n",
                "f.toml:4: service.db.restart_max_delay: restart_max_delay (default 30s) is \
                 shorter than restart_delay (default 100ms)",
            ),
            (
                "success_exit_codes = [0, 256]\n",
                "f.toml:3: service.db.success_exit_codes: invalid value: integer `256`, \
                 expected an exit code from 0 to 255",
            ),
            (
                "success_exit_codes = [-1]\n",
                "f.toml:3: service.db.success_exit_codes: invalid value: integer `-1`, \
                 expected an exit code from 0 to 255",
            ),
            (
                "success_exit_codes = [\"0\"]\n",
                "f.toml:3: service.db.success_exit_codes: invalid type: string \"0\", \
                 expected an exit code from 0 to 255",
            ),
            (
                "success_exit_codes = []\n",
                "f.toml:3: service.db.success_exit_codes: invalid type: sequence, expected a \
                 non-empty array of exit codes",
            ),
            (
                "success_exit_codes = 0\n",
                "f.toml:3: service.db.success_exit_codes: invalid type: integer `0`, expected \
                 a non-empty array of exit codes",
            ),
        ] {
            assert_eq!(refused(&format!("{service}{text}")), expected, "{text}");
        }
    }

    #[test]
    fn bad_durations_and_signals_are_refused_at_their_line() {
        assert_eq!(
            refused("grace_period = \"25\u{20}s\"\n[service.db]\ncommand = [\"true\"]\n"),
            "f.toml:1: grace_period: invalid duration '25 s': expected a number with a unit, \
             such as 500ms, 9s, 1.5s, 2m or 1h"
        );
        for field in ["stop_timeout", "start_timeout"] {
            let message = refused(&format!(
                "[service.db]\ncommand = [\"true\"]\n\n{field} = \"5 days\"\n"
            ));
            assert!(
                message.starts_with(&format!("f.toml:4: service.db.{field}: invalid duration")),
                "{message}"
            );
        }
        let message = refused("[service.db]\ncommand = [\"true\"]\nstop_signal = \"TERMINATE\"\n");
        assert!(
            message.starts_with("f.toml:3: service.db.stop_signal: invalid signal 'TERMINATE'"),
            "{message}"
        );
        // The rules of --stop-signal: STOP and CHLD stop nothing.
        for signal in ["STOP", "SIGCHLD", "19"] {
            let message = refused(&format!(
                "[service.db]\ncommand = [\"true\"]\nstop_signal = \"{signal}\"\n"
            ));
            assert!(
                message.starts_with("f.toml:3: service.db.stop_signal: SIG")
                    && message.contains("cannot stop a process"),
                "{message}"
            );
        }
        for signal in ["QUIT", "sigusr1", "KILL", "RTMIN+3", "2"] {
            ok(&format!(
                "[service.db]\ncommand = [\"true\"]\nstop_signal = \"{signal}\"\n"
            ));
        }
        let message = refused("[service.db]\ncommand = [\"true\"]\nstop_timeout = 15\n");
        assert!(message.starts_with("f.toml:3: service.db.stop_timeout: invalid type: integer"));
    }

    #[test]
    fn dates_well_formed_or_not_are_refused_naming_the_key() {
        for date in [
            "1979-13-27",
            "1979-05-27",
            "07:32:00",
            "1979-05-27T25:00:00Z",
        ] {
            let message = refused(&format!(
                "[service.db]\ncommand = [\"true\"]\nstop_timeout = {date}\n"
            ));
            assert_eq!(
                message,
                format!(
                    "f.toml:3: service.db.stop_timeout: invalid type: datetime `{date}`, \
                     expected a string"
                )
            );
            let message = refused(&format!(
                "[service.db]\ncommand = [\"true\"]\nwhen = {date}\n"
            ));
            assert!(
                message.starts_with("f.toml:3: service.db.when: unknown field `when`"),
                "{message}"
            );
        }
    }

    #[test]
    fn after_must_name_services_without_a_cycle() {
        assert_eq!(
            refused(
                "[service.db]\ncommand = [\"true\"]\n[service.app]\ncommand = [\"true\"]\n\
                 after = [\n  \"db\",\n  \"dbb\",\n]\n"
            ),
            "f.toml:7: service.app.after: unknown service \"dbb\""
        );
        assert_eq!(
            refused(
                "[service.a]\ncommand = [\"true\"]\nafter = [\"b\"]\n\
                 [service.b]\ncommand = [\"true\"]\nafter = [\"c\"]\n\
                 [service.c]\ncommand = [\"true\"]\nafter = [\"a\"]\n"
            ),
            "f.toml:9: service.c.after: dependency cycle: c after a after b after c"
        );
        assert_eq!(
            refused("[service.me]\ncommand = [\"true\"]\nafter = [\"me\"]\n"),
            "f.toml:3: service.me.after: dependency cycle: me after me"
        );
    }

    #[test]
    fn types_and_stop_commands_are_checked() {
        let file = ok("[service.m]\ncommand = [\"true\"]\ntype = \"oneshot\"\n\
             stop_command = [\"true\", \"undo\"]\n\
             [service.app]\ncommand = [\"true\"]\nafter = [\"m\"]\ntype = \"longrun\"\n");
        let (m, app) = (&file.services[0], &file.services[1]);
        assert_eq!((m.kind, app.kind), (Kind::Oneshot, Kind::Longrun));
        let stop = m.stop_command.as_ref().unwrap();
        assert_eq!(stop.command, ["true", "undo"]);
        assert_eq!(stop.executable, "/bin/true");
        assert_eq!(app.stop_command, None);
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\ntype = \"forking\"\n"),
            "f.toml:3: service.db.type: unknown variant `forking`, expected one of `longrun`, \
             `oneshot`"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\ntype = 1\n"),
            "f.toml:3: service.db.type: invalid type: integer `1`, expected one of `longrun`, \
             `oneshot`"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nstop_command = []\n"),
            "f.toml:3: service.db.stop_command: empty command: expected [PROGRAM, ARG...]"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nstop_command = \"true\"\n"),
            "f.toml:3: service.db.stop_command: invalid type: string \"true\", expected a \
             sequence"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\"]\nstop_command = [\"dbctl\"]\n"),
            "f.toml:3: service.db.stop_command: \"dbctl\" not found in PATH (/usr/bin:/bin)"
        );
        for (key, value, why) in [
            ("ready", "{ fd = 3 }", "it is ready once it exits 0"),
            ("restart", "\"always\"", "it runs once"),
            ("max_restarts", "3", "it is never restarted"),
        ] {
            let message = refused(&format!(
                "[service.m]\ncommand = [\"true\"]\ntype = \"oneshot\"\n{key} = {value}\n"
            ));
            assert!(
                message.starts_with(&format!(
                    "f.toml:4: service.m.{key}: {key} does not apply to a oneshot: {why}"
                )),
                "{message}"
            );
        }
    }

    #[test]
    fn commands_must_exist_and_be_executable() {
        assert_eq!(
            refused("[service.db]\ncommand = []\n"),
            "f.toml:2: service.db.command: empty command: expected [PROGRAM, ARG...]"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"/usr/bin/dbx\", \"--data\"]\n"),
            "f.toml:2: service.db.command: \"/usr/bin/dbx\": not found"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"dbx\"]\n"),
            "f.toml:2: service.db.command: \"dbx\" not found in PATH (/usr/bin:/bin)"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\n  \"/etc/motd\",\n]\n"),
            "f.toml:3: service.db.command: \"/etc/motd\" cannot be executed: not an executable file"
        );
        assert_eq!(
            refused("[service.db]\ncommand = [\"true\", \"a\\u0000b\"]\n"),
            "f.toml:2: service.db.command: an argument cannot hold a NUL byte"
        );
        // Relative to the working directory; PATH as the service gets it.
        ok("[service.s]\ncommand = [\"./server\"]\nworking_directory = \"/app\"\n");
        assert_eq!(
            refused("[service.s]\ncommand = [\"./server\"]\n"),
            "f.toml:2: service.s.command: \"/srv/server\": not found"
        );
        let file = ok("[service.s]\ncommand = [\"server\"]\nenvironment = { PATH = \"/app\" }\n");
        assert_eq!(file.services[0].executable, "/app/server");
        let mut no_path = Fake::new();
        no_path.path = None;
        assert!(
            refused_in("[service.s]\ncommand = [\"dbx\"]\n", &no_path)
                .contains("not found in PATH (/usr/local/bin:/bin:/usr/bin)")
        );
        assert_eq!(
            refused("[service.s]\ncommand = [\"true\"]\nready = { exec = [\"probe\"] }\n"),
            "f.toml:3: service.s.ready.exec: \"probe\" not found in PATH (/usr/bin:/bin)"
        );
        // Relative paths resolved once, from grace's working directory:
        // the start changes into the service's directory, then executes
        // what was found here, with nothing left to resolve.
        let mut at_root = Fake::new();
        at_root.cwd = Some("/".into());
        let text = "[service.s]\ncommand = [\"./server\"]\nworking_directory = \"app\"\n\
                    ready = { exec = [\"./server\", \"--ready\"] }\n";
        let file = parse_with(text, &at_root).unwrap();
        let service = &file.services[0];
        assert_eq!(service.working_directory.as_deref(), Some("/app"));
        assert_eq!(service.executable, "/app/server");
        let Ready::Exec(probe) = &service.ready else {
            panic!("{:?}", service.ready)
        };
        assert_eq!(probe.executable, "/app/server");
        let file = parse_with("[service.s]\ncommand = [\"app/server\"]\n", &at_root).unwrap();
        assert_eq!(file.services[0].executable, "/app/server");
        assert_eq!(file.services[0].working_directory, None);
        let mut nameless = Fake::new();
        nameless.cwd = None;
        assert_eq!(
            refused_in(text, &nameless),
            "f.toml:3: service.s.working_directory: \"./app\": not found"
        );
        assert_eq!(
            refused("[service.s]\ncommand = [\"true\"]\nworking_directory = \"/nope\"\n"),
            "f.toml:3: service.s.working_directory: \"/nope\": not found"
        );
        assert_eq!(
            refused("[service.s]\ncommand = [\"true\"]\nworking_directory = \"/bin/true\"\n"),
            "f.toml:3: service.s.working_directory: \"/bin/true\": not a directory"
        );
    }

    #[test]
    fn ready_specs_are_checked() {
        let refused_ready = |spec: &str| {
            refused(&format!(
                "[service.s]\ncommand = [\"true\"]\nready = {spec}\n"
            ))
        };
        for (fd, stream) in [(0, "input"), (1, "output"), (2, "error")] {
            assert_eq!(
                refused_ready(&format!("{{ fd = {fd} }}")),
                format!(
                    "f.toml:3: service.s.ready.fd: descriptor {fd} is the service's standard \
                     {stream}: expected 3 or more"
                )
            );
        }
        for fd in ["-1", "2147483648"] {
            assert!(
                refused_ready(&format!("{{ fd = {fd} }}")).contains("invalid descriptor"),
                "{fd}"
            );
        }
        // The fake container's limit is 1024: a service cannot be handed
        // descriptor 1024, which `grace check` says before anything starts.
        assert_eq!(
            refused_ready("{ fd = 1024 }"),
            "f.toml:3: service.s.ready.fd: descriptor 1024 is not below the open-file limit \
             of 1024 (ulimit -n): the service could not be given it"
        );
        assert_eq!(
            ok("[service.s]\ncommand = [\"true\"]\nready = { fd = 1023 }\n").services[0].ready,
            Ready::Fd(1023)
        );
        assert!(refused_ready("{ fd = \"3\" }").contains("service.s.ready.fd: invalid type"));
        assert!(
            refused_ready("\"ready\"")
                .starts_with("f.toml:3: service.s.ready: invalid ready \"ready\"")
        );
        assert!(refused_ready("3").starts_with("f.toml:3: service.s.ready: invalid type: integer"));
        assert!(refused_ready("{}").starts_with("f.toml:3: service.s.ready: expected \"notify\""));
        assert_eq!(
            refused_ready("{ fd = 3, tcp = \"127.0.0.1:1\" }"),
            "f.toml:3: service.s.ready: give one of fd, exec and tcp, not several"
        );
        assert!(
            refused_ready("{ fd = 3, interval = \"1s\" }")
                .starts_with("f.toml:3: service.s.ready.interval: interval is how often")
        );
        assert!(
            refused_ready("{ exec = [\"true\"], interval = \"0s\" }")
                .starts_with("f.toml:3: service.s.ready.interval: an interval of 0")
        );
        assert!(
            refused_ready("{ exec = [\"true\"], interval = \"fast\" }")
                .starts_with("f.toml:3: service.s.ready.interval: invalid duration 'fast'")
        );
        assert!(
            refused_ready("{ exec = [] }")
                .starts_with("f.toml:3: service.s.ready.exec: empty command")
        );
        for (address, why) in [
            ("5432", "invalid address"),
            ("127.0.0.1", "invalid address"),
            ("127.0.0.1:", "invalid port"),
            ("127.0.0.1:0", "invalid port"),
            ("127.0.0.1:65536", "invalid port"),
            ("127.0.0.1:+80", "invalid port"),
            ("::1:80", "goes in brackets"),
            ("[::g]:80", "invalid IPv6 address"),
            ("db:5432", "invalid host \"db\""),
            (":5432", "invalid host \"\""),
            ("256.0.0.1:80", "invalid host"),
        ] {
            let message = refused_ready(&format!("{{ tcp = \"{address}\" }}"));
            assert!(
                message.starts_with("f.toml:3: service.s.ready.tcp: ") && message.contains(why),
                "{address}: {message}"
            );
        }
    }

    #[test]
    fn names_users_and_environments_are_checked() {
        assert!(
            refused("[service.\"a b\"]\ncommand = [\"true\"]\n")
                .starts_with("f.toml:1: service.\"a b\": invalid service name \"a b\"")
        );
        assert!(refused("[service.\"\"]\ncommand = [\"true\"]\n").contains("invalid service name"));
        ok("[service.my-app_2]\ncommand = [\"true\"]\n");
        assert_eq!(
            refused("[service.s]\ncommand = [\"true\"]\nuser = \"nobody\"\n"),
            format!(
                "f.toml:3: service.s.user: \"nobody\": {}",
                user_error("nobody")
            )
        );
        assert!(
            refused("[service.s]\ncommand = [\"true\"]\nuser = \"a:b:c\"\n")
                .starts_with("f.toml:3: service.s.user: invalid user 'a:b:c'")
        );
        ok("[service.s]\ncommand = [\"true\"]\nuser = \"1234:1234\"\n");
        assert!(
            refused("[service.s]\ncommand = [\"true\"]\nenvironment = { \"A=B\" = \"x\" }\n")
                .starts_with("f.toml:3: service.s.environment.\"A=B\": invalid variable name")
        );
        assert!(
            refused(
                "[service.s]\ncommand = [\"true\"]\n[service.s.environment]\nA = \"\\u0000\"\n"
            )
            .starts_with("f.toml:4: service.s.environment.A: a value cannot hold a NUL")
        );
        let file =
            ok("[service.s]\ncommand = [\"true\"]\nenvironment = { Z = \"1\", A = \"2\" }\n");
        assert_eq!(
            file.services[0].environment,
            [("Z".into(), "1".into()), ("A".into(), "2".into())]
        );
    }

    #[test]
    fn env_files_and_variables_are_resolved_when_the_file_is_read() {
        let mut fake = Fake::new();
        fake.texts.insert(
            "/etc/app.env".into(),
            "# app\nPORT=8080\nDIR=\"/data\"\nPORT=9090\nBIN=/usr/bin\n".into(),
        );
        fake.variables.insert("USER_NAME".into(), "ada".into());
        fake.variables.insert("PORT".into(), "1".into());
        let text = "[service.s]\nenv_file = [\"/etc/app.env\"]\n\
                    command = [\"${BIN}/db\", \"--port=${PORT}\", \"${NONE:-x}\", \"$$1 $HOME\"]\n\
                    working_directory = \"${DIR}\"\n\
                    environment = { GREETING = \"hi ${USER_NAME}\", PORT = \"${PORT}0\" }\n";
        let file = parse_with(text, &fake).unwrap();
        let service = &file.services[0];
        // The env file's last PORT, not grace's; `environment` over the file.
        assert_eq!(
            service.command,
            ["/usr/bin/db", "--port=9090", "x", "$1 $HOME"]
        );
        assert_eq!(service.executable, "/usr/bin/db");
        assert_eq!(service.working_directory.as_deref(), Some("/data"));
        assert_eq!(
            service.environment,
            [
                ("DIR".into(), "/data".into()),
                ("BIN".into(), "/usr/bin".into()),
                ("GREETING".into(), "hi ada".into()),
                ("PORT".into(), "90900".into()),
            ]
        );
        assert_eq!(
            refused_in(
                "[service.s]\ncommand = [\n  \"true\",\n  \"${TOKEN}\",\n]\n",
                &fake
            ),
            "f.toml:4: service.s.command: variable TOKEN is not set: set it, or give a default \
             (${TOKEN:-VALUE})"
        );
        assert!(
            refused_in(
                "[service.s]\ncommand = [\"true\"]\nenvironment = { A = \"${B\" }\n",
                &fake
            )
            .starts_with("f.toml:3: service.s.environment.A: unclosed")
        );
        assert_eq!(
            refused_in(
                "[service.s]\ncommand = [\"true\"]\nenv_file = [\"/nope.env\"]\n",
                &fake
            ),
            "f.toml:3: service.s.env_file: \"/nope.env\": not found"
        );
        assert!(
            refused_in(
                "[service.s]\ncommand = [\"true\"]\nenv_file = [\"app.env\"]\n",
                &fake
            )
            .contains("expected an absolute path")
        );
        fake.texts.insert("/bad.env".into(), "A=1\nB C=2\n".into());
        assert!(
            refused_in(
                "[service.s]\ncommand = [\"true\"]\nenv_file = [\"/bad.env\"]\n",
                &fake
            )
            .starts_with("f.toml:3: service.s.env_file: /bad.env:2: invalid variable name")
        );
    }

    #[test]
    fn enabled_and_asked_services_run_with_what_they_start_after() {
        let text = r#"
[service.db]
command = ["true"]
[service.cache]
command = ["true"]
enabled = false
[service.web]
command = ["true"]
after = ["db"]
[service.worker]
command = ["true"]
after = ["cache"]
enabled = false
"#;
        let names = |asked: &[&str]| {
            let asked: Vec<String> = asked.iter().map(|name| name.to_string()).collect();
            let file = parse_selecting(text, &Fake::new(), &asked)
                .unwrap_or_else(|e| panic!("{}", e.render("f.toml")));
            let names: Vec<String> = file.services.iter().map(|s| s.name.clone()).collect();
            let relations: Vec<(Vec<usize>, Vec<usize>)> = file
                .services
                .iter()
                .map(|s| (s.after.clone(), s.dependents.clone()))
                .collect();
            (names.join(" "), relations)
        };
        assert_eq!(
            names(&[]),
            ("db web".into(), vec![(vec![], vec![1]), (vec![0], vec![])])
        );
        assert_eq!(
            names(&["worker"]),
            (
                "cache worker".into(),
                vec![(vec![], vec![1]), (vec![0], vec![])]
            )
        );
        assert_eq!(names(&["web", "cache"]).0, "db cache web");
        let unknown = parse_selecting(text, &Fake::new(), &["wrker".into()]).unwrap_err();
        assert_eq!(
            unknown.render("f.toml"),
            "f.toml: unknown service \"wrker\" asked for (--services or GRACE_SERVICES): the \
             file declares db, cache, web, worker"
        );
        assert!(
            refused("[service.a]\ncommand = [\"true\"]\nenabled = false\n")
                .starts_with("f.toml: no service to run")
        );
        assert!(
            refused("[service.a]\ncommand = [\"true\"]\nenabled = \"no\"\n").starts_with(
                "f.toml:3: service.a.enabled: invalid type: string \"no\", expected a boolean"
            )
        );
    }

    /// What `user::resolve` says of a missing user, however it words it.
    fn user_error(name: &str) -> String {
        let fake = Fake::new();
        user::resolve(&name.parse().unwrap(), &fake.passwd, &fake.group).unwrap_err()
    }

    #[test]
    fn hostile_documents_are_refused_without_a_panic() {
        for text in [
            "",
            "\u{0}",
            "[",
            "[[service]]",
            "service = []",
            "[service]\ndb = 1",
            "[service.db]\ncommand = [[[[[[[[[[[[[[[[[[[[\"x\"]]]]]]]]]]]]]]]]]]]]",
            &"[".repeat(10_000),
            &"a = { b = ".repeat(1_000),
            "[service.db]\ncommand = [\"true\"]\nready = { exec = \"x\" }",
            "[service.db]\ncommand = [\"true\"]\nready = { tcp = \"[\" }",
            "[service.db]\ncommand = [\"true\"]\nready = { tcp = \"[]:1\" }",
        ] {
            let _ = parse_with(text, &Fake::new());
        }
    }
}
