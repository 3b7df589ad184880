//! Issue 20's real programs (PostgreSQL, Redis, nginx, php-fpm, socat from
//! Debian) under grace, in the shapes of tests/real_programs/ (the scripts
//! bench/compare_order.sh runs under the other inits too): a run's
//! directory and cluster, grace started on a shape as PID 1 of a fresh PID
//! namespace or of a podman container (`Shape`), the stop as containerd
//! makes it, and the verdicts of the programs' own tools.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::containers::{RUN_FLAGS, unique};
use super::podman::{Made, podman};
use super::{Grace, Mode, TempDir, check, host_grace_bin, state_of, wait_until};

/// containerd's (and docker's, and podman's) default stop timeout: SIGKILL
/// for PID 1 after this.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The rows the PostgreSQL app inserts in its open transaction.
pub const ROWS: usize = 1000;
/// The keys the Redis app sets.
pub const KEYS: usize = 100;

/// The shapes' scripts.
pub fn shapes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_programs")
}

/// Fails, saying so, when a program the test runs is not installed
/// (`.ci/run` installs them all): such a test cannot run here. A program
/// is a command, or a shell pattern of a path (`/usr/sbin/php-fpm*`).
pub fn require(programs: &[&str]) {
    for program in programs {
        let test = if program.starts_with('/') {
            format!("test -e {program}")
        } else {
            format!("command -v {program}")
        };
        let found = Command::new("sh")
            .args(["-c", &test])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            found,
            "cannot run here: {program} is not installed (.ci/run installs it)"
        );
    }
}

/// PostgreSQL's bin directory (the newest installed), checked to exist.
pub fn pgbin() -> PathBuf {
    let newest = fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max();
    let Some(version) = newest else {
        panic!("cannot run here: PostgreSQL is not installed (.ci/run installs postgresql)");
    };
    PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"))
}

/// `command` run as the postgres user: PostgreSQL refuses to run as root.
pub fn as_postgres(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program)
        .stdin(Stdio::null());
    command
}

/// A run's directory (`RUN` of the scripts), open to the postgres user.
pub struct Run {
    pub dir: TempDir,
    pub run: PathBuf,
}

impl Run {
    pub fn new() -> Self {
        let dir = TempDir::new();
        let run = dir.join("run");
        fs::create_dir(&run).unwrap();
        fs::set_permissions(&run, fs::Permissions::from_mode(0o777)).unwrap();
        Run { dir, run }
    }

    /// A run with a fresh PostgreSQL cluster at `RUN/pgdata`, copied from
    /// the template.
    pub fn with_cluster() -> Self {
        let run = Run::new();
        let copied = Command::new("cp")
            .arg("-a")
            .arg(cluster_template())
            .arg(run.pgdata())
            .status()
            .expect("cp");
        assert!(copied.success(), "copy the cluster template");
        run
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.run.join(name)
    }

    pub fn pgdata(&self) -> PathBuf {
        self.path("pgdata")
    }

    /// The environment the scripts read (tests/real_programs/README.md).
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SHAPES", shapes_dir().display().to_string()),
            ("RUN", self.run.display().to_string()),
            ("PGBIN", pgbin().display().to_string()),
            ("ROWS", ROWS.to_string()),
            ("KEYS", KEYS.to_string()),
            ("CLEANUP", "0.3".to_string()),
            ("READY_TIMEOUT", "20".to_string()),
        ]
    }

    /// grace, with `GRACE_STOP_ORDER=order` and `args`, as PID 1 of a fresh
    /// PID namespace running the shape's start script `script`.
    fn start(&self, order: &str, args: &[&str], script: &str) -> Grace {
        let environment = self.environment();
        Grace::builder(Mode::Pid1)
            .configure(|command| {
                command.envs(environment).env("GRACE_STOP_ORDER", order);
            })
            .args(args)
            .arg("--")
            .arg("bash")
            .arg(shapes_dir().join(script))
            .start(&self.dir)
    }

    /// Waits for the PostgreSQL app to hold its transaction open.
    pub fn wait_for_transaction(&self) {
        let out = self.path("psql.out");
        wait_until("the app's open transaction", || {
            fs::read_to_string(&out).is_ok_and(|text| text.contains("inserted"))
        });
    }

    /// pg_controldata's "Database cluster state" of the run's cluster.
    pub fn cluster_state(&self) -> String {
        let output = Command::new(pgbin().join("pg_controldata"))
            .arg(self.pgdata())
            .output()
            .expect("pg_controldata");
        check(output, "pg_controldata")
            .lines()
            .find_map(|line| line.strip_prefix("Database cluster state:"))
            .map(|state| state.trim().to_string())
            .expect("pg_controldata names the cluster state")
    }

    /// The rows of table t that a restarted cluster holds (0 without the
    /// table): what the app's commit left. Read the cluster state first:
    /// this starts and stops the cluster.
    pub fn rows_committed(&self) -> usize {
        let _ = fs::remove_file(self.pgdata().join("postmaster.pid"));
        let socket_option = format!("-k {} -c listen_addresses=", self.run.display());
        let started = as_postgres(pgbin().join("pg_ctl"))
            .arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(self.path("pg-read.log"))
            .args(["-w", "-t", "60", "-o", &socket_option, "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(started.success(), "restart the cluster to read its rows");
        let rows = as_postgres(pgbin().join("psql"))
            .args(["-X", "-Atq", "-d", "postgres", "-h"])
            .arg(&self.run)
            .arg("-c")
            .arg("SELECT CASE WHEN to_regclass('t') IS NULL THEN 0 ELSE (SELECT count(*) FROM t) END")
            .output()
            .expect("psql");
        let rows = check(rows, "psql");
        let stopped = as_postgres(pgbin().join("pg_ctl"))
            .arg("-D")
            .arg(self.pgdata())
            .args(["-m", "fast", "-t", "60", "stop"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl");
        assert!(stopped.success(), "stop the restarted cluster");
        rows.trim().parse().expect("a count")
    }

    /// The keys of the Redis dump the run left, as redis-check-rdb reads
    /// them; None without a dump.
    pub fn dump_keys(&self) -> Option<usize> {
        let dump = self.path("dump.rdb");
        if !dump.exists() {
            return None;
        }
        let output = Command::new("redis-check-rdb")
            .arg(&dump)
            .output()
            .expect("redis-check-rdb");
        let report = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            report.contains("RDB looks OK"),
            "redis-check-rdb: the dump is not sound:\n{report}"
        );
        report.lines().find_map(|line| {
            let (before, _) = line.split_once(" keys read")?;
            before.rsplit(' ').next()?.parse().ok()
        })
    }
}

/// A cluster made once by initdb (the slow part of a PostgreSQL test) and
/// shared by the tests, which copy it: in the temporary directory, named by
/// PostgreSQL's version, made under a lock by the first test that needs it.
fn cluster_template() -> PathBuf {
    let bin = pgbin();
    let version = bin
        .parent()
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let template = std::env::temp_dir().join(format!("grace-test-pg{version}-template"));
    let lock = fs::File::create(std::env::temp_dir().join("grace-test-pg-template.lock"))
        .expect("lock file");
    lock.lock().expect("lock");
    if !template.exists() {
        let making = template.with_extension("making");
        let _ = fs::remove_dir_all(&making);
        fs::create_dir(&making).unwrap();
        let owned = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&making)
            .status()
            .expect("chown");
        assert!(owned.success());
        let made = as_postgres(bin.join("initdb"))
            .arg("-D")
            .arg(&making)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--locale=C",
                "-E",
                "UTF8",
            ])
            .output()
            .expect("initdb");
        check(made, "initdb");
        fs::rename(&making, &template).unwrap();
    }
    template
}

/// The rest of containerd's stop once its signal was sent at `sent`:
/// SIGKILL for PID 1 if it still runs at `STOP_TIMEOUT`. Returns grace's
/// exit code and whether it was killed (unshare does not always pass the
/// SIGKILL on as 137: it may exit 1, failing to re-raise it).
fn kill_at_the_stop_timeout(grace: &mut Grace, sent: Instant) -> (i32, bool) {
    let exited = |pid| matches!(state_of(pid), None | Some('Z'));
    while !exited(grace.pid) && sent.elapsed() < STOP_TIMEOUT {
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = !exited(grace.pid);
    if killed {
        grace.signal(libc::SIGKILL);
    }
    (grace.wait_code(), killed)
}

/// Where grace runs a shape as PID 1.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A fresh PID namespace (`unshare`), stopped like containerd stops a
    /// container.
    Namespace,
    /// A podman container (runc), stopped by `podman stop`.
    Podman,
}

/// How a shape was stopped: grace's exit code, whether it was killed at
/// the stop timeout, and its log, to show when the test fails.
pub struct Stopped {
    pub code: i32,
    pub killed: bool,
    pub log: String,
}

impl Stopped {
    /// Fails unless the stop ended before the stop timeout's SIGKILL.
    pub fn assert_not_killed(&self) {
        assert!(!self.killed, "killed at the deadline: {}", self.log);
    }
}

/// grace running a shape's start script as PID 1, where `At` says.
pub struct Shape<'a> {
    stop_signal: i32,
    under: Under<'a>,
}

enum Under<'a> {
    Namespace(Grace),
    Podman(Container<'a>),
}

impl<'a> Shape<'a> {
    /// grace with `GRACE_STOP_ORDER=order` and `args` running the start
    /// script `script` of `run`, to be stopped with `stop_signal` (an
    /// image's STOPSIGNAL).
    pub fn start(
        run: &'a Run,
        at: At,
        order: &str,
        stop_signal: i32,
        args: &[&str],
        script: &str,
    ) -> Self {
        let under = match at {
            At::Namespace => Under::Namespace(run.start(order, args, script)),
            At::Podman => {
                require(&["podman"]);
                Under::Podman(Container::start(run, order, stop_signal, args, script))
            }
        };
        Shape { stop_signal, under }
    }

    /// Stops the shape as containerd stops a container: the stop signal to
    /// PID 1, SIGKILL at `STOP_TIMEOUT`.
    pub fn stop(&mut self) -> Stopped {
        self.stop_with(|| ())
    }

    /// `stop`, running `meanwhile` while the stop goes on (in podman, it may
    /// start before the signal arrives: `podman stop` sends it).
    pub fn stop_with(&mut self, meanwhile: impl FnOnce()) -> Stopped {
        match &mut self.under {
            Under::Namespace(grace) => {
                let sent = Instant::now();
                grace.signal(self.stop_signal);
                meanwhile();
                let (code, killed) = kill_at_the_stop_timeout(grace, sent);
                Stopped {
                    code,
                    killed,
                    log: grace.stderr(),
                }
            }
            Under::Podman(container) => {
                let code = std::thread::scope(|scope| {
                    let stopping = scope.spawn(|| container.stop());
                    meanwhile();
                    stopping.join().expect("podman stop")
                });
                Stopped {
                    code,
                    killed: code == 137,
                    log: container.logs(),
                }
            }
        }
    }
}

/// A podman container that sees the host's programs: a rootfs of the
/// host's /usr and /etc/nginx (read-only), its users, the run's directory
/// and the shapes at their host paths, and this build of grace at /grace.
struct Container<'a> {
    name: String,
    /// Removes the container when dropped.
    _made: Made<'a>,
    dir: &'a TempDir,
}

impl<'a> Container<'a> {
    /// `podman run --runtime runc --network none … --rootfs` with
    /// `GRACE_STOP_ORDER=order` and `--stop-signal stop_signal`, grace as
    /// PID 1 with `args` running `script`.
    fn start(run: &'a Run, order: &str, stop_signal: i32, args: &[&str], script: &str) -> Self {
        let root = run.dir.join("rootfs");
        for sub in ["usr", "etc", "tmp", "proc", "dev", "sys", "run", "var"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        for link in ["bin", "lib", "lib64", "sbin"] {
            symlink(format!("usr/{link}"), root.join(link)).unwrap();
        }
        for file in ["passwd", "group"] {
            fs::copy(Path::new("/etc").join(file), root.join("etc").join(file)).unwrap();
        }
        let name = unique("grace-real");
        let mut made = Made::new(&run.dir);
        made.containers.push(name.clone());
        let stop_signal = stop_signal.to_string();
        let mut podman_args: Vec<String> = ["run", "-d", "--name", &name]
            .iter()
            .chain(RUN_FLAGS)
            .chain(&["--stop-signal", &stop_signal])
            .map(|arg| arg.to_string())
            .collect();
        let shapes = shapes_dir().display().to_string();
        let run_dir = run.run.display().to_string();
        for volume in [
            "/usr:/usr:ro".to_string(),
            "/etc/nginx:/etc/nginx:ro".to_string(),
            format!("{shapes}:{shapes}:ro"),
            format!("{run_dir}:{run_dir}"),
            format!("{}:/grace:ro", host_grace_bin()),
        ] {
            podman_args.extend(["-v".to_string(), volume]);
        }
        for (key, value) in run.environment() {
            podman_args.extend(["-e".to_string(), format!("{key}={value}")]);
        }
        podman_args.extend(["-e".to_string(), format!("GRACE_STOP_ORDER={order}")]);
        podman_args.extend(["--rootfs".to_string(), root.display().to_string()]);
        podman_args.push("/grace".to_string());
        podman_args.extend(args.iter().map(|arg| arg.to_string()));
        podman_args.extend(["--", "bash"].map(String::from));
        podman_args.push(shapes_dir().join(script).display().to_string());
        let podman_args: Vec<&str> = podman_args.iter().map(String::as_str).collect();
        check(podman(&run.dir, &podman_args), "podman run");
        Container {
            name,
            _made: made,
            dir: &run.dir,
        }
    }

    /// `podman stop -t 10`: the stop signal to PID 1, SIGKILL at the
    /// timeout. Returns the container's exit code.
    fn stop(&self) -> i32 {
        let seconds = STOP_TIMEOUT.as_secs().to_string();
        check(
            podman(self.dir, &["stop", "-t", &seconds, &self.name]),
            "podman stop",
        );
        let output = podman(
            self.dir,
            &["inspect", &self.name, "--format", "{{.State.ExitCode}}"],
        );
        check(output, "podman inspect")
            .trim()
            .parse()
            .expect("an exit code")
    }

    fn logs(&self) -> String {
        let output = podman(self.dir, &["logs", &self.name]);
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}
