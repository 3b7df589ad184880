//! Environment variables. A process's environment is a list of `NAME=value`
//! entries, as execve(2) takes it and /proc/PID/environ shows it; this is
//! the one place that says how an entry splits into a name and a value,
//! and which entry counts when a name is there twice.
//!
//! **The first one counts.** The kernel keeps what execve was given,
//! duplicates included (`env -i A=1 A=2 …` makes them), and getenv(3) in
//! musl and glibc scans from the start and stops at the first match: so do
//! the shell's lookups through libc, std's `env::var`, and every program
//! grace starts. grace reads a variable as the process holding it reads
//! it: its own `GRACE_` options as the command would see them, the PATH it
//! searches as execvp(3) would, a service's `GRACE_SERVICE` in
//! /proc/PID/environ as that service's processes see it, and another
//! grace's variables (`grace inspect`) as that grace read them.

use crate::base::prelude::*;

/// `entry` split into its name and value, as std splits it: at the first
/// `=` after the first byte, so that a leading `=` belongs to the name.
/// None for an entry without `=`, which no lookup finds.
pub fn split(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = entry.iter().skip(1).position(|&b| b == b'=')? + 1;
    Some((&entry[..at], &entry[at + 1..]))
}

/// Every entry of `entries` as (name, value), in order; those without `=`
/// are left out.
pub fn variables(entries: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    entries
        .iter()
        .filter_map(|entry| split(entry))
        .map(|(name, value)| (name.to_vec(), value.to_vec()))
        .collect()
}

/// The value of `name` among `variables`, (name, value) as `variables`
/// gives them: the first one.
pub fn lookup<'a>(variables: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    first(
        variables
            .iter()
            .map(|(key, value)| (key.as_slice(), value.as_slice())),
        name,
    )
}

/// The value of `name` among `entries`, `NAME=value` each (grace's own
/// environment, or /proc/PID/environ split at its NUL bytes): the first one.
pub fn lookup_entry<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
) -> Option<&'a [u8]> {
    first(entries.into_iter().filter_map(split), name)
}

/// `entries` with `name` set to `value`: every entry of that name
/// replaced by one, at the end.
pub fn with(entries: &[Vec<u8>], name: &str, value: &[u8]) -> Vec<Vec<u8>> {
    let mut result: Vec<Vec<u8>> = entries
        .iter()
        .filter(|entry| split(entry).is_none_or(|(key, _)| key != name.as_bytes()))
        .cloned()
        .collect();
    let mut entry = name.as_bytes().to_vec();
    entry.push(b'=');
    entry.extend_from_slice(value);
    result.push(entry);
    result
}

/// The rule, for every form: the first entry named `name`.
fn first<'a>(
    mut variables: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    name: &str,
) -> Option<&'a [u8]> {
    variables
        .find(|(key, _)| *key == name.as_bytes())
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|item| item.as_bytes().to_vec()).collect()
    }

    #[test]
    fn entries_split_as_std_splits_them() {
        let environment = entries(&["PATH=/bin", "EMPTY=", "A=b=c", "NOEQUALS", "=x=y", ""]);
        let split = variables(&environment);
        let split: Vec<(&[u8], &[u8])> = split
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        assert_eq!(
            split,
            [
                (&b"PATH"[..], &b"/bin"[..]),
                (b"EMPTY", b""),
                (b"A", b"b=c"),
                (b"=x", b"y"),
            ]
        );
    }

    #[test]
    fn a_variable_is_replaced_or_added() {
        let environment = entries(&["HOME=/root", "HOMER=x", "PATH=/bin", "HOME=/again"]);
        assert_eq!(
            with(&environment, "HOME", b"/home/app"),
            entries(&["HOMER=x", "PATH=/bin", "HOME=/home/app"])
        );
        assert_eq!(with(&[], "HOME", b"/"), entries(&["HOME=/"]));
    }

    /// Every form finds the same entry: the first, as getenv(3) does.
    #[test]
    fn the_first_entry_of_a_name_counts_in_every_form() {
        let environment = entries(&[
            "PATHS=x",
            "NOEQUALS",
            "PATH=/a:/b",
            "HOME=/",
            "PATH=/c",
            "EMPTY=",
        ]);
        let raw: Vec<u8> = environment.join(&0u8);
        let pairs = variables(&environment);
        let in_every_form = |name: &str| {
            [
                lookup_entry(environment.iter().map(Vec::as_slice), name),
                lookup_entry(raw.split(|&b| b == 0), name),
                lookup(&pairs, name),
            ]
            .map(|found| found.map(<[u8]>::to_vec))
        };
        for (name, value) in [
            ("PATH", Some("/a:/b")),
            ("HOME", Some("/")),
            ("EMPTY", Some("")),
            ("PAT", None),
            ("PATHSX", None),
            ("NOEQUALS", None),
            ("", None),
            ("X", None),
        ] {
            let expected = value.map(|value| value.as_bytes().to_vec());
            assert_eq!(
                in_every_form(name),
                [(); 3].map(|_| expected.clone()),
                "{name}"
            );
        }
    }
}
