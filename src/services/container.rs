//! What a services file is checked against: the container's files (is the
//! program there, may it be executed, is the working directory one), its
//! user database, and grace's own PATH. The real one asks the kernel; the
//! unit tests use a made-up container, so that every check is tested
//! without depending on the machine's files.

use crate::base::prelude::*;

use crate::base::environment::lookup;
use crate::sys::{self, FileType};

/// A failed look-up, as an errno (ENOENT, EACCES, ...).
pub type Errno = i32;

pub trait Container {
    /// Whether execve(2) could run `path`: an existing regular file that
    /// may be executed; EACCES for a directory or a device, as execve says.
    fn executable(&self, path: &str) -> Result<(), Errno>;
    /// Whether `path` is a directory one can change into.
    fn directory(&self, path: &str) -> Result<(), Errno>;
    /// A whole file (/etc/passwd, /etc/group); empty when unreadable.
    fn read(&self, path: &str) -> String;
    /// A text file (an `env_file`).
    fn text(&self, path: &str) -> Result<String, Errno>;
    /// One of grace's own environment variables.
    fn variable(&self, name: &str) -> Option<String>;
    /// grace's own working directory, as an absolute path: what relative
    /// paths in the file are relative to.
    fn working_directory(&self) -> Result<String, Errno>;
    /// The open-file limit grace's services inherit: a service can be
    /// handed no descriptor at or above it.
    fn descriptor_limit(&self) -> u64;
}

/// The container grace runs in, with the environment grace was given.
pub struct Real<'a> {
    pub variables: &'a [(Vec<u8>, Vec<u8>)],
}

fn errno(error: sys::Error) -> Errno {
    error.raw_os_error().unwrap_or(libc::EIO)
}

impl Container for Real<'_> {
    fn executable(&self, path: &str) -> Result<(), Errno> {
        match sys::file_type(path).map_err(errno)? {
            FileType::Regular => sys::may_execute(path).map_err(errno),
            FileType::Directory | FileType::Other => Err(libc::EACCES),
        }
    }

    fn directory(&self, path: &str) -> Result<(), Errno> {
        match sys::file_type(path).map_err(errno)? {
            FileType::Directory => sys::may_execute(path).map_err(errno),
            FileType::Regular | FileType::Other => Err(libc::ENOTDIR),
        }
    }

    fn read(&self, path: &str) -> String {
        crate::process::user::read_database(path)
    }

    fn text(&self, path: &str) -> Result<String, Errno> {
        let bytes = sys::read_file(path, super::check::FILE_LIMIT).map_err(errno)?;
        String::from_utf8(bytes).map_err(|_| libc::EILSEQ)
    }

    fn variable(&self, name: &str) -> Option<String> {
        lookup(self.variables, name).map(|value| String::from_utf8_lossy(value).into_owned())
    }

    fn working_directory(&self) -> Result<String, Errno> {
        sys::current_directory().map_err(errno)
    }

    fn descriptor_limit(&self) -> u64 {
        sys::descriptor_limit().map_or(u64::MAX, u64::from)
    }
}

/// How a failed look-up reads in a message.
pub fn describe(code: Errno) -> String {
    match code {
        libc::ENOENT => "not found".into(),
        libc::EACCES => "permission denied".into(),
        libc::ENOTDIR => "not a directory".into(),
        libc::ELOOP => "too many symbolic links".into(),
        libc::EILSEQ => "not UTF-8".into(),
        libc::ENAMETOOLONG => "name too long".into(),
        other => sys::Error::from_raw_os_error(other).to_string(),
    }
}

/// A made-up container for the unit tests.
#[cfg(test)]
pub mod fake {
    use super::*;

    #[derive(Default)]
    pub struct Fake {
        /// Every path that exists, with what execve would say of it.
        pub files: BTreeMap<String, Result<(), Errno>>,
        pub directories: BTreeSet<String>,
        pub passwd: String,
        pub group: String,
        pub path: Option<String>,
        /// Text files (env files) by path.
        pub texts: BTreeMap<String, String>,
        /// grace's environment besides PATH.
        pub variables: BTreeMap<String, String>,
        /// grace's working directory; None: it has no name (removed).
        pub cwd: Option<String>,
    }

    impl Fake {
        /// /bin/true, /bin/sh, /usr/bin/db and /app/server executable,
        /// /etc/motd not; /app and /data directories; PATH=/usr/bin:/bin;
        /// a user `app`; grace's working directory /srv.
        pub fn new() -> Self {
            let mut fake = Fake::default();
            for path in ["/bin/true", "/bin/sh", "/usr/bin/db", "/app/server"] {
                fake.files.insert(path.into(), Ok(()));
            }
            fake.files.insert("/etc/motd".into(), Err(libc::EACCES));
            for dir in ["/", "/app", "/data", "/bin", "/usr/bin"] {
                fake.directories.insert(dir.into());
            }
            fake.passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".into();
            fake.group = "root:x:0:\napp:x:1000:\n".into();
            fake.path = Some("/usr/bin:/bin".into());
            fake.cwd = Some("/srv".into());
            fake
        }
    }

    impl Container for Fake {
        fn executable(&self, path: &str) -> Result<(), Errno> {
            if self.directories.contains(path) {
                return Err(libc::EACCES);
            }
            self.files.get(path).copied().unwrap_or(Err(libc::ENOENT))
        }

        fn directory(&self, path: &str) -> Result<(), Errno> {
            if self.directories.contains(path) {
                Ok(())
            } else if self.files.contains_key(path) {
                Err(libc::ENOTDIR)
            } else {
                Err(libc::ENOENT)
            }
        }

        fn read(&self, path: &str) -> String {
            match path {
                "/etc/passwd" => self.passwd.clone(),
                "/etc/group" => self.group.clone(),
                _ => String::new(),
            }
        }

        fn text(&self, path: &str) -> Result<String, Errno> {
            self.texts.get(path).cloned().ok_or(libc::ENOENT)
        }

        fn variable(&self, name: &str) -> Option<String> {
            if name == "PATH" {
                return self.path.clone();
            }
            self.variables.get(name).cloned()
        }

        fn working_directory(&self) -> Result<String, Errno> {
            self.cwd.clone().ok_or(libc::ENOENT)
        }

        fn descriptor_limit(&self) -> u64 {
            1024
        }
    }
}
