//! Variables in the services file: `env_file` (docker's `--env-file`
//! format) read into `NAME=value` pairs, and `${VAR}` / `${VAR:-default}`
//! expanded in a string. Both run while the file is checked, so that a
//! missing variable is a `grace check` error and nothing can fail on one
//! once services have started. Where a variable's value comes from (the
//! env files, then grace's environment) is `config`'s to decide.

use crate::base::prelude::*;

/// The variables of an env file, in order: `NAME=value` lines, blank lines
/// and `#` comment lines skipped, and a value in matching single or double
/// quotes taken without them (compose's reading; docker keeps them). A
/// line with a name alone takes that variable from `inherited` (docker's
/// rule), or is skipped when it is not set there. Err: the line (from 1)
/// and what is wrong with it.
pub fn env_file(
    text: &str,
    inherited: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut variables = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name, Some(unquoted(value))),
            None => (line.trim_end(), None),
        };
        if !valid_name(name) {
            return Err((
                index + 1,
                format!("invalid variable name \"{name}\": expected NAME=value"),
            ));
        }
        let value = match value {
            Some(value) => value.to_string(),
            None => match inherited(name) {
                Some(value) => value,
                None => continue,
            },
        };
        if value.contains('\0') {
            return Err((index + 1, "a value cannot hold a NUL byte".into()));
        }
        variables.push((name.to_string(), value));
    }
    Ok(variables)
}

/// `value` without one pair of matching quotes around it.
fn unquoted(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// A variable's name as a shell takes it: letters, digits and `_`, not
/// starting with a digit.
fn valid_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `text` with `${VAR}` replaced by VAR's value, `${VAR:-default}` by
/// VAR's value or, when it is unset or empty, `default` (as written), and
/// `$$` by `$`. Any other `$` stays as it is, so that `$HOME` in a
/// `sh -c` script is the shell's. Err: what is wrong, naming the variable.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inside) = after.strip_prefix('{') {
            let Some(end) = inside.find('}') else {
                return Err(format!(
                    "unclosed \"${{{inside}\": expected ${{VAR}} or ${{VAR:-default}} \
                     ($$ for a $)"
                ));
            };
            let (name, default) = match inside[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&inside[..end], None),
            };
            if !valid_name(name) {
                return Err(format!(
                    "invalid variable name \"{name}\" in \"${{{}}}\" ($$ for a $)",
                    &inside[..end]
                ));
            }
            match (lookup(name), default) {
                (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "variable {name} is not set: set it, or give a default \
                         (${{{name}:-VALUE}})"
                    ));
                }
            }
            rest = &inside[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/root".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_expand_with_defaults_and_dollars_stay() {
        for (text, expanded) in [
            ("${HOME}/data", "/root/data"),
            ("${NOPE:-8080}", "8080"),
            ("${HOME:-x}", "/root"),
            ("${EMPTY:-x}", "x"),
            ("${EMPTY}", ""),
            ("${NOPE:-}", ""),
            ("$$HOME costs $$5", "$HOME costs $5"),
            ("echo $HOME $1 $", "echo $HOME $1 $"),
            ("${NOPE:-a:-b}", "a:-b"),
            ("", ""),
            ("plain", "plain"),
            ("é${HOME}é", "é/rooté"),
        ] {
            assert_eq!(expand(text, &set).as_deref(), Ok(expanded), "{text}");
        }
        let unset = expand("--port=${PORT}", &set).unwrap_err();
        assert!(unset.starts_with("variable PORT is not set"), "{unset}");
        for (text, why) in [
            ("${HOME", "unclosed"),
            ("${}", "invalid variable name"),
            ("${1X}", "invalid variable name"),
            ("${A B}", "invalid variable name"),
            ("${HOME:x}", "invalid variable name"),
        ] {
            let message = expand(text, &set).unwrap_err();
            assert!(message.contains(why), "{text}: {message}");
        }
    }

    #[test]
    fn env_files_read_as_docker_reads_them() {
        let text = "# settings\n\n  DB_HOST=db\nQUOTED=\"a b\"\nSINGLE='x'\nHALF=\"x\n\
                    EQUALS=a=b\nEMPTY=\nHOME\nUNSET\n";
        let variables = env_file(text, &set).unwrap();
        let pairs: Vec<(&str, &str)> = variables
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("DB_HOST", "db"),
                ("QUOTED", "a b"),
                ("SINGLE", "x"),
                ("HALF", "\"x"),
                ("EQUALS", "a=b"),
                ("EMPTY", ""),
                ("HOME", "/root"),
            ]
        );
        assert_eq!(
            env_file("A=1\nB C=2\n", &set).unwrap_err(),
            (
                2,
                "invalid variable name \"B C\": expected NAME=value".into()
            )
        );
        assert!(env_file("=x\n", &set).is_err());
        assert!(env_file("export A=1\n", &set).is_err());
    }
}
