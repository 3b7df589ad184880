//! The services file's document tree: every key and value with its span,
//! built from `toml_parser`'s events and decoded by its decoder, with the
//! TOML spec's table rules (dotted keys, `[table]` and `[[array]]` headers,
//! duplicate keys, redefinitions, closed inline tables). The same tree,
//! the same recovery and the same first error as the `toml` crate's
//! `DeTable::parse_recoverable` (its unit tests compare the two), but for
//! dates, which are not read (no key takes one), and without its B-tree
//! map: a table here is a vector kept sorted by key, which is
//! the order `toml` iterates in.

use alloc::borrow::Cow;
use core::ops::Range;

use toml_parser::decoder::ScalarKind;
use toml_parser::parser::{Event, EventKind, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, Expected, ParseError, Source};

use crate::base::prelude::*;

/// A key or a value, with where it is written.
#[derive(Clone)]
pub struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn get_ref(&self) -> &T {
        &self.value
    }
}

pub type Key<'i> = Spanned<Cow<'i, str>>;
pub type Item<'i> = Spanned<Value<'i>>;

pub enum Value<'i> {
    String(Cow<'i, str>),
    /// Its digits (sign included) and radix, for `from_str_radix`.
    Integer(Cow<'i, str>, u32),
    Float,
    Boolean(bool),
    Datetime,
    Array(Array<'i>),
    Table(Table<'i>),
}

impl<'i> Value<'i> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(truth) => Some(*truth),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Item<'i>]> {
        match self {
            Value::Array(array) => Some(&array.items),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&Table<'i>> {
        match self {
            Value::Table(table) => Some(table),
            _ => None,
        }
    }

    fn type_str(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Integer(..) => "integer",
            Value::Float => "float",
            Value::Boolean(_) => "boolean",
            Value::Datetime => "datetime",
            Value::Array(_) => "array",
            Value::Table(_) => "table",
        }
    }
}

#[derive(Default)]
pub struct Array<'i> {
    items: Vec<Item<'i>>,
    /// Made by `[[headers]]`: tables can be added to it.
    of_tables: bool,
}

/// A table's entries, sorted by key.
#[derive(Default)]
pub struct Table<'i> {
    entries: Vec<(Key<'i>, Item<'i>)>,
    /// Made by a header's or a dotted key's prefix, not defined itself.
    implicit: bool,
    /// Made by a dotted key.
    dotted: bool,
    /// An inline table (or made inside one): closed.
    inline: bool,
}

impl<'i> Table<'i> {
    pub fn get(&self, key: &str) -> Option<&Item<'i>> {
        let at = self.find(key).ok()?;
        Some(&self.entries[at].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key<'i>, &Item<'i>)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(known, _)| known.value.as_ref().cmp(key))
    }

    /// Inserts `value` under `key` unless the key is there (then `Err`,
    /// with the index of the one there).
    fn insert(&mut self, key: Key<'i>, value: Item<'i>) -> Result<usize, usize> {
        match self.find(&key.value) {
            Ok(at) => Err(at),
            Err(at) => {
                self.entries.insert(at, (key, value));
                Ok(at)
            }
        }
    }
}

/// The first error, as `toml` words it: its description, what was
/// expected, and where.
pub struct Error {
    pub message: String,
    pub span: Option<Range<usize>>,
}

/// Keeps the first error only: the one a file is refused for.
struct First(Option<ParseError>);

impl ErrorSink for First {
    fn report_error(&mut self, error: ParseError) {
        if self.0.is_none() {
            self.0 = Some(error);
        }
    }
}

impl First {
    fn report(&mut self, description: impl Into<Cow<'static, str>>, at: &Range<usize>) {
        let span = toml_parser::Span::new_unchecked(at.start, at.end);
        self.report_error(ParseError::new(description).with_unexpected(span));
    }
}

/// How deep arrays and tables may nest, and keys be dotted (as `toml`).
const LIMIT: u32 = 80;

/// `text`'s tree, as far as it can be read, and its first error.
pub fn parse(text: &str) -> (Table<'_>, Option<Error>) {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut events = Vec::with_capacity(tokens.len());
    let mut errors = First(None);
    {
        let mut receiver = ValidateWhitespace::new(&mut events, source);
        let mut receiver = RecursionGuard::new(&mut receiver, LIMIT);
        toml_parser::parser::parse_document(&tokens, &mut receiver, &mut errors);
    }
    drop(tokens);
    let mut builder = Builder {
        source,
        events: &events,
        at: 0,
        errors,
        root: Table::default(),
        current: Table::default(),
        header: None,
    };
    builder.document();
    let error = builder.errors.0.take().map(|error| Error {
        message: message(&error),
        span: error.unexpected().map(|span| span.start()..span.end()),
    });
    (builder.root, error)
}

/// An error's message, as `toml::de::Error::message` has it.
fn message(error: &ParseError) -> String {
    let mut message = String::from(error.description());
    if let Some(expected) = error.expected() {
        message.push_str(", expected ");
        if expected.is_empty() {
            message.push_str("nothing");
        }
        for (i, expected) in expected.iter().enumerate() {
            if i != 0 {
                message.push_str(", ");
            }
            match expected {
                Expected::Literal("\n") => message.push_str("newline"),
                Expected::Literal("`") => message.push_str("'`'"),
                Expected::Literal(literal) if literal.chars().all(|c| c.is_ascii_control()) => {
                    message.push_str(&format!("`{}`", crate::base::quoted::Escaped(literal)));
                }
                Expected::Literal(literal) => message.push_str(&format!("`{literal}`")),
                Expected::Description(description) => message.push_str(description),
                _ => message.push_str("etc"),
            }
        }
    }
    message
}

struct Header<'i> {
    path: Vec<Key<'i>>,
    key: Option<Key<'i>>,
    span: Range<usize>,
    is_array: bool,
}

struct Builder<'e, 'i> {
    source: Source<'i>,
    events: &'e [Event],
    at: usize,
    errors: First,
    root: Table<'i>,
    /// The table the key-values below the last header go into.
    current: Table<'i>,
    header: Option<Header<'i>>,
}

fn span(event: &Event) -> Range<usize> {
    event.span().start()..event.span().end()
}

impl<'i> Builder<'_, 'i> {
    fn next(&mut self) -> Option<Event> {
        let event = *self.events.get(self.at)?;
        self.at += 1;
        Some(event)
    }

    fn peek(&self, ahead: usize) -> Option<EventKind> {
        self.events.get(self.at + ahead).map(Event::kind)
    }

    fn document(&mut self) {
        while let Some(event) = self.next() {
            match event.kind() {
                EventKind::StdTableOpen | EventKind::ArrayTableOpen => {
                    self.finish_table();
                    let header = self.header(&event);
                    self.start_table(header);
                }
                EventKind::SimpleKey => {
                    let (path, key) = self.key(&event);
                    let Some(key) = key else { break };
                    let Some(mut next) = self.next() else { break };
                    if next.kind() == EventKind::Whitespace {
                        let Some(after) = self.next() else { break };
                        next = after;
                    }
                    if next.kind() != EventKind::KeyValSep {
                        break;
                    }
                    if self.peek(0) == Some(EventKind::Whitespace) {
                        self.at += 1;
                    }
                    let value = self.value();
                    self.key_value(path, key, value);
                }
                _ => {}
            }
        }
        self.finish_table();
    }

    fn header(&mut self, open: &Event) -> Header<'i> {
        let mut header = Header {
            path: Vec::new(),
            key: None,
            span: span(open),
            is_array: open.kind() == EventKind::ArrayTableOpen,
        };
        while let Some(event) = self.next() {
            match event.kind() {
                EventKind::ArrayTableClose | EventKind::StdTableClose => {
                    header.span.end = event.span().end();
                    break;
                }
                EventKind::SimpleKey => (header.path, header.key) = self.key(&event),
                _ => {}
            }
        }
        header
    }

    /// A key's parts: the path to its table and its last part.
    fn key(&mut self, first: &Event) -> (Vec<Key<'i>>, Option<Key<'i>>) {
        let mut path = Vec::new();
        let mut last = None;
        let mut current = Some(*first);
        if self.more_key() {
            while let Some(event) = self.next() {
                match event.kind() {
                    EventKind::SimpleKey => {
                        current = Some(event);
                        if !self.more_key() {
                            break;
                        }
                    }
                    EventKind::KeySep => self.close_key(&mut current, &mut path, &mut last),
                    _ => {}
                }
            }
        }
        self.close_key(&mut current, &mut path, &mut last);
        if LIMIT as usize <= path.len() {
            self.errors.report_error(ParseError::new("recursion limit"));
            return (Vec::new(), None);
        }
        (path, last)
    }

    fn more_key(&self) -> bool {
        match self.peek(0) {
            Some(EventKind::KeySep) => true,
            Some(EventKind::Whitespace) => self.peek(1) == Some(EventKind::KeySep),
            _ => false,
        }
    }

    fn close_key(
        &mut self,
        current: &mut Option<Event>,
        path: &mut Vec<Key<'i>>,
        last: &mut Option<Key<'i>>,
    ) {
        let Some(event) = current.take() else { return };
        let mut decoded = Cow::Borrowed("");
        if let Some(raw) = self.source.get(event) {
            raw.decode_key(&mut decoded, &mut self.errors);
        }
        let key = Spanned {
            span: span(&event),
            value: decoded,
        };
        if let Some(before) = last.replace(key) {
            path.push(before);
        }
    }

    fn value(&mut self) -> Item<'i> {
        if let Some(event) = self.next() {
            match event.kind() {
                EventKind::InlineTableOpen => return self.inline_table(&event),
                EventKind::ArrayOpen => return self.array(&event),
                EventKind::Scalar => return self.scalar(&event),
                _ => {}
            }
        }
        Spanned {
            span: 0..0,
            value: Value::Integer(Cow::Borrowed("0"), 10),
        }
    }

    fn scalar(&mut self, event: &Event) -> Item<'i> {
        let mut decoded = Cow::Borrowed("");
        let kind = match self.source.get(event) {
            Some(raw) => raw.decode_scalar(&mut decoded, &mut self.errors),
            None => ScalarKind::String,
        };
        let span = span(event);
        let value = match kind {
            ScalarKind::String => Value::String(decoded),
            ScalarKind::Boolean(truth) => Value::Boolean(truth),
            // Not read further: no key takes a date, so a malformed one is
            // refused with the rest, as a datetime of the wrong type.
            ScalarKind::DateTime => Value::Datetime,
            ScalarKind::Float => Value::Float,
            ScalarKind::Integer(radix) => Value::Integer(decoded, radix.value()),
        };
        Spanned { span, value }
    }

    fn array(&mut self, open: &Event) -> Item<'i> {
        let mut array = Array::default();
        let mut end = open.span().end();
        let mut current = None;
        while let Some(event) = self.next() {
            end = event.span().end();
            match event.kind() {
                EventKind::InlineTableOpen => current = Some(self.inline_table(&event)),
                EventKind::ArrayOpen => current = Some(self.array(&event)),
                EventKind::Scalar => current = Some(self.scalar(&event)),
                EventKind::ValueSep | EventKind::ArrayClose => {
                    array.items.extend(current.take());
                    if event.kind() == EventKind::ArrayClose {
                        break;
                    }
                }
                EventKind::Error
                | EventKind::Whitespace
                | EventKind::Comment
                | EventKind::Newline => {}
                _ => break,
            }
        }
        Spanned {
            span: open.span().start()..end,
            value: Value::Array(array),
        }
    }

    fn inline_table(&mut self, open: &Event) -> Item<'i> {
        let mut table = Table {
            inline: true,
            ..Table::default()
        };
        let mut end = open.span().end();
        let mut key = None;
        let mut current = None;
        while let Some(event) = self.next() {
            end = event.span().end();
            match event.kind() {
                EventKind::SimpleKey => {
                    if let (path, Some(last)) = self.key(&event) {
                        key = Some((path, last));
                    }
                }
                EventKind::InlineTableOpen => current = Some(self.inline_table(&event)),
                EventKind::ArrayOpen => current = Some(self.array(&event)),
                EventKind::Scalar => current = Some(self.scalar(&event)),
                EventKind::ValueSep | EventKind::InlineTableClose => {
                    if let (Some((path, last)), Some(value)) = (key.take(), current.take()) {
                        self.inline_entry(&mut table, &path, last, value);
                    }
                    if event.kind() == EventKind::InlineTableClose {
                        break;
                    }
                }
                EventKind::StdTableOpen
                | EventKind::ArrayTableOpen
                | EventKind::StdTableClose
                | EventKind::ArrayClose
                | EventKind::ArrayTableClose
                | EventKind::KeySep => break,
                _ => {}
            }
        }
        Spanned {
            span: open.span().start()..end,
            value: Value::Table(table),
        }
    }

    fn inline_entry(
        &mut self,
        table: &mut Table<'i>,
        path: &[Key<'i>],
        key: Key<'i>,
        value: Item<'i>,
    ) {
        let Some(parent) = descend(table, path, true, true, &mut self.errors) else {
            return;
        };
        if parent.dotted == path.is_empty() {
            self.errors.report("duplicate key", &key.span);
            return;
        }
        let span = key.span.clone();
        if parent.insert(key, value).is_err() {
            self.errors.report("duplicate key", &span);
        }
    }

    fn key_value(&mut self, path: Vec<Key<'i>>, key: Key<'i>, value: Item<'i>) {
        let dotted = !path.is_empty();
        let Some(parent) = descend(&mut self.current, &path, dotted, false, &mut self.errors)
        else {
            return;
        };
        let span = key.span.clone();
        // Dotted keys cannot add to a table defined by a header.
        if (dotted && !parent.implicit) || parent.insert(key, value).is_err() {
            self.errors.report("duplicate key", &span);
        }
    }

    fn finish_table(&mut self) {
        let table = core::mem::take(&mut self.current);
        let Some(header) = self.header.take() else {
            self.root = table;
            return;
        };
        let Some(key) = header.key else { return };
        let Some(parent) = descend(&mut self.root, &header.path, false, false, &mut self.errors)
        else {
            return;
        };
        let table = Spanned {
            span: header.span.clone(),
            value: Value::Table(table),
        };
        if !header.is_array {
            // Never there: `start_table` took it out.
            let _ = parent.insert(key, table);
            return;
        }
        let span = key.span.clone();
        let at = match parent.insert(
            key,
            Spanned {
                span: header.span,
                value: Value::Array(Array {
                    items: Vec::new(),
                    of_tables: true,
                }),
            },
        ) {
            Ok(at) | Err(at) => at,
        };
        match &mut parent.entries[at].1.value {
            Value::Array(array) if array.of_tables => array.items.push(table),
            _ => self.errors.report("duplicate key", &span),
        }
    }

    fn start_table(&mut self, header: Header<'i>) {
        if !header.is_array
            && let Some(parent) =
                descend(&mut self.root, &header.path, false, false, &mut self.errors)
            && let Some(key) = &header.key
            && let Ok(at) = parent.find(&key.value)
        {
            let (_, old) = parent.entries.remove(at);
            match old.value {
                Value::Table(table) if table.implicit && !table.dotted => self.current = table,
                old => {
                    // A table is defined once.
                    self.errors.report("duplicate key", &key.span);
                    if let Value::Table(table) = old {
                        self.current = table;
                    }
                }
            }
        }
        self.current.implicit = false;
        self.current.dotted = false;
        self.header = Some(header);
    }
}

/// The table `path` leads to from `table`, made (implicit) where missing.
/// `dotted`: for a dotted key (not a header); `inline`: inside an inline
/// table.
fn descend<'t, 'i>(
    mut table: &'t mut Table<'i>,
    path: &[Key<'i>],
    dotted: bool,
    inline: bool,
    errors: &mut First,
) -> Option<&'t mut Table<'i>> {
    for key in path {
        let made = Spanned {
            span: key.span.clone(),
            value: Value::Table(Table {
                implicit: true,
                dotted,
                inline,
                ..Table::default()
            }),
        };
        let at = match table.insert(key.clone(), made) {
            Ok(at) | Err(at) => at,
        };
        let value = &mut table.entries[at].1.value;
        let described = value.type_str();
        table = match value {
            // The last table of an array of tables, as it is.
            Value::Array(array) if array.of_tables => {
                match array.items.last_mut().map(|last| &mut last.value) {
                    Some(Value::Table(last)) => last,
                    _ => return None,
                }
            }
            Value::Table(child) if child.inline && !inline => {
                errors.report(
                    "cannot extend value of type inline table with a dotted key",
                    &key.span,
                );
                return None;
            }
            Value::Table(child) => {
                if dotted && !inline && child.implicit {
                    child.dotted = true;
                }
                if dotted && !child.implicit {
                    errors.report("duplicate key", &key.span);
                    return None;
                }
                child
            }
            _ => {
                errors.report(
                    format!("cannot extend value of type {described} with a dotted key"),
                    &key.span,
                );
                return None;
            }
        };
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use toml::de::{DeTable, DeValue};

    /// The tree, one line per key and value: span, key, kind.
    fn dump(table: &Table<'_>, depth: usize, out: &mut String) {
        for (key, item) in table.iter() {
            out.push_str(&format!(
                "{depth} {:?} {:?} {:?}",
                key.span(),
                key.get_ref(),
                item.span()
            ));
            dump_value(item.get_ref(), depth, out);
        }
    }

    fn dump_value(value: &Value<'_>, depth: usize, out: &mut String) {
        match value {
            Value::String(text) => out.push_str(&format!(" string {text:?}\n")),
            Value::Integer(digits, radix) => out.push_str(&format!(" integer {digits} {radix}\n")),
            Value::Float => out.push_str(" float\n"),
            Value::Boolean(truth) => out.push_str(&format!(" boolean {truth}\n")),
            Value::Datetime => out.push_str(" datetime\n"),
            Value::Array(array) => {
                out.push_str(" array\n");
                for item in &array.items {
                    out.push_str(&format!("{depth} item {:?}", item.span()));
                    dump_value(item.get_ref(), depth + 1, out);
                }
            }
            Value::Table(table) => {
                out.push_str(" table\n");
                dump(table, depth + 1, out);
            }
        }
    }

    fn oracle(table: &DeTable<'_>, depth: usize, out: &mut String) {
        for (key, item) in table.iter() {
            out.push_str(&format!(
                "{depth} {:?} {:?} {:?}",
                key.span(),
                key.get_ref(),
                item.span()
            ));
            oracle_value(item.get_ref(), depth, out);
        }
    }

    fn oracle_value(value: &DeValue<'_>, depth: usize, out: &mut String) {
        match value {
            DeValue::String(text) => out.push_str(&format!(" string {text:?}\n")),
            DeValue::Integer(n) => {
                out.push_str(&format!(" integer {} {}\n", n.as_str(), n.radix()))
            }
            DeValue::Float(_) => out.push_str(" float\n"),
            DeValue::Boolean(truth) => out.push_str(&format!(" boolean {truth}\n")),
            DeValue::Datetime(_) => out.push_str(" datetime\n"),
            DeValue::Array(array) => {
                out.push_str(" array\n");
                for item in array.iter() {
                    out.push_str(&format!("{depth} item {:?}", item.span()));
                    oracle_value(item.get_ref(), depth + 1, out);
                }
            }
            DeValue::Table(table) => {
                out.push_str(" table\n");
                oracle(table, depth + 1, out);
            }
        }
    }

    /// A tree's dump and its first error's message and span.
    type Read = (String, Option<(String, Option<Range<usize>>)>);

    /// This module's tree and first error for `text`, and `toml`'s.
    fn both(text: &str) -> (Read, Read) {
        let (table, error) = parse(text);
        let mut ours = String::new();
        dump(&table, 0, &mut ours);
        let ours = (ours, error.map(|e| (e.message, e.span)));
        let (table, errors) = DeTable::parse_recoverable(text);
        let mut theirs = String::new();
        oracle(table.get_ref(), 0, &mut theirs);
        let theirs = (
            theirs,
            errors
                .iter()
                .find(|e| !malformed_date(text, e.span()))
                .map(|e| (e.message().to_string(), e.span())),
        );
        (ours, theirs)
    }

    /// Whether `toml`'s error at `span` is its date reader's, which this
    /// module leaves out: its span is a whole date-like scalar (config.rs
    /// refuses every date, as of the wrong type).
    fn malformed_date(text: &str, span: Option<Range<usize>>) -> bool {
        let Some(raw) = span.and_then(|span| text.get(span)) else {
            return false;
        };
        let raw = toml_parser::Raw::new_unchecked(
            raw,
            None,
            toml_parser::Span::new_unchecked(0, raw.len()),
        );
        let mut decoded = Cow::Borrowed("");
        matches!(
            raw.decode_scalar(&mut decoded, &mut ()),
            ScalarKind::DateTime
        )
    }

    #[track_caller]
    fn same(text: &str) {
        let (ours, theirs) = both(text);
        assert_eq!(ours, theirs, "{text:?}");
    }

    #[test]
    fn the_spec_s_table_rules_as_toml_has_them() {
        for text in [
            "",
            "a = 1\nb.c = \"x\"\nb.d = 0x1F\n[t]\nx = 1.5\n[[arr]]\ny = true\n[[arr]]\ny = 1979-05-27\n",
            "a = 1\na = 2\n",
            "[a]\n[a]\n",
            "[a.b]\nx = 1\n[a]\ny = 2\n",
            "[a]\nb.c = 1\n[a.b]\n",
            "[a]\n[a.b]\n[a]\n",
            "a.b = 1\n[a]\n",
            "a = {x = 1}\n[a]\n",
            "a = {x = 1}\na.y = 2\n",
            "a = [1]\n[[a]]\n",
            "[[a]]\n[a]\n",
            "[[a]]\nb = 1\n[a.c]\nd = 2\n[[a]]\n[[a.e]]\n",
            "a = 1\n[a.b]\n",
            "a = 1\nb = {a.b = 1, a.c = 2, a = 3}\n",
            "b = {a = {x = 1}, a.y = 2}\n",
            "x = [1, 2,\n",
            "[service.db]\ncommand = [\"/bin/true\"\n",
            "x = 1979-13-27\n",
            "x = \"\\q\"\ny = 'a\nb'\n",
            "'''k''' = 1\n",
            "a = 1 b = 2\n",
            "[a\nb = 1\n",
            "= 1\n",
            "a.b.c.d = 1\na.b.e = 2\n[a.f]\n[a.b.g]\n",
            "a = {b = 1,}\n",
            "a = {\n b = 1\n}\n",
            "a = [[1], {b = 2}, \"c\"]\n",
            "a = 0o17\nb = 0b101\nc = +1\nd = -0\ne = inf\nf = nan\ng = 1e9\n",
            "a = 99999999999999999999\n",
            "# comment \u{7f}\n",
            "a = \"\u{0}\"\n",
        ] {
            same(text);
        }
        same(&"[".repeat(1000));
        same(&"a = { b = ".repeat(100));
        same(&"a = [".repeat(100));
        same(&format!("{} = 1", vec!["k"; 90].join(".")));
    }

    const PIECES: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        ",",
        ".",
        " ",
        "\n",
        "a",
        "b",
        "c",
        "a.b",
        "b.a",
        "\"a\"",
        "'b'",
        "\"\"",
        "1",
        "0x1f",
        "1.5",
        "true",
        "1979-05-27",
        "1979-13-27",
        "07:32:00",
        "\"s\\n\"",
        "\"\\q\"",
        "#c",
        "[a]\n",
        "[a.b]\n",
        "[[a]]\n",
        "[[a.b]]\n",
        "a = ",
        "b.c = ",
        "\"\"\"m\"\"\"",
        "+",
        "-",
        "_",
        "\t",
        "\r\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn any_text_gives_toml_s_tree_and_first_error(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40),
        ) {
            let text: String = pieces.concat();
            let (ours, theirs) = both(&text);
            prop_assert_eq!(ours, theirs, "{:?}", text);
        }

        #[test]
        fn documents_of_lines_give_toml_s_tree_and_first_error(
            lines in proptest::collection::vec(
                (
                    proptest::sample::select(&["", "[", "[["][..]),
                    proptest::sample::select(&["a", "b", "a.b", "b.a", "a.c", "a.b.c", "\"a\".b"][..]),
                    proptest::sample::select(&[
                        "]", "]]", " = 1", " = {x = 1}", " = {x.y = 1, z = 2}", " = [1, {}]",
                        " = \"s\"", " = {a.b = 1, a = 2}", " = [", " = {", "",
                    ][..]),
                ),
                0..12,
            ),
        ) {
            let text: String = lines
                .iter()
                .map(|(open, key, rest)| format!("{open}{key}{rest}\n"))
                .collect();
            let (ours, theirs) = both(&text);
            prop_assert_eq!(ours, theirs, "{:?}", text);
        }
    }
}
