//! The one JSON writer in grace, for its two JSON outputs: log lines
//! (`--log-format json`, docs/logging.md), one compact object per line, and
//! `grace inspect --json` (docs/inspect.md), an indented document. Both
//! build a `Value` and write it here, so a string is escaped the same way
//! in both. Written by hand: grace needs no serialisation crate for this.

use core::fmt::Write as _;

use crate::base::prelude::*;

/// A JSON value. Objects keep their keys in the order given, which is the
/// documented order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(&'static str, Value)>),
}

impl Value {
    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    pub fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        value.map_or(Value::Null, f)
    }

    pub fn strings(items: impl IntoIterator<Item = String>) -> Value {
        Value::Arr(items.into_iter().map(Value::Str).collect())
    }

    /// On one line with no spaces, as in a log line.
    pub fn write(&self, out: &mut String) {
        self.write_at(out, None);
    }

    /// Indented by two spaces a level: objects and arrays of containers
    /// one entry per line, arrays of scalars on one line.
    pub fn write_pretty(&self, out: &mut String) {
        self.write_at(out, Some(0));
    }

    /// A whole document for a subcommand's stdout: pretty, and a newline.
    pub fn pretty_document(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out);
        out.push('\n');
        out
    }

    /// `indent`: the depth when indenting, `None` when compact.
    fn write_at(&self, out: &mut String, indent: Option<usize>) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Str(text) => string(text, out),
            Value::Arr(items) if items.is_empty() => out.push_str("[]"),
            Value::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Value::Arr(items)
                if indent.is_none()
                    || !items
                        .iter()
                        .any(|i| matches!(i, Value::Obj(_) | Value::Arr(_))) =>
            {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(if indent.is_some() { ", " } else { "," });
                    }
                    item.write_at(out, indent);
                }
                out.push(']');
            }
            Value::Arr(items) => block(out, ['[', ']'], items.iter().map(|i| (None, i)), indent),
            Value::Obj(fields) => block(
                out,
                ['{', '}'],
                fields.iter().map(|(k, v)| (Some(*k), v)),
                indent,
            ),
        }
    }
}

/// An object's or array's entries, each on a line of its own when
/// indenting.
fn block<'a>(
    out: &mut String,
    [open, close]: [char; 2],
    entries: impl Iterator<Item = (Option<&'a str>, &'a Value)>,
    indent: Option<usize>,
) {
    let inner = indent.map(|depth| depth + 1);
    out.push(open);
    for (n, (key, value)) in entries.enumerate() {
        if n > 0 {
            out.push(',');
        }
        if let Some(depth) = inner {
            out.push('\n');
            pad(out, depth);
        }
        if let Some(key) = key {
            string(key, out);
            out.push_str(if inner.is_some() { ": " } else { ":" });
        }
        value.write_at(out, inner);
    }
    if let Some(depth) = indent {
        out.push('\n');
        pad(out, depth);
    }
    out.push(close);
}

fn pad(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Appends `text` as a JSON string: quotes, backslashes and every control
/// character escaped, and the two line separators JavaScript reads as line
/// ends; everything else as is (JSON is UTF-8).
pub fn string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        escape_char(c, out);
    }
    out.push('"');
}

/// Appends one character of a JSON string's contents, escaped as `string`
/// does (for writers that cut a string to a length, as service output's).
pub fn escape_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let escaped = |text: &str| {
            let mut out = String::new();
            string(text, &mut out);
            out
        };
        assert_eq!(escaped("plain"), r#""plain""#);
        assert_eq!(escaped("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            escaped("\n\r\t\u{0}\u{1}\u{1f}\u{7f}"),
            r#""\n\r\t\u0000\u0001\u001f\u007f""#
        );
        assert_eq!(escaped("é☃\u{2028}\u{2029}"), "\"é☃\\u2028\\u2029\"");
    }

    #[test]
    fn compact_and_indented_layouts() {
        let value = Value::Obj(vec![
            ("n", Value::Int(-3)),
            ("empty", Value::Arr(vec![])),
            ("none", Value::Obj(vec![])),
            ("scalars", Value::Arr(vec![Value::Int(1), Value::Null])),
            (
                "objects",
                Value::Arr(vec![Value::Obj(vec![
                    ("b", Value::Bool(true)),
                    ("s", Value::str("x")),
                ])]),
            ),
        ]);
        let mut compact = String::new();
        value.write(&mut compact);
        assert_eq!(
            compact,
            r#"{"n":-3,"empty":[],"none":{},"scalars":[1,null],"objects":[{"b":true,"s":"x"}]}"#
        );
        let mut pretty = String::new();
        value.write_pretty(&mut pretty);
        assert_eq!(
            pretty,
            "{\n  \"n\": -3,\n  \"empty\": [],\n  \"none\": {},\n  \"scalars\": [1, null],\n  \
             \"objects\": [\n    {\n      \"b\": true,\n      \"s\": \"x\"\n    }\n  ]\n}"
        );
    }
}
