//! The grace under test: where its binary is, how it is run (through an
//! emulator for another architecture's build), and a running grace as PID 1
//! of a fresh PID namespace or as a subreaper below one, killed with its
//! namespace when dropped.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::probe::subreaper_bin;
use super::process::{children_of, send_signal};
use super::scratch::TempDir;
use super::wait::{scaled_bound, wait_until};

/// The grace under test: `TEST_GRACE_BIN` when set (a release build, maybe
/// for another architecture), else the one cargo built for these tests.
/// (Not `GRACE_*`: grace reads those as options, and the tests' environment
/// reaches it.)
pub fn grace_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var("TEST_GRACE_BIN") {
        Ok(path) if !path.is_empty() => fs::canonicalize(&path)
            .unwrap_or_else(|error| panic!("TEST_GRACE_BIN={path}: {error}"))
            .to_string_lossy()
            .into_owned(),
        _ => host_grace_bin().to_string(),
    })
}

/// The grace cargo built for this host with the tests, whatever
/// `TEST_GRACE_BIN` says.
pub fn host_grace_bin() -> &'static str {
    env!("CARGO_BIN_EXE_grace")
}

/// The words that run grace before its path: `TEST_GRACE_RUNNER`, split at
/// spaces (e.g. `qemu-aarch64-static`, the user-mode emulator run as a
/// plain command, so nothing is registered machine-wide), else none.
pub fn grace_runner() -> &'static [String] {
    static RUNNER: OnceLock<Vec<String>> = OnceLock::new();
    RUNNER.get_or_init(|| {
        std::env::var("TEST_GRACE_RUNNER")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    })
}

/// The command line that starts grace: the runner's words, then grace.
pub fn grace_command_line() -> Vec<String> {
    let mut words = grace_runner().to_vec();
    words.push(grace_bin().to_string());
    words
}

/// A `Command` that starts grace, through the runner if there is one.
pub fn grace_command() -> Command {
    let words = grace_command_line();
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]);
    command
}

/// Whether `pid` is the grace under test. Under an emulator the kernel
/// shows the emulator as the process's exe, and its command line as the
/// emulator's own (`qemu-aarch64-static /path/to/grace …`), so a grace run
/// through a runner is recognised by its command line.
pub fn is_grace(pid: i32) -> bool {
    if grace_runner().is_empty() {
        return fs::read_link(format!("/proc/{pid}/exe"))
            .is_ok_and(|exe| exe == Path::new(grace_bin()));
    }
    let expected = grace_command_line();
    fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
        let words: Vec<&[u8]> = raw.split(|&b| b == 0).collect();
        words.len() > expected.len()
            && words
                .iter()
                .zip(&expected)
                .all(|(word, want)| *word == want.as_bytes())
    })
}

/// Where grace runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PID 1 of a new PID namespace.
    Pid1,
    /// PID 2 of a new PID namespace whose PID 1 is a shell: grace is not the
    /// namespace's init and must act as subreaper.
    Subreaper,
}

/// A running grace, killed with its whole namespace when dropped.
pub struct Grace {
    unshare: Child,
    pub pid: i32,
    stderr_path: PathBuf,
    namespace_init: i32,
    /// `unread_output`: the read ends of grace's stdout and stderr.
    pub unread: Option<[std::io::PipeReader; 2]>,
}

pub struct GraceBuilder {
    mode: Mode,
    bystander: Option<(String, PathBuf)>,
    args: Vec<String>,
    command: Command,
    broken_stderr: bool,
    unread_output: bool,
    host_build: bool,
}

impl GraceBuilder {
    /// Runs the grace cargo built for this host, natively, whatever
    /// `TEST_GRACE_BIN` and `TEST_GRACE_RUNNER` say: for a test of
    /// something else (e.g. `grace inspect` under emulation) that needs a
    /// real grace as PID 1.
    pub fn host_build(mut self) -> Self {
        self.host_build = true;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// Access to the `unshare` command, e.g. to set the signal state grace
    /// starts with.
    pub fn configure(mut self, f: impl FnOnce(&mut Command)) -> Self {
        f(&mut self.command);
        self
    }

    /// Subreaper mode only: the namespace's shell also starts `command`
    /// beside grace (not under it), and after grace exits waits for `release`
    /// to exist before it ends the namespace.
    pub fn bystander(mut self, command: String, release: PathBuf) -> Self {
        self.bystander = Some((command, release));
        self
    }

    /// Gives grace a stderr whose reader is gone: every write fails with
    /// EPIPE and raises SIGPIPE.
    pub fn broken_stderr(mut self) -> Self {
        self.broken_stderr = true;
        self
    }

    /// Gives grace a stdout and a stderr that are pipes of one page
    /// (4 KiB: full after a few dozen lines) whose reader holds them open
    /// and reads nothing until the test does (`Grace::unread`).
    pub fn unread_output(mut self) -> Self {
        self.unread_output = true;
        self
    }

    pub fn start(mut self, dir: &TempDir) -> Grace {
        let stderr_path = dir.join("grace.stderr");
        let mut unread = None;
        if self.unread_output {
            let [(out_reader, out_writer), (err_reader, err_writer)] = [(); 2].map(|()| {
                let (reader, writer) = std::io::pipe().expect("pipe");
                use std::os::fd::AsRawFd;
                // SAFETY: fcntl(2) F_SETPIPE_SZ with plain integers on a
                // descriptor we own.
                let size = unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
                assert_eq!(size, 4096, "F_SETPIPE_SZ");
                (reader, writer)
            });
            self.command.stdout(out_writer).stderr(err_writer);
            unread = Some([out_reader, err_reader]);
        }
        let stderr: Stdio = if self.broken_stderr {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            writer.into()
        } else {
            fs::File::create(&stderr_path).expect("stderr file").into()
        };
        self.command
            .args(["--pid", "--fork", "--mount-proc", "--"])
            .stdin(Stdio::null())
            .process_group(0);
        if !self.unread_output {
            self.command.stdout(Stdio::null()).stderr(stderr);
        }
        let grace = if self.host_build {
            vec![host_grace_bin().to_string()]
        } else if self.mode == Mode::Subreaper && !grace_runner().is_empty() {
            // qemu-user 7.2 refuses PR_SET_CHILD_SUBREAPER: see
            // examples/subreaper.rs.
            let mut words = vec![subreaper_bin().to_string_lossy().into_owned()];
            words.extend(grace_command_line());
            words
        } else {
            grace_command_line()
        };
        match self.mode {
            Mode::Pid1 => {
                self.command.args(&grace);
            }
            Mode::Subreaper => {
                // A command after grace keeps the shell from exec'ing grace
                // in its place.
                let script = match &self.bystander {
                    Some((command, release)) => format!(
                        "{command} & \"$@\"; code=$?; while [ ! -e {} ]; do sleep 0.01; done; exit $code",
                        release.display()
                    ),
                    None => "\"$@\"; exit $?".to_string(),
                };
                self.command.args(["sh", "-c", &script, "sh"]).args(&grace);
            }
        }
        self.command.args(&self.args);
        let (mut unshare, namespace_init, exited) = spawn_namespace(&mut self.command);
        let pid = match self.mode {
            _ if exited.is_some() => 0,
            Mode::Pid1 => namespace_init,
            Mode::Subreaper => {
                let mut grace = 0;
                wait_until("grace under the namespace's shell", || {
                    if unshare.try_wait().ok().flatten().is_some() {
                        return true;
                    }
                    grace = children_of(namespace_init)
                        .into_iter()
                        .find(|&child| {
                            if self.host_build {
                                fs::read_link(format!("/proc/{child}/exe"))
                                    .is_ok_and(|exe| exe == Path::new(host_grace_bin()))
                            } else {
                                is_grace(child)
                            }
                        })
                        .unwrap_or(0);
                    grace != 0
                });
                grace
            }
        };
        Grace {
            unshare,
            pid,
            stderr_path,
            namespace_init,
            unread,
        }
    }
}

/// Spawns `unshare` and waits for the init of its new namespace: (the
/// unshare child, the init's host pid or 0, unshare's status if it already
/// exited). A short-lived grace may be gone before it is seen; then only
/// its exit status is left to look at.
fn spawn_namespace(command: &mut Command) -> (Child, i32, Option<ExitStatus>) {
    let mut unshare = command.spawn().expect("spawn unshare");
    let unshare_pid = unshare.id() as i32;
    let mut namespace_init = 0;
    let mut exited = None;
    wait_until("the namespace's init", || {
        namespace_init = children_of(unshare_pid).first().copied().unwrap_or(0);
        exited = unshare.try_wait().expect("try_wait");
        namespace_init != 0 || exited.is_some()
    });
    (unshare, namespace_init, exited)
}

impl Grace {
    pub fn builder(mode: Mode) -> GraceBuilder {
        GraceBuilder {
            mode,
            args: Vec::new(),
            command: Command::new("unshare"),
            broken_stderr: false,
            unread_output: false,
            bystander: None,
            host_build: false,
        }
    }

    /// grace's exit code, waiting at most `BOUND` (times the soak scale).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + scaled_bound();
        loop {
            if let Some(status) = self.unshare.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "grace did not exit; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// grace's exit code; a signal death is reported as 128+N like a shell.
    pub fn wait_code(&mut self) -> i32 {
        shell_code(self.wait())
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `unread_output`: bytes in grace's stdout or stderr pipe (FIONREAD).
    pub fn unread_bytes(&self, which: usize) -> usize {
        use std::os::fd::AsRawFd;
        let pipes = self.unread.as_ref().expect("unread_output");
        let mut count: libc::c_int = 0;
        // SAFETY: ioctl(2) FIONREAD into a live int on a descriptor we own.
        let result = unsafe { libc::ioctl(pipes[which].as_raw_fd(), libc::FIONREAD, &mut count) };
        assert_eq!(result, 0, "FIONREAD");
        count as usize
    }

    pub fn signal(&self, signal: i32) {
        assert!(self.pid > 0, "grace exited before it could be signalled");
        send_signal(self.pid, signal);
    }
}

impl Drop for Grace {
    fn drop(&mut self) {
        // Killing the namespace's init makes the kernel kill everything in it.
        // unshare may still have to write to a full pipe of `unread_output`.
        self.unread = None;
        if self.unshare.try_wait().ok().flatten().is_none() {
            if self.namespace_init > 0 {
                // SAFETY: kill(2) with plain integers.
                unsafe { libc::kill(self.namespace_init, libc::SIGKILL) };
            }
            let _ = self.unshare.wait();
        }
    }
}

/// Runs grace to completion without a namespace (for cases that never get
/// as far as signalling anything) and returns its exit code and stderr.
pub fn run_plain(args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = run_to_end(grace_command().args(args));
    (code, stderr)
}

/// Runs `command`, with no stdin, to its end, for one that ends by itself
/// at once: (exit code as a shell reports it, stdout, stderr).
pub fn run_to_end(command: &mut Command) -> (i32, String, String) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("run {command:?}: {error}"));
    (
        shell_code(output.status),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl GraceBuilder {
    /// Starts grace as PID 1 like `start`, but as `program` (a symlink
    /// named tini, docker-init or dumb-init picks a personality), behind
    /// `launcher`: words run first in the namespace, which must end by
    /// exec'ing the rest (`sh -c '...; exec "$@"' sh`).
    pub fn start_as(mut self, program: &Path, launcher: &[&str], dir: &TempDir) -> Grace {
        assert_eq!(self.mode, Mode::Pid1, "start_as runs grace as PID 1");
        let stderr_path = dir.join("grace.stderr");
        let stderr = fs::File::create(&stderr_path).expect("stderr file");
        self.command
            .args(["--pid", "--fork", "--mount-proc", "--"])
            .args(launcher)
            .arg(program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0);
        let (mut unshare, namespace_init, exited) = spawn_namespace(&mut self.command);
        if !launcher.is_empty() && exited.is_none() {
            // The launcher becomes grace by exec: wait until it has.
            let grace = fs::canonicalize(grace_bin()).expect("grace binary");
            wait_until("the launcher to exec grace", || {
                unshare.try_wait().ok().flatten().is_some()
                    || fs::read_link(format!("/proc/{namespace_init}/exe"))
                        .is_ok_and(|exe| exe == grace)
            });
        }
        Grace {
            unshare,
            pid: if exited.is_some() { 0 } else { namespace_init },
            stderr_path,
            namespace_init,
            unread: None,
        }
    }
}

/// A symlink to the grace binary named `name` (tini, docker-init,
/// dumb-init) in `dir`.
pub fn personality_link(dir: &TempDir, name: &str) -> PathBuf {
    let link = dir.join(name);
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(grace_bin(), &link).expect("symlink to grace");
    link
}

/// An exit status as a shell reports it: the code, or 128+N for signal N.
pub fn shell_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .expect("a process ends by exit or by signal")
}

/// The stdout of a command that had to succeed.
pub fn check(output: std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
