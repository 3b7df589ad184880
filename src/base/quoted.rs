//! A string as grace shows a value the user wrote in a message: the
//! escapes of Rust's `{:?}` and `escape_debug` for quotes, backslashes and
//! control characters, and every other character as it is. Not `{:?}`
//! itself, whose Unicode tables (which characters print, which extend a
//! grapheme) cost about 4 KB of the binary for four messages; the two
//! differ only on characters that are neither control nor printable ASCII
//! and that Unicode calls unprintable or combining, which `{:?}` escapes.

use core::fmt;

/// The string's characters, escaped.
pub struct Escaped<'a>(pub &'a str);

/// The string in double quotes, escaped.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\0' => f.write_str("\\0")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", Escaped(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// As `{:?}` on ASCII, controls included, and on printable
        /// non-ASCII text (letters, CJK, emoji).
        #[test]
        fn as_debug_on_ascii_and_printable_text(
            text in "[\\x00-\\x7f]{0,40}|[a-zé漢字😀 \"\\\\]{0,20}"
        ) {
            prop_assert_eq!(Quoted(&text).to_string(), format!("{text:?}"));
        }

        /// As `escape_debug` on control characters (toml_parser's expected
        /// literals that are not printable).
        #[test]
        fn as_escape_debug_on_controls(text in "[\\x00-\\x1f\\x7f]{0,20}") {
            prop_assert_eq!(Escaped(&text).to_string(), text.escape_debug().to_string());
        }
    }
}
