//! `--user USER[:GROUP]`: who the command runs as, resolved from the
//! container's /etc/passwd and /etc/group the way gosu and su-exec do.
//!
//! grace parses those files itself instead of calling getpwnam(3): a static
//! musl binary has no NSS, and a container's user database is just these two
//! files anyway. Everything is resolved before the fork, so the child only
//! makes the three system calls (setgroups, setgid, setuid) with values
//! prepared here.

use core::fmt;

use crate::base::prelude::*;
use crate::sys;

/// The most grace reads of /etc/passwd or /etc/group: a container's user
/// database is a few kilobytes, and even one listing a whole directory
/// service's users fits.
pub const DATABASE_LIMIT: usize = 16 << 20;

/// /etc/passwd or /etc/group as text; empty when unreadable or larger
/// than `DATABASE_LIMIT`, which `resolve` then reports as a user it
/// cannot find.
pub fn read_database(path: &str) -> String {
    sys::read_file(path, DATABASE_LIMIT)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// What `--user` asked for: a name or a numeric id, and optionally a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

impl fmt::Display for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(group) => write!(f, "{}:{group}", self.user),
            None => f.write_str(&self.user),
        }
    }
}

impl core::str::FromStr for UserSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (user, group) = match text.split_once(':') {
            Some((user, group)) => (user, Some(group)),
            None => (text, None),
        };
        let valid = |part: &str| {
            !part.is_empty()
                && !part.contains(':')
                && part.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
        };
        if !valid(user) || group.is_some_and(|g| !valid(g)) {
            return Err(format!(
                "invalid user '{text}': expected USER or USER:GROUP, each a name or a number"
            ));
        }
        Ok(UserSpec {
            user: user.to_string(),
            group: group.map(str::to_string),
        })
    }
}

/// One line of /etc/passwd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswdEntry<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub home: &'a str,
}

/// One line of /etc/group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry<'a> {
    pub name: &'a str,
    pub gid: u32,
    pub members: Vec<&'a str>,
}

/// An id the kernel accepts: (uid_t)-1 means "unchanged" to setresuid(2).
fn parse_id(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|&id| id != u32::MAX)
}

/// The colon-separated fields of each entry line with at least `fields`
/// fields and a name: comments, blank, NIS (`+`, `-`) and short lines are
/// skipped.
fn entries(text: &str, fields: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|line| !line.starts_with(['#', '+', '-']))
        .map(|line| line.split(':').collect::<Vec<&str>>())
        .filter(move |parts| parts.len() >= fields && !parts[0].is_empty())
}

/// Parses /etc/passwd (`name:password:uid:gid:gecos:home:shell`). Comments,
/// blank, NIS (`+`, `-`) and malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry<'_>> {
    entries(text, 7)
        .filter_map(|fields| {
            Some(PasswdEntry {
                name: fields[0],
                uid: parse_id(fields[2])?,
                gid: parse_id(fields[3])?,
                home: fields[5],
            })
        })
        .collect()
}

/// Parses /etc/group (`name:password:gid:member,member`), skipping what
/// `parse_passwd` skips.
pub fn parse_group(text: &str) -> Vec<GroupEntry<'_>> {
    entries(text, 4)
        .filter_map(|fields| {
            Some(GroupEntry {
                name: fields[0],
                gid: parse_id(fields[2])?,
                members: fields[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .collect(),
            })
        })
        .collect()
}

/// Everything the child needs to become the user, prepared before the fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, the primary group first.
    pub groups: Vec<u32>,
    /// HOME for the command: the user's home directory, or `/`.
    pub home: String,
    /// A remark worth a warning (an id without a passwd entry).
    pub remark: Option<String>,
}

impl Credentials {
    /// The groups as `[29, 44]`, for a debug line.
    pub fn groups_shown(&self) -> String {
        let mut shown = String::from("[");
        for (index, group) in self.groups.iter().enumerate() {
            if index > 0 {
                shown.push_str(", ");
            }
            shown.push_str(&group.to_string());
        }
        shown.push(']');
        shown
    }
}

/// The kernel's limit on supplementary groups (NGROUPS_MAX).
const MAX_GROUPS: usize = 65_536;

/// Resolves `spec` against the text of /etc/passwd and /etc/group (either
/// may be empty when the file is missing: numeric ids still work).
///
/// Like gosu and su-exec: a user name must exist; a numeric uid may lack an
/// entry, and then runs with gid 0 and HOME=/ unless a group is given. With
/// an explicit group, that group is the only one; otherwise the user's
/// primary group and every group listing the user by name.
pub fn resolve(spec: &UserSpec, passwd: &str, group: &str) -> Result<Credentials, String> {
    let users = parse_passwd(passwd);
    let groups = parse_group(group);
    let entry = match parse_id(&spec.user) {
        Some(uid) => users.iter().find(|e| e.uid == uid).copied().ok_or(uid),
        None if spec.user.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("invalid user id '{}'", spec.user));
        }
        None => match users.iter().find(|e| e.name == spec.user) {
            Some(&entry) => Ok(entry),
            None => return Err(format!("no user '{}' in /etc/passwd", spec.user)),
        },
    };
    let (uid, primary, name, home) = match entry {
        Ok(entry) => (entry.uid, entry.gid, Some(entry.name), entry.home),
        Err(uid) => (uid, 0, None, ""),
    };
    let home = if home.is_empty() { "/" } else { home };

    let explicit = match &spec.group {
        None => None,
        Some(text) => Some(match parse_id(text) {
            Some(gid) => gid,
            None if text.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!("invalid group id '{text}'"));
            }
            None => match groups.iter().find(|g| g.name == text) {
                Some(found) => found.gid,
                None => return Err(format!("no group '{text}' in /etc/group")),
            },
        }),
    };

    let remark = (name.is_none() && explicit.is_none()).then(|| {
        format!(
            "uid {uid} has no entry in /etc/passwd: running with gid 0 and HOME=/ \
             (give a group: --user {uid}:GID)"
        )
    });
    let gid = explicit.unwrap_or(primary);
    let mut supplementary = vec![gid];
    if explicit.is_none()
        && let Some(name) = name
    {
        for found in groups.iter().filter(|g| g.members.contains(&name)) {
            if !supplementary.contains(&found.gid) && supplementary.len() < MAX_GROUPS {
                supplementary.push(found.gid);
            }
        }
    }
    Ok(Credentials {
        uid,
        gid,
        groups: supplementary,
        home: home.to_string(),
        remark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from a Debian image, with a few hostile lines added.
    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
+nis::::::

broken line
short:x:5:5
bad:x:notanumber:1::/:/bin/sh
huge:x:4294967295:1::/:/bin/sh
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
app:x:1000:1000:App,,,:/home/app:/bin/sh
nohome:x:1001:1001:::/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

    const GROUP: &str = "\
root:x:0:
daemon:x:1:
www-data:x:33:app
app:x:1000:
audio:x:29:app,nobody
video:x:44: app , other
staff:x:50:appx
nogroup:x:65534:
bad:x:x:app
";

    fn resolve_text(spec: &str) -> Result<Credentials, String> {
        resolve(&spec.parse()?, PASSWD, GROUP)
    }

    #[test]
    fn parses_passwd_and_skips_what_is_not_an_entry() {
        let users = parse_passwd(PASSWD);
        let names: Vec<&str> = users.iter().map(|u| u.name).collect();
        assert_eq!(
            names,
            ["root", "daemon", "www-data", "app", "nohome", "nobody"]
        );
        assert_eq!(
            users[3],
            PasswdEntry {
                name: "app",
                uid: 1000,
                gid: 1000,
                home: "/home/app"
            }
        );
    }

    #[test]
    fn parses_groups_with_their_members() {
        let groups = parse_group(GROUP);
        let audio = groups.iter().find(|g| g.name == "audio").unwrap();
        assert_eq!(audio.gid, 29);
        assert_eq!(audio.members, ["app", "nobody"]);
        let video = groups.iter().find(|g| g.name == "video").unwrap();
        assert_eq!(video.members, ["app", "other"]);
        assert!(groups.iter().all(|g| g.name != "bad"));
        assert!(parse_group("").is_empty());
    }

    #[test]
    fn a_name_gets_its_primary_and_supplementary_groups_and_home() {
        let c = resolve_text("app").unwrap();
        assert_eq!((c.uid, c.gid), (1000, 1000));
        assert_eq!(c.groups, [1000, 33, 29, 44]);
        assert_eq!(c.home, "/home/app");
        assert_eq!(c.remark, None);
    }

    #[test]
    fn an_explicit_group_is_the_only_group() {
        let c = resolve_text("app:audio").unwrap();
        assert_eq!((c.uid, c.gid, c.groups.as_slice()), (1000, 29, &[29][..]));
        let c = resolve_text("app:4242").unwrap();
        assert_eq!((c.gid, c.groups.as_slice()), (4242, &[4242][..]));
    }

    #[test]
    fn numeric_ids_work_with_or_without_an_entry() {
        let c = resolve_text("33").unwrap();
        assert_eq!((c.uid, c.gid, c.home.as_str()), (33, 33, "/var/www"));
        assert_eq!(c.groups, [33]);

        let c = resolve_text("4000").unwrap();
        assert_eq!((c.uid, c.gid, c.home.as_str()), (4000, 0, "/"));
        assert!(c.remark.unwrap().contains("gid 0"));

        let c = resolve_text("4000:4000").unwrap();
        assert_eq!(
            (c.uid, c.gid, c.groups.as_slice()),
            (4000, 4000, &[4000][..])
        );
        assert_eq!(c.remark, None);

        let c = resolve(&"7:8".parse().unwrap(), "", "").unwrap();
        assert_eq!((c.uid, c.gid), (7, 8));
        let c = resolve_text("nohome").unwrap();
        assert_eq!(c.home, "/");
    }

    #[test]
    fn unknown_names_and_impossible_ids_are_errors() {
        for spec in [
            "ghost",
            "app:ghosts",
            "4294967295",
            "99999999999",
            "app:4294967295",
        ] {
            assert!(resolve_text(spec).is_err(), "{spec}");
        }
        assert!(resolve(&"app".parse().unwrap(), "", "").is_err());
    }

    #[test]
    fn user_specs_are_checked_when_parsed() {
        for bad in ["", ":", "app:", ":app", "a:b:c", "a b", "a\nb"] {
            assert!(bad.parse::<UserSpec>().is_err(), "{bad:?}");
        }
        let spec: UserSpec = "app:staff".parse().unwrap();
        assert_eq!(spec.to_string(), "app:staff");
    }
}
