//! Finding a service's program before anything starts, the way execvp(3)
//! will: through the PATH search of `spawn::candidates`, where a file that
//! exists but may not be executed is passed over and reported only if
//! nothing better is found; a name with a slash is taken as it is.
//! Relative paths are relative to the service's working directory.

use crate::base::prelude::*;

use super::container::{Container, Errno, describe};
use crate::process::spawn::{self, DEFAULT_PATH};

/// The path `program` will be executed from, with `path` the PATH it is
/// looked up in (None: grace's default) and `working_directory` where the
/// service starts; or why it cannot be.
pub fn find(
    program: &str,
    working_directory: Option<&str>,
    path: Option<&str>,
    container: &dyn Container,
) -> Result<String, String> {
    if program.is_empty() {
        return Err("the program is an empty string".into());
    }
    if program.contains('/') {
        let candidate = within(working_directory, program);
        return match container.executable(&candidate) {
            Ok(()) => Ok(candidate),
            Err(code) => Err(cannot_execute(&candidate, code)),
        };
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    let mut denied = None;
    for candidate in spawn::candidates(program.as_bytes(), Some(path.as_bytes())) {
        let candidate = within(working_directory, &String::from_utf8_lossy(&candidate));
        match container.executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(libc::EACCES) => {
                denied.get_or_insert(candidate);
            }
            Err(libc::ENOENT | libc::ENOTDIR) => {}
            // As execvp: any other failure ends the search.
            Err(code) => return Err(cannot_execute(&candidate, code)),
        }
    }
    match denied {
        Some(candidate) => Err(cannot_execute(&candidate, libc::EACCES)),
        None => Err(format!("\"{program}\" not found in PATH ({path})")),
    }
}

fn cannot_execute(path: &str, code: Errno) -> String {
    match code {
        libc::EACCES => format!("\"{path}\" cannot be executed: not an executable file"),
        other => format!("\"{path}\": {}", describe(other)),
    }
}

/// `path` as seen from `directory` (None: grace's own working directory),
/// without `.` components, so that messages show the path plainly; a
/// relative result keeps a slash, so that it is never looked up in PATH.
pub fn within(directory: Option<&str>, path: &str) -> String {
    let joined = match directory {
        Some(directory) if !path.starts_with('/') => format!("{directory}/{path}"),
        _ => path.to_string(),
    };
    let absolute = joined.starts_with('/');
    // Joined by hand: the only join of &strs in the binary would be a
    // kilobyte of its own, beside the one of Strings.
    let mut parts = String::new();
    for part in joined.split('/') {
        if !part.is_empty() && part != "." {
            if !parts.is_empty() {
                parts.push('/');
            }
            parts.push_str(part);
        }
    }
    match (absolute, parts.is_empty()) {
        (true, _) => format!("/{parts}"),
        (false, true) => ".".into(),
        (false, false) if !parts.contains('/') => format!("./{parts}"),
        (false, false) => parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::container::fake::Fake;

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        let mut fake = Fake::new();
        fake.files
            .insert("/usr/bin/denied".into(), Err(libc::EACCES));
        fake.files.insert("/bin/denied".into(), Ok(()));
        fake.files
            .insert("/opt/only-denied".into(), Err(libc::EACCES));
        fake.files.insert("/app/bin/tool".into(), Ok(()));
        let find = |program, directory, path| find(program, directory, path, &fake);

        assert_eq!(
            find("db", None, Some("/usr/bin:/bin")),
            Ok("/usr/bin/db".into())
        );
        assert_eq!(
            find("true", None, Some("/usr/bin:/bin")),
            Ok("/bin/true".into())
        );
        // A file that may not be executed is passed over...
        assert_eq!(
            find("denied", None, Some("/usr/bin:/bin")),
            Ok("/bin/denied".into())
        );
        // ...and named when nothing better is found.
        let error = find("only-denied", None, Some("/opt")).unwrap_err();
        assert!(error.contains("/opt/only-denied") && error.contains("not an executable"));
        // A directory is not a program.
        let error = find("/app", None, None).unwrap_err();
        assert!(error.contains("not an executable"), "{error}");
        assert_eq!(
            find("nope", None, Some("/usr/bin:/bin")),
            Err("\"nope\" not found in PATH (/usr/bin:/bin)".into())
        );
        assert!(find("nope", None, None).unwrap_err().contains(DEFAULT_PATH));
        assert_eq!(find("sh", None, None), Ok("/bin/sh".into()));
        assert_eq!(find("/bin/sh", None, Some("")), Ok("/bin/sh".into()));
        assert_eq!(
            find("/usr/bin/dbx", None, None),
            Err("\"/usr/bin/dbx\": not found".into())
        );
        // Relative: from the working directory, PATH's empty entry too.
        assert_eq!(
            find("./server", Some("/app"), None),
            Ok("/app/server".into())
        );
        assert_eq!(
            find("bin/tool", Some("/app/"), None),
            Ok("/app/bin/tool".into())
        );
        assert_eq!(
            find("server", Some("/app"), Some(":/bin")),
            Ok("/app/server".into())
        );
        assert_eq!(find("server", Some("/app"), Some("/bin")).ok(), None);
        assert!(find("", None, None).is_err());
    }

    #[test]
    fn paths_are_shown_plainly() {
        assert_eq!(within(Some("/app"), "./x"), "/app/x");
        assert_eq!(within(Some("/app"), "/bin/x"), "/bin/x");
        assert_eq!(within(None, "./x"), "./x");
        assert_eq!(within(None, "x"), "./x");
        assert_eq!(within(None, "."), ".");
        assert_eq!(within(Some("rel"), "a//b"), "rel/a/b");
        assert_eq!(within(Some("/"), "."), "/");
    }
}
