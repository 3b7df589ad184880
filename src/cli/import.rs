//! The `import` subcommand's command line and help (what import does is in
//! src/services/import/).

use crate::base::prelude::*;

use super::lexer::{Long, Short, Tokens, Value};
use super::{Invocation, UsageError};

pub const IMPORT_USAGE: &str = "usage: grace import FILE";

pub const IMPORT_HELP: &str = "\
grace import: print a services file (docs/services.md) equivalent to FILE,
a supervisord configuration (one with a [program:NAME] section) or else a
Procfile. What cannot be translated is a comment saying why; check the
result with grace check.

usage: grace import FILE

Options:
  -h, --help         show this help and exit

Exit status: 0 when FILE was translated, 2 when it cannot be read or is
neither, or for a usage error.
";

/// `import`'s arguments, after the word `import`.
pub fn parse(args: Vec<Vec<u8>>) -> Result<Invocation, UsageError> {
    let mut parser = Tokens::new(args);
    let mut file = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::ImportHelp),
            Value(word) if file.is_none() => {
                let path = String::from_utf8(word)
                    .map_err(|_| UsageError::new("FILE: the path is not UTF-8"))?;
                file = Some(path);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    match file {
        Some(file) => Ok(Invocation::Import(file)),
        None => Err(UsageError::new("no FILE given")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing::*;

    #[test]
    fn import_is_a_subcommand_only_as_the_first_word() {
        assert_eq!(
            parse_words(&["import", "supervisord.conf"]),
            Ok(Invocation::Import("supervisord.conf".into()))
        );
        assert_eq!(
            parse_words(&["import", "--help"]),
            Ok(Invocation::ImportHelp)
        );
        refused(
            Personality::Grace,
            &[&["import"][..], &["import", "a", "b"]],
        );
        assert_eq!(config(&["--", "import", "f"]).command, b"import");
        assert_eq!(
            usage_for(Personality::Grace, &os_all(&["import"])),
            (IMPORT_USAGE, "grace import --help")
        );
        for line in IMPORT_HELP.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
