//! `grace import FILE`: a supervisord configuration or a Procfile
//! translated into a services file (docs/services.md), printed on stdout.
//! What cannot be translated is a comment in the output that says why, so
//! that nothing is dropped silently; the result is checked by `grace
//! check` like any other file.
//!
//! - `ini`: supervisord's file format (Python's configparser);
//! - `shlex`: a `command` split into words as supervisord splits it;
//! - `supervisord`: its sections and settings translated;
//! - `procfile`: a Procfile's `NAME: COMMAND` lines translated.

mod ini;
mod procfile;
mod shlex;
mod supervisord;

use core::str;

use crate::base::prelude::*;

use super::check::{EXIT_INVALID, read};
use super::config::{basic_string, key_part};
use crate::{error, sys};

pub fn run(file: &str) -> i32 {
    let Some(text) = read(file) else {
        return EXIT_INVALID;
    };
    match translate(file, &text) {
        Ok(out) => {
            let _ = sys::write_all(libc::STDOUT_FILENO, out.as_bytes());
            0
        }
        Err(why) => {
            error!("import", [file = file], "{file}:{why}");
            EXIT_INVALID
        }
    }
}

/// The services file for `text`, read from `file`: a supervisord
/// configuration when it has a `[program:NAME]` section, else a Procfile.
/// Err: `LINE: MESSAGE` (or ` MESSAGE` about the whole file).
pub fn translate(file: &str, text: &str) -> Result<String, String> {
    let supervisord = text
        .lines()
        .any(|line| line.trim_start().starts_with("[program:"));
    let mut out = Output::default();
    let format = if supervisord {
        "a supervisord configuration"
    } else {
        "a Procfile"
    };
    out.comment(&format!(
        "Translated from {file}, {format}, by grace import."
    ));
    out.comment("Check it where the services will run: grace check FILE.");
    if supervisord {
        supervisord::translate(file, text, &mut out)?;
    } else {
        procfile::translate(text, &mut out)?;
    }
    if out.services == 0 {
        return Err(format!(" no program found to translate, as {format}"));
    }
    Ok(out.text)
}

/// The services file being written.
#[derive(Default)]
pub struct Output {
    text: String,
    services: usize,
}

impl Output {
    /// `# TEXT`, a line for each of its lines.
    pub fn comment(&mut self, text: &str) {
        for line in text.lines() {
            self.text.push_str("# ");
            self.text.push_str(line);
            self.text.push('\n');
        }
    }

    /// An empty line.
    pub fn gap(&mut self) {
        self.text.push('\n');
    }

    /// `[service.NAME]`.
    pub fn service(&mut self, name: &str) {
        self.text.push_str("\n[service.");
        self.text.push_str(&key_part(name));
        self.text.push_str("]\n");
        self.services += 1;
    }

    /// `KEY = "VALUE"`.
    pub fn string(&mut self, key: &str, value: &str) {
        self.raw(key, &basic_string(value));
    }

    /// `KEY = ["WORD", ...]`.
    pub fn strings<S: AsRef<str>>(&mut self, key: &str, words: &[S]) {
        let mut items = words.iter().map(|word| basic_string(word.as_ref()));
        self.list(key, "[", &mut items, "]");
    }

    /// `KEY = { NAME = "VALUE", ... }`.
    pub fn table(&mut self, key: &str, entries: &[(String, String)]) {
        let mut items = entries
            .iter()
            .map(|(name, value)| [key_part(name), basic_string(value)].join(" = "));
        self.list(key, "{ ", &mut items, " }");
    }

    /// `KEY = OPEN ITEM, ... CLOSE`: one copy for every kind of item.
    fn list(
        &mut self,
        key: &str,
        open: &str,
        items: &mut dyn Iterator<Item = String>,
        close: &str,
    ) {
        for part in [key, " = ", open] {
            self.text.push_str(part);
        }
        for (at, item) in items.enumerate() {
            if at > 0 {
                self.text.push_str(", ");
            }
            self.text.push_str(&item);
        }
        self.text.push_str(close);
        self.text.push('\n');
    }

    /// `KEY = VALUE`, the value written as it is.
    pub fn raw(&mut self, key: &str, value: &str) {
        for part in [key, " = ", value, "\n"] {
            self.text.push_str(part);
        }
    }
}

/// `text` as grace reads it literally: every `$` doubled, so that grace's
/// `${VAR}` expansion leaves it as it was written.
pub fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// A service name grace accepts, from `name`: letters, digits, `-` and
/// `_` kept, anything else `-`.
pub fn service_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '-'
        });
    }
    out
}
