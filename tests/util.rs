//! Shared test helpers: running grace as PID 1 of a fresh PID namespace or as
//! a subreaper below one, waiting on marker files with a bound, and reading
//! what the probe processes wrote down.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before it fails. It only
/// turns a hang into a failure: whatever a test waits for is either due by
/// a deadline grace controls (its grace period, 9 s by default, plus
/// `AFTER_KILL`), or a single event that takes milliseconds. Work that
/// takes the machine's time, such as thousands of processes, is waited for
/// with `wait_for_work`.
pub const BOUND: Duration = Duration::from_secs(20);

/// grace's own bound on waiting for what it SIGKILLed at its deadline
/// (AFTER_KILL_BOUND in src/supervisor.rs): an exit after a deadline kill
/// is due by the deadline plus this. Timings are asserted against grace's
/// own timeline like this, never against a guess of the machine's speed.
pub const AFTER_KILL: Duration = Duration::from_secs(1);

/// scripts/soak sets GRACE_SOAK_SCALE to multiply every flood; CI runs 1.
pub fn soak_scale() -> usize {
    std::env::var("GRACE_SOAK_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// `BOUND`, stretched by the soak scale: a flood ten times larger may take
/// ten times longer to make.
fn scaled_bound() -> Duration {
    BOUND * u32::try_from(soak_scale()).unwrap_or(u32::MAX)
}

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

pub fn probe_bin() -> PathBuf {
    let path = Path::new(host_grace_bin())
        .with_file_name("examples")
        .join("probe");
    assert!(
        path.exists(),
        "{} is missing: cargo builds it with the tests (cargo build --examples)",
        path.display()
    );
    path
}

/// A scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "grace-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Polls `condition` until it holds or `BOUND` (times the soak scale)
/// passes.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + scaled_bound();
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `remaining` (how much of some work is left) until it is 0, for
/// work whose length is the machine's speed times its size: starting or
/// reaping thousands of processes. A loaded machine may take as long as it
/// needs; only a stall fails, when `BOUND` passes without a new low.
pub fn wait_for_work(what: &str, mut remaining: impl FnMut() -> usize) {
    let mut low = usize::MAX;
    let mut stalled_by = Instant::now() + BOUND;
    loop {
        let left = remaining();
        if left == 0 {
            return;
        }
        if left < low {
            low = left;
            stalled_by = Instant::now() + BOUND;
        }
        assert!(
            Instant::now() < stalled_by,
            "timed out waiting for {what}: {left} left, none done in {BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn wait_for_file(path: &Path) -> String {
    wait_until(&format!("{}", path.display()), || path.exists());
    fs::read_to_string(path).expect("read marker")
}

/// CLOCK_MONOTONIC in milliseconds, the clock the probe's log uses.
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// When `name` first logged `event` (with any detail), in monotonic ms.
pub fn event_time(dir: &impl AsRef<Path>, name: &str, event: &str) -> Option<u64> {
    probe_log(dir, name)
        .into_iter()
        .find(|(e, _, _)| e == event)
        .map(|(_, _, ms)| ms)
}

pub fn send_signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) with plain integers.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// The direct children of `pid`, from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The one-letter state of `pid` from /proc/PID/stat (None once gone).
pub fn state_of(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The parent of `pid`, from /proc/PID/stat.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One field of /proc/PID/status, e.g. "SigBlk".
pub fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
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
    let output = grace_command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run grace");
    (
        shell_code(output.status),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The events a probe wrote: (event, detail, monotonic ms).
pub fn probe_log(dir: &impl AsRef<Path>, name: &str) -> Vec<(String, i64, u64)> {
    fs::read_to_string(dir.as_ref().join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((
                words.next()?.to_string(),
                words.next()?.parse().ok()?,
                words.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Whether probe `name` got SIGTERM and finished its cleanup.
pub fn finished_cleanup(dir: &impl AsRef<Path>, name: &str) -> bool {
    probe_log(dir, name)
        .iter()
        .any(|(event, signal, _)| event == "cleanup-done" && *signal == 15)
}

/// The signals a probe received, in order.
pub fn signals_received(dir: &impl AsRef<Path>, name: &str) -> Vec<i64> {
    probe_log(dir, name)
        .into_iter()
        .filter(|(event, _, _)| event == "signal")
        .map(|(_, signal, _)| signal)
        .collect()
}

/// A probe command line writing into `dir` under `name`.
pub fn probe_args(dir: &TempDir, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        probe_bin().to_string_lossy().into_owned(),
        "--dir".into(),
        dir.path().to_string_lossy().into_owned(),
        "--name".into(),
        name.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The pid recorded in a probe's ready marker, once it is there (the pid is
/// as seen inside grace's namespace).
pub fn wait_ready(dir: &TempDir, name: &str) -> i32 {
    wait_for_file(&dir.join(&format!("{name}.ready")))
        .trim()
        .parse()
        .expect("pid in ready marker")
}

/// The host pid of a process in grace's namespace, found by the ready
/// marker's namespace pid in /proc/PID/status's NSpid line.
pub fn host_pid_of(namespace_pid: i32, below: i32) -> Option<i32> {
    descendants(below).into_iter().find(|&pid| {
        status_field(pid, "NSpid")
            .and_then(|line| line.split_whitespace().last().map(str::to_string))
            .is_some_and(|inner| inner == namespace_pid.to_string())
    })
}

/// Every descendant of `pid`, from /proc's children lists.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for child in children_of(next) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

/// examples/subreaper.rs, built beside the probe.
pub fn subreaper_bin() -> PathBuf {
    probe_bin().with_file_name("subreaper")
}

/// The stress workloads (examples/stress.rs), built beside the probe.
pub fn stress_bin() -> PathBuf {
    probe_bin().with_file_name("stress")
}

/// VmRSS of `pid` in kB.
pub fn rss_kb(pid: i32) -> u64 {
    status_field(pid, "VmRSS")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
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

/// The host pid of the process whose ready marker is `name`, below grace.
pub fn host_pid_of_probe(grace: &Grace, dir: &TempDir, name: &str) -> i32 {
    let inner = wait_ready(dir, name);
    let mut found = None;
    wait_until(&format!("{name} in /proc"), || {
        found = host_pid_of(inner, grace.pid);
        found.is_some()
    });
    found.expect("host pid")
}

/// Fields 5 and 6 of /proc/PID/stat: the process group and the session.
pub fn group_and_session(pid: i32) -> Option<(i32, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(") ")?.1.split_whitespace().skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
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

/// A JSON string literal, for the JSON and YAML the tests write and read.
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string is always JSON")
}

/// Makes grace write JSON log lines: tests that need to know what grace
/// did read those fields, the documented interface (docs/logging.md), not
/// its messages, whose wording may change.
pub fn json_log(command: &mut Command) {
    command.env("GRACE_LOG_FORMAT", "json");
}

/// grace's JSON log lines, read; a line still being written is left for
/// the next read.
pub fn log_events(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| parse_json(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// Whether grace's JSON log has a line for `event` with each of `fields`.
pub fn has_event(stderr: &str, event: &str, fields: &[(&str, serde_json::Value)]) -> bool {
    log_events(stderr).iter().any(|line| {
        line["event"] == event && fields.iter().all(|(key, value)| line[*key] == *value)
    })
}

/// JSON text as serde_json reads it, except that a key given twice in one
/// object is an error: serde_json keeps the last, and grace documents its
/// keys as unique (docs/logging.md), so a field written twice must fail.
pub fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str::<Unique>(text)
        .map(|Unique(value)| value)
        .map_err(|error| error.to_string())
}

struct Unique(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        reader.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some((key, Unique(value))) = map.next_entry::<String, Unique>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            object.insert(key, value);
        }
        Ok(Unique(object.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(items.into()))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Unique, E> {
        Ok(Unique(b.into()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Unique, E> {
        Ok(Unique(n.into()))
    }

    fn visit_str<E>(self, text: &str) -> Result<Unique, E> {
        Ok(Unique(text.into()))
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(serde_json::Value::Null))
    }
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    let value = parse_json(r#"{"a":[1,-2.5,true,null,{"b":{}}],"c":"x\"\u00e9\n"}"#).unwrap();
    assert_eq!(value["c"], "x\"é\n");
    assert_eq!(value["a"][1], -2.5);
    for bad in [
        r#"{"a":1,"a":2}"#,
        r#"[{"a":{"b":1,"b":1}}]"#,
        "{\"a\":1,}",
        "{} x",
    ] {
        assert!(parse_json(bad).is_err(), "{bad:?}");
    }
}
