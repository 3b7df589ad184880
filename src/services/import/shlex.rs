//! A supervisord `command` split into words as supervisord splits it:
//! Python's `shlex.split` (POSIX mode, no comments). Words end at
//! unquoted whitespace; `'...'` is taken as it is; in `"..."` a backslash
//! escapes only `"` and `\` (and stays before anything else); outside
//! quotes a backslash escapes any character. A quoted empty string is a
//! word. Not the `shlex` crate: it splits as sh does, which differs here
//! (a word starting with `#` is a comment there, and `\$` in double quotes
//! loses its backslash), and supervisord's reading is the one to keep.

use crate::base::prelude::*;

/// The words of `text`; Err when a quote or an escape is left open.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Quoted(char),
        Escaped(Option<char>),
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    for letter in text.chars() {
        state = match (state, letter) {
            (State::Escaped(quote), _) => {
                if quote == Some('"') && letter != '"' && letter != '\\' {
                    word.push('\\');
                }
                word.push(letter);
                quote.map_or(State::Word, State::Quoted)
            }
            (State::Quoted(quote), _) if letter == quote => State::Word,
            (State::Quoted('"'), '\\') => State::Escaped(Some('"')),
            (State::Quoted(quote), _) => {
                word.push(letter);
                State::Quoted(quote)
            }
            (_, ' ' | '\t' | '\r' | '\n') => {
                if state == State::Word {
                    words.push(core::mem::take(&mut word));
                }
                State::Between
            }
            (_, '\'' | '"') => State::Quoted(letter),
            (_, '\\') => State::Escaped(None),
            (_, _) => {
                word.push(letter);
                State::Word
            }
        };
    }
    match state {
        State::Quoted(_) => Err("no closing quotation".into()),
        State::Escaped(_) => Err("no escaped character".into()),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Between => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case as Python 3's `shlex.split` splits it.
    #[test]
    fn commands_split_as_python_splits_them() {
        for (text, words) in [
            ("/usr/bin/cat", &["/usr/bin/cat"][..]),
            ("  a   b\tc\n", &["a", "b", "c"]),
            ("sh -c 'echo hi; exit 3'", &["sh", "-c", "echo hi; exit 3"]),
            (
                r#"echo "a \"b\" \$c \\ \x""#,
                &["echo", r#"a "b" \$c \ \x"#][..],
            ),
            (r"a\ b \'c\'", &["a b", "'c'"]),
            ("a '' \"\" b", &["a", "", "", "b"]),
            ("x'y'\"z\"w", &["xyzw"]),
            ("#not a comment", &["#not", "a", "comment"]),
            ("'it'\\''s'", &["it's"]),
            ("", &[]),
            ("   ", &[]),
            ("é 'ü ö'", &["é", "ü ö"]),
        ] {
            assert_eq!(split(text).unwrap(), words, "{text}");
        }
        assert!(split("'open").is_err());
        assert!(split("\"open").is_err());
        assert!(split("trailing\\").is_err());
    }
}
