//! A supervisord configuration read as supervisord reads it: Python's
//! configparser, as supervisord sets it up (`=` or `:` between a key and
//! its value, keys in lower case, `;` and `#` comments on a line of their
//! own or after whitespace, an indented line continuing the value above,
//! no interpolation: supervisord expands `%(...)s` itself, per setting).
//! The no_std INI crates read `key=value` lines only (no `:`, no
//! continuation lines, no inline comments), which would leave most of this
//! to write anyway.

use crate::base::prelude::*;

/// A `[NAME]` section and its settings, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// (key, value, line from 1); a key given twice keeps its last value
    /// in the place of its first, as configparser keeps it.
    pub settings: Vec<(String, String, usize)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(known, _, _)| known == key)
            .map(|(_, value, _)| value.as_str())
    }
}

/// The sections of `text`. Err: the line (from 1) and what is wrong.
pub fn read(text: &str) -> Result<Vec<Section>, (usize, String)> {
    let mut sections: Vec<Section> = Vec::new();
    // The section settings go to: a section given twice is one, as
    // configparser (non-strict, as supervisord has it) merges them.
    let mut current: Option<usize> = None;
    // The setting a continuation line adds to: (section, setting).
    let mut open: Option<(usize, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = without_comment(raw);
        if line.trim().is_empty() {
            // A blank line or a comment ends a value.
            open = None;
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if let (true, Some((section, setting))) = (indented, open) {
            let value = &mut sections[section].settings[setting].1;
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let Some((name, _)) = header.split_once(']') else {
                return Err((number, format!("invalid section header \"{line}\"")));
            };
            current = match sections.iter().position(|section| section.name == name) {
                Some(at) => Some(at),
                None => {
                    sections.push(Section {
                        name: name.to_string(),
                        settings: Vec::new(),
                    });
                    Some(sections.len() - 1)
                }
            };
            open = None;
            continue;
        }
        let Some(section) = current else {
            return Err((number, "a setting before any [section]".into()));
        };
        let Some(at) = line.find(['=', ':']) else {
            return Err((number, format!("expected KEY = VALUE, found \"{line}\"")));
        };
        let key = line[..at].trim().to_ascii_lowercase();
        let value = line[at + 1..].trim().to_string();
        let settings = &mut sections[section].settings;
        let setting = match settings.iter().position(|(known, _, _)| *known == key) {
            Some(setting) => {
                settings[setting].1 = value;
                settings[setting].2 = number;
                setting
            }
            None => {
                settings.push((key, value, number));
                settings.len() - 1
            }
        };
        open = Some((section, setting));
    }
    Ok(sections)
}

/// `line` without its comment: a whole line starting with `;` or `#`, or
/// the rest after a `;` or `#` that follows whitespace.
fn without_comment(line: &str) -> &str {
    if line.trim_start().starts_with([';', '#']) {
        return "";
    }
    let mut previous = ' ';
    for (at, letter) in line.char_indices() {
        if (letter == ';' || letter == '#') && previous.is_whitespace() && at > 0 {
            return &line[..at];
        }
        previous = letter;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn settings(section: &Section) -> Vec<(&str, &str)> {
        section
            .settings
            .iter()
            .map(|(key, value, _)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn supervisord_files_read_as_configparser_reads_them() {
        let text = "; a comment\n[supervisord]\nnodaemon=true\n\n\
                    [program:web]\nCommand = /bin/web --port 80 ; the web\n\
                    environment: A=\"1\",\n    B=\"2\"\n# note\nurl=http://x/#top\n\
                    autostart=false\n[program:web]\nautostart=true\n";
        let sections = read(text).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].name, "supervisord");
        assert_eq!(settings(&sections[0]), [("nodaemon", "true")]);
        assert_eq!(sections[1].name, "program:web");
        assert_eq!(
            settings(&sections[1]),
            [
                ("command", "/bin/web --port 80"),
                ("environment", "A=\"1\",\nB=\"2\""),
                ("url", "http://x/#top"),
                ("autostart", "true"),
            ]
        );
        assert_eq!(sections[1].settings[0].2, 6);
        assert_eq!(sections[1].get("url"), Some("http://x/#top"));
        assert_eq!(read("x=1\n").unwrap_err().0, 1);
        assert_eq!(read("[a]\nno value\n").unwrap_err().0, 2);
        assert!(read("[a\n").is_err());
    }

    proptest! {
        /// Whatever is written as `key = value` under its section is read
        /// back: the key in lower case, the value trimmed.
        #[test]
        fn written_settings_are_read_back(
            sections in proptest::collection::vec(
                ("[a-z][a-z0-9:_-]{0,8}",
                 proptest::collection::vec(("[A-Za-z][A-Za-z0-9_]{0,8}", "[^\\n\\r;#=:]{0,20}"), 0..5)),
                1..4,
            ),
        ) {
            let mut text = String::new();
            let mut expected: Vec<(String, Vec<(String, String)>)> = Vec::new();
            for (name, settings) in &sections {
                text.push_str(&format!("[{name}]\n"));
                let index = match expected.iter().position(|(known, _)| known == name) {
                    Some(index) => index,
                    None => {
                        expected.push((name.clone(), Vec::new()));
                        expected.len() - 1
                    }
                };
                for (key, value) in settings {
                    text.push_str(&format!("{key} = {value}\n"));
                    let key = key.to_ascii_lowercase();
                    let value = value.trim().to_string();
                    let list = &mut expected[index].1;
                    match list.iter().position(|(known, _)| *known == key) {
                        Some(at) => list[at].1 = value,
                        None => list.push((key, value)),
                    }
                }
            }
            let read = read(&text).unwrap();
            let read: Vec<(String, Vec<(String, String)>)> = read
                .iter()
                .map(|section| {
                    let list = section.settings.iter().map(|(k, v, _)| (k.clone(), v.clone()));
                    (section.name.clone(), list.collect())
                })
                .collect();
            prop_assert_eq!(read, expected);
        }

        /// No input makes the reader panic.
        #[test]
        fn any_text_is_read_or_refused(text in "[\\[\\]a-z=:;# \\t\\n]{0,80}") {
            let _ = read(&text);
        }
    }
}
