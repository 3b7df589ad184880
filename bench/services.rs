//! The services figures of issue 14, side by side in the same run: grace's
//! `--config` against supervisord, runit's runsvdir, s6-svscan, Horust,
//! pm2-runtime, honcho, foreman and pid1 (a single-process init whose child
//! is a shell entrypoint that starts the 10 and passes SIGTERM on),
//! each as PID 1 of a new PID namespace (`unshare --pid --fork
//! --mount-proc`) supervising 10 services, and against the floor: the
//! benchmark suite's ideal PID 1 (`bench floor-init`), which starts the same
//! 10 processes itself and on SIGTERM does one kill(-1) and reaps.
//!
//! Every service is one `bench workers 1 3 4` process, the benchmark
//! suite's worker: it writes a byte to descriptor 4 once its SIGTERM
//! handler is in place, and on SIGTERM a byte to descriptor 3 and exits 0.
//! Descriptors 3 and 4 are two FIFOs the driver holds open, which a `sh -c`
//! opens before it execs the worker: no supervisor has to pass descriptors
//! on. Ready therefore means the same for every supervisor: all 10 service
//! processes run, their handlers installed (a supervisor's own view, such
//! as supervisord's `startsecs`, is not waited for).
//!
//! `services report [--smoke]`, run by `bench/services`, prints the
//! markdown table; BENCH names the benchmark suite's binary, GRACE the
//! static grace, HORUST Horust and PID1 pid1 (optional; else the PATH).

mod peers;
mod section;

use std::ffi::CString;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVICES: usize = 10;
/// How long a supervisor's status command is polled for "all ready".
const OWN_READY_BOUND: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("report") => report(args.iter().any(|a| a == "--smoke")),
        // The relay figures alone (bench/services --relay).
        Some("relay") => print!(
            "{}",
            relays(args.iter().any(|a| a == "--smoke"), &env_path("GRACE"))
        ),
        _ => {
            eprintln!("usage: services report|relay [--smoke]");
            std::process::exit(2);
        }
    }
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("{name}=path")))
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "grace-bench-services-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("scratch directory");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A FIFO opened read-write: a writer's open never blocks, and reads
/// wait for bytes.
struct Fifo {
    path: PathBuf,
    file: fs::File,
}

impl Fifo {
    fn new(path: PathBuf) -> Self {
        let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open fifo");
        Fifo { path, file }
    }

    /// Reads `count` bytes, unless `alive` turns false while none come.
    fn read_bytes(&mut self, count: usize, mut alive: impl FnMut() -> bool) -> bool {
        use std::os::fd::AsRawFd;
        let mut left = count;
        let mut buffer = [0u8; 64];
        while left > 0 {
            let mut poll = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one live pollfd.
            if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
                if !alive() {
                    return false;
                }
                continue;
            }
            let n = self
                .file
                .read(&mut buffer[..left.min(64)])
                .expect("read fifo");
            left -= n;
        }
        true
    }

    fn drain(&mut self) -> usize {
        use std::os::fd::AsRawFd;
        let fd = self.file.as_raw_fd();
        // SAFETY: our own descriptor.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
        let mut total = 0;
        let mut buffer = [0u8; 256];
        loop {
            // SAFETY: reading into a live buffer.
            let n = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
            if n <= 0 {
                // SAFETY: as above.
                unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
                return total;
            }
            total += n as usize;
        }
    }
}

/// One service's command line, as a shell would run it.
fn service_command(bench: &Path, ack: &Path, ready: &Path) -> String {
    format!(
        "exec {} workers 1 3 4 3>{} 4>{}",
        bench.display(),
        ack.display(),
        ready.display()
    )
}

/// A supervisor under test: its name, and how to lay out its
/// configuration in a scratch directory for a service command; it returns
/// the PID 1 command line, or why it cannot run here.
struct Supervisor {
    name: &'static str,
    setup: fn(&Path, &str) -> Result<Vec<String>, String>,
    /// Whether the supervisor says all 10 are ready (its own status
    /// command, given its scratch directory and PID 1's host pid), or None
    /// for a supervisor without one.
    ready: Option<ReadyCheck>,
}

/// A supervisor's own "all 10 ready", given its scratch directory and
/// PID 1's host pid.
type ReadyCheck = fn(&Path, i32) -> bool;

const SUPERVISORS: &[Supervisor] = &[
    Supervisor {
        name: "grace `--config`",
        setup: setup_grace,
        ready: Some(grace_ready),
    },
    Supervisor {
        name: "supervisord",
        setup: setup_supervisord,
        ready: Some(supervisord_ready),
    },
    Supervisor {
        name: "runit `runsvdir`",
        setup: setup_runit,
        ready: Some(runit_ready),
    },
    Supervisor {
        name: "s6 `s6-svscan`",
        setup: setup_s6,
        ready: Some(s6_ready),
    },
    Supervisor {
        name: "Horust",
        setup: setup_horust,
        // horust 0.1.14 installs no status command (horustctl is apart).
        ready: None,
    },
    Supervisor {
        name: "pm2 `pm2-runtime`",
        setup: setup_pm2,
        ready: None,
    },
    Supervisor {
        name: "honcho",
        setup: setup_honcho,
        ready: None,
    },
    Supervisor {
        name: "foreman",
        setup: setup_foreman,
        ready: None,
    },
    Supervisor {
        name: "pid1 (`pid1-exe`)",
        setup: setup_pid1,
        ready: None,
    },
];

/// /run/grace/ready, which grace keeps from "all ready" until the stop
/// (each namespace here has a /run of its own).
fn grace_ready(_: &Path, pid1: i32) -> bool {
    Path::new(&format!("/proc/{pid1}/root/run/grace/ready")).exists()
}

fn output_of(command: &mut Command) -> String {
    command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// `supervisorctl status`: every program RUNNING (its exit code is 0
/// while they are STARTING too).
fn supervisord_ready(dir: &Path, _: i32) -> bool {
    let text = output_of(
        Command::new("/usr/bin/supervisorctl")
            .arg("-c")
            .arg(dir.join("supervisord.conf"))
            .arg("status"),
    );
    text.lines().filter(|l| l.contains(" RUNNING ")).count() == SERVICES
}

/// `sv status`: every service `run:`.
fn runit_ready(dir: &Path, _: i32) -> bool {
    let services: Vec<PathBuf> = (0..SERVICES)
        .map(|i| dir.join(format!("service/s{i}")))
        .collect();
    let text = output_of(Command::new("/usr/bin/sv").arg("status").args(&services));
    text.lines().filter(|l| l.starts_with("run:")).count() == SERVICES
}

/// `s6-svstat -o up` of each service: without a notification-fd (these
/// services have none), s6-supervise never marks one ready.
fn s6_ready(dir: &Path, _: i32) -> bool {
    (0..SERVICES).all(|i| {
        output_of(
            Command::new("/usr/bin/s6-svstat")
                .args(["-o", "up"])
                .arg(dir.join(format!("scan/s{i}"))),
        )
        .trim()
            == "true"
    })
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// None once grace has the services runtime, else why not.
fn grace_unavailable(grace: &Path) -> Option<String> {
    let output = Command::new(grace)
        .args(["--config", "/nonexistent/services.toml"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or("").trim().to_string();
    (first.contains("option") && first.contains("--config"))
        .then(|| format!("unavailable: this build has no services runtime (`{first}`)"))
}

fn setup_grace(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    let grace = env_path("GRACE");
    if let Some(why) = grace_unavailable(&grace) {
        return Err(why);
    }
    let mut toml = String::new();
    for index in 0..SERVICES {
        let _ = writeln!(
            toml,
            "[service.s{index}]\ncommand = [\"/bin/sh\", \"-c\", {}]\n",
            toml_string(command)
        );
    }
    let file = dir.join("services.toml");
    write(&file, &toml, 0o644);
    Ok(vec![
        grace.display().to_string(),
        "--config".into(),
        file.display().to_string(),
    ])
}

fn needs(binary: &str, package: &str) -> Result<(), String> {
    if Path::new(binary).exists() {
        Ok(())
    } else {
        Err(format!("not installed (apt-get install {package})"))
    }
}

/// Each service a script, for the supervisors that run a file.
fn service_script(dir: &Path, command: &str) -> PathBuf {
    let path = dir.join("service");
    write(&path, &format!("#!/bin/sh\n{command}\n"), 0o755);
    path
}

fn setup_supervisord(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    needs("/usr/bin/supervisord", "supervisor")?;
    let script = service_script(dir, command);
    let d = dir.display();
    let mut conf = format!(
        "[supervisord]\nnodaemon=true\nuser=root\nlogfile=/dev/null\nlogfile_maxbytes=0\n\
         pidfile={d}/supervisord.pid\nchildlogdir={d}\n\n\
         [unix_http_server]\nfile={d}/supervisor.sock\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n"
    );
    for index in 0..SERVICES {
        let _ = write!(
            conf,
            "\n[program:s{index}]\ncommand={}\nstdout_logfile=NONE\nstderr_logfile=NONE\n",
            script.display()
        );
    }
    let file = dir.join("supervisord.conf");
    write(&file, &conf, 0o644);
    Ok(vec![
        "/usr/bin/supervisord".into(),
        "-n".into(),
        "-c".into(),
        file.display().to_string(),
    ])
}

fn setup_runit(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    needs("/usr/bin/runsvdir", "runit")?;
    let services = dir.join("service");
    for index in 0..SERVICES {
        write(
            &services.join(format!("s{index}/run")),
            &format!("#!/bin/sh\n{command}\n"),
            0o755,
        );
    }
    Ok(vec![
        "/usr/bin/runsvdir".into(),
        "-P".into(),
        services.display().to_string(),
    ])
}

fn setup_s6(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    needs("/usr/bin/s6-svscan", "s6")?;
    let scandir = dir.join("scan");
    for index in 0..SERVICES {
        write(
            &scandir.join(format!("s{index}/run")),
            &format!("#!/bin/sh\n{command}\n"),
            0o755,
        );
    }
    // No .s6-svscan/finish: every process here is a service, which
    // s6-svscan's own stop reaches; a finish could only add time.
    fs::create_dir_all(scandir.join(".s6-svscan")).unwrap();
    Ok(vec![
        "/usr/bin/s6-svscan".into(),
        scandir.display().to_string(),
    ])
}

fn setup_horust(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    let binary = peers::installed("horust", "HORUST")
        .ok_or("not installed (`cargo install --locked horust`, or HORUST=PATH)")?;
    let script = service_script(dir, command);
    let services = dir.join("horust");
    for index in 0..SERVICES {
        write(
            &services.join(format!("s{index}.toml")),
            &format!("command = {}\n", toml_string(&script.display().to_string())),
            0o644,
        );
    }
    Ok(vec![
        binary.display().to_string(),
        "--services-path".into(),
        services.display().to_string(),
        "--uds-folder-path".into(),
        dir.join("uds").display().to_string(),
    ])
}

/// pm2-runtime: 10 apps of one ecosystem file, each the service script run
/// as it is and stopped with SIGTERM (PM2_KILL_SIGNAL; pm2's default is
/// SIGINT); PM2_HOME in the scratch directory.
fn setup_pm2(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    let runtime = peers::on_path("pm2-runtime").ok_or("not installed (npm install -g pm2)")?;
    let script = service_script(dir, command);
    let apps: Vec<String> = (0..SERVICES)
        .map(|i| {
            format!(
                "{{\"name\": \"s{i}\", \"script\": {}, \"interpreter\": \"none\"}}",
                toml_string(&script.display().to_string())
            )
        })
        .collect();
    let file = dir.join("ecosystem.json");
    write(
        &file,
        &format!("{{\"apps\": [{}]}}\n", apps.join(", ")),
        0o644,
    );
    Ok(vec![
        "/usr/bin/env".into(),
        format!("PM2_HOME={}", dir.join("pm2").display()),
        "PM2_KILL_SIGNAL=SIGTERM".into(),
        runtime.display().to_string(),
        file.display().to_string(),
    ])
}

/// The Procfile family: `BINARY start` of a Procfile of 10 lines of the
/// service command.
fn procfile_start(binary: &Path, dir: &Path, command: &str) -> Vec<String> {
    let lines: String = (0..SERVICES)
        .map(|i| format!("s{i}: {command}\n"))
        .collect();
    let file = dir.join("Procfile");
    write(&file, &lines, 0o644);
    vec![
        binary.display().to_string(),
        "start".into(),
        "-f".into(),
        file.display().to_string(),
        "-d".into(),
        dir.display().to_string(),
    ]
}

fn setup_honcho(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    let honcho = peers::on_path("honcho").ok_or("not installed (pip install honcho)")?;
    Ok(procfile_start(&honcho, dir, command))
}

fn setup_foreman(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    needs("/usr/bin/foreman", "ruby-foreman")?;
    Ok(procfile_start(Path::new("/usr/bin/foreman"), dir, command))
}

/// pid1 runs one command: a shell entrypoint that starts the 10 and passes
/// SIGTERM on to them.
fn setup_pid1(dir: &Path, command: &str) -> Result<Vec<String>, String> {
    let pid1 = peers::installed("pid1", "PID1")
        .ok_or("not installed (`cargo install --locked pid1-exe`, or PID1=PATH)")?;
    let script = service_script(dir, command);
    let start = dir.join("start");
    write(
        &start,
        &format!(
            "#!/bin/sh\ntrap 'kill -TERM $pids; wait' TERM\n\
             for i in $(seq {SERVICES}); do {} & pids=\"$pids $!\"; done\nwait\n",
            script.display()
        ),
        0o755,
    );
    Ok(vec![
        pid1.display().to_string(),
        "--".into(),
        "/bin/sh".into(),
        start.display().to_string(),
    ])
}

/// A supervisor's scratch directory and PID 1 command line.
type Configured = (Scratch, Vec<String>);

/// The floor: the benchmark suite's ideal PID 1 with the same 10 workers.
fn floor_command(bench: &Path, ack: &Path, ready: &Path) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "exec {} floor-init {SERVICES} 3 4 3>{} 4>{}",
            bench.display(),
            ack.display(),
            ready.display()
        ),
    ]
}

/// PID 1 of a new PID namespace, and the unshare that waits for it.
struct Namespace {
    unshare: Child,
    pid1: i32,
}

impl Namespace {
    fn start(command: &[String]) -> Self {
        // A /run of its own for each PID 1 (grace publishes its state
        // there); the shell execs the supervisor, which stays PID 1.
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--"])
            .args([
                "/bin/sh",
                "-c",
                "mount -t tmpfs tmpfs /run && exec \"$@\"",
                "sh",
            ])
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare");
        let id = unshare.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        let pid1 = loop {
            let children =
                fs::read_to_string(format!("/proc/{id}/task/{id}/children")).unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                break pid.parse().unwrap();
            }
            assert!(Instant::now() < deadline, "no PID 1 for {command:?}");
            std::thread::sleep(Duration::from_millis(1));
        };
        Namespace { unshare, pid1 }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if self.unshare.try_wait().ok().flatten().is_none() {
            // SAFETY: kill(2) of the PID 1 we started.
            unsafe { libc::kill(self.pid1, libc::SIGKILL) };
            let _ = self.unshare.wait();
        }
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    let mut all = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return all;
    };
    for task in tasks.flatten() {
        let path = task.path().join("children");
        all.extend(
            fs::read_to_string(path)
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    all
}

/// PID 1 and every process below it.
fn tree(pid1: i32) -> Vec<i32> {
    let mut all = vec![pid1];
    let mut index = 0;
    while index < all.len() {
        let children = children_of(all[index]);
        all.extend(children);
        index += 1;
    }
    all
}

fn status_kb(pid: i32, file: &str, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Round {
    ready_ms: f64,
    /// When the supervisor's own status first said all 10 were ready
    /// (infinite: not within OWN_READY_BOUND), if it was asked.
    own_ready_ms: Option<f64>,
    supervisor_pids: usize,
    rss_supervisors: u64,
    rss_all: u64,
    pss_supervisors: u64,
    idle_calls: Option<usize>,
    stop_ms: f64,
    handlers: usize,
}

fn idle_calls(pids: &[i32], seconds: f64) -> Option<usize> {
    let mut command = Command::new("timeout");
    command.args(["-s", "INT", &format!("{seconds}"), "strace", "-c", "-f"]);
    for pid in pids {
        command.args(["-p", &pid.to_string()]);
    }
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let summary = String::from_utf8_lossy(&output.stderr);
    // No system call at all: strace prints an empty table, or none.
    Some(
        summary
            .lines()
            .find(|l| l.trim_end().ends_with("total"))
            .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
            .unwrap_or(0),
    )
}

/// Starts `command` (whose services are bench workers writing to the two
/// FIFOs), waits for all 10 to be ready, measures the idle tree, then
/// SIGTERMs PID 1 and times the namespace's end.
/// What a round measures besides the always-taken figures.
struct Extra<'a> {
    idle_seconds: Option<f64>,
    /// The supervisor's own readiness check and its scratch directory,
    /// polled from a thread of its own (the other rounds run without that
    /// load).
    ready_check: Option<(ReadyCheck, &'a Path)>,
}

fn round(
    command: &[String],
    bench: &Path,
    ack: &mut Fifo,
    ready: &mut Fifo,
    settle: Duration,
    extra: Extra,
) -> Result<Round, String> {
    ack.drain();
    ready.drain();
    let begun = Instant::now();
    let mut namespace = Namespace::start(command);
    let pid1 = namespace.pid1;
    let own_ready = extra.ready_check.map(|(check, dir)| {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            while begun.elapsed() < OWN_READY_BOUND {
                if check(&dir, pid1) {
                    return begun.elapsed().as_secs_f64() * 1000.0;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            f64::INFINITY
        })
    });
    let up = ready.read_bytes(SERVICES, || {
        namespace.unshare.try_wait().ok().flatten().is_none()
            && begun.elapsed() < Duration::from_secs(60)
    });
    if !up {
        return Err(format!(
            "PID 1 {} before the 10 services were ready",
            if begun.elapsed() < Duration::from_secs(60) {
                "exited"
            } else {
                "not done in 60 s"
            }
        ));
    }
    let ready_ms = begun.elapsed().as_secs_f64() * 1000.0;
    let own_ready_ms = own_ready.and_then(|thread| thread.join().ok());
    std::thread::sleep(settle);
    let pids = tree(namespace.pid1);
    let bench_exe = fs::canonicalize(bench).ok();
    let is_service = |pid: &i32| fs::read_link(format!("/proc/{pid}/exe")).ok() == bench_exe;
    let supervisors: Vec<i32> = pids.iter().copied().filter(|p| !is_service(p)).collect();
    let rss = |set: &[i32]| set.iter().map(|p| status_kb(*p, "status", "VmRSS:")).sum();
    let rss_supervisors = rss(&supervisors);
    let rss_all = rss(&pids);
    let pss_supervisors = supervisors
        .iter()
        .map(|p| status_kb(*p, "smaps_rollup", "Pss:"))
        .sum();
    let idle_calls = extra.idle_seconds.and_then(|s| idle_calls(&supervisors, s));
    let stop_begun = Instant::now();
    // SAFETY: kill(2) of the PID 1 we started.
    unsafe { libc::kill(namespace.pid1, libc::SIGTERM) };
    // Bounded: a supervisor that never stops is SIGKILLed by the drop,
    // and its figure shows the bound.
    let deadline = stop_begun + Duration::from_secs(30);
    while namespace.unshare.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
    let stop_ms = stop_begun.elapsed().as_secs_f64() * 1000.0;
    drop(namespace);
    Ok(Round {
        ready_ms,
        own_ready_ms,
        supervisor_pids: supervisors.len(),
        rss_supervisors,
        rss_all,
        pss_supervisors,
        idle_calls,
        stop_ms,
        handlers: ack.drain(),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn report(smoke: bool) {
    let bench = env_path("BENCH");
    let grace = env_path("GRACE");
    let (rounds, idle_seconds, settle) = if smoke {
        (1, 0.5, Duration::from_millis(200))
    } else {
        (6, 10.0, Duration::from_secs(2))
    };
    let scratch = Scratch::new("run");
    let mut ack = Fifo::new(scratch.0.join("ack"));
    let mut ready = Fifo::new(scratch.0.join("ready"));
    let command = service_command(&bench, &ack.path, &ready.path);

    // Each supervisor's configuration, or why it is left out.
    let mut entries: Vec<(&str, Result<Configured, String>)> = Vec::new();
    for (index, supervisor) in SUPERVISORS.iter().enumerate() {
        let dir = Scratch::new(&format!("s{index}"));
        let setup = (supervisor.setup)(&dir.0, &command).map(|line| (dir, line));
        entries.push((supervisor.name, setup));
    }
    let floor = floor_command(&bench, &ack.path, &ready.path);

    // Interleaved rounds: every supervisor, then the floor, in each round;
    // the idle system calls only in the first (they take seconds), the
    // supervisors' own readiness checks in every other round (so that
    // their polling does not load the rounds that time the processes).
    let runnable: Vec<(usize, &[String], &Path)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, (_, e))| {
            e.as_ref()
                .ok()
                .map(|(dir, line)| (i, line.as_slice(), dir.0.as_path()))
        })
        .collect();
    let own_round = |r: usize| rounds == 1 || r % 2 == 1;
    let mut figures: Vec<Result<Vec<Round>, String>> =
        (0..entries.len()).map(|_| Ok(Vec::new())).collect();
    let mut floor_rounds = Vec::new();
    for r in 0..rounds {
        eprintln!("bench/services: round {}/{rounds}", r + 1);
        for (index, line, dir) in &runnable {
            let extra = Extra {
                idle_seconds: (r == 0).then_some(idle_seconds),
                ready_check: SUPERVISORS[*index]
                    .ready
                    .filter(|_| own_round(r))
                    .map(|check| (check, *dir)),
            };
            if let Ok(done) = &mut figures[*index] {
                match round(line, &bench, &mut ack, &mut ready, settle, extra) {
                    Ok(figure) => done.push(figure),
                    Err(why) => figures[*index] = Err(why),
                }
            }
        }
        let no_extra = Extra {
            idle_seconds: None,
            ready_check: None,
        };
        let floor_round = round(&floor, &bench, &mut ack, &mut ready, settle, no_extra);
        floor_rounds.push(floor_round.expect("the floor starts its workers"));
    }
    let floor_stop = median(floor_rounds.iter().map(|f| f.stop_ms).collect());
    let floor_ready = median(floor_rounds.iter().map(|f| f.ready_ms).collect());

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Generated by `bench/services{}` on {}, {rounds} interleaved round(s), medians. \
         10 services, each one process that installs a SIGTERM handler (`bench workers 1`); \
         every supervisor is PID 1 of its own PID namespace with its default settings. \
         Supervision tree: PID 1 and every process below it that is not a service (runsv, \
         s6-supervise, pid1's shell). Ready: all 10 service processes have their handler in place, timed \
         in the rounds where nothing else polls; by its own account: its status command, \
         polled every 5 ms from a thread of the driver in every other round \
         (`/run/grace/ready` for grace, `supervisorctl status` all RUNNING — after the \
         default `startsecs` of 1 s —, `sv status` all `run:`, `s6-svstat -o up` of \
         each (s6 marks a service ready only through its notification-fd); Horust 0.1.14 installs no status command; pm2, honcho, foreman and pid1 are not asked). Each PID 1 gets a /run of its \
         own (a tmpfs). Idle: system calls of the whole supervision tree in {idle_seconds} s \
         (`strace -c -f -p` each), after {:.1} s of settling. Stop: SIGTERM to PID 1 until \
         the namespace is gone; the floor is an ideal PID 1 that starts the same 10 \
         processes, kill(-1)s and reaps (`bench floor-init 10`).\n",
        if smoke {
            " --smoke (not the real figures)"
        } else {
            ""
        },
        section::machine(),
        settle.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| PID 1 | supervision processes | VmRSS of the supervisors (kB) | PSS of the supervisors (kB) | VmRSS with the services (kB) | idle system calls in {idle_seconds} s | 10 ready after (ms) | ready by its own account (ms) | stop (ms) | stop ÷ floor | SIGTERM handlers that ran |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let mut grace_figures = None;
    for (index, (name, entry)) in entries.iter().enumerate() {
        let rounds = match (entry, &figures[index]) {
            (Err(why), _) | (_, Err(why)) => {
                let _ = writeln!(md, "| {name} | {why} | | | | | | | | | |");
                continue;
            }
            (Ok(_), Ok(rounds)) => rounds,
        };
        let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
        // Timed without a status poller, where there were such rounds.
        let unpolled: Vec<f64> = rounds
            .iter()
            .filter(|r| r.own_ready_ms.is_none())
            .map(|r| r.ready_ms)
            .collect();
        let ready_ms = if unpolled.is_empty() {
            med(&|r| r.ready_ms)
        } else {
            median(unpolled)
        };
        let own: Vec<f64> = rounds.iter().filter_map(|r| r.own_ready_ms).collect();
        let own_ready = match own.is_empty() {
            true => "-".to_string(),
            false if median(own.clone()).is_infinite() => {
                format!("not within {} s", OWN_READY_BOUND.as_secs())
            }
            false => format!("{:.1}", median(own)),
        };
        let stop = med(&|r| r.stop_ms);
        let rss = med(&|r| r.rss_supervisors as f64);
        let calls = rounds[0].idle_calls;
        let handlers: Vec<usize> = rounds.iter().map(|r| r.handlers).collect();
        let min_handlers = handlers.iter().min().copied().unwrap_or(0);
        let max_handlers = handlers.iter().max().copied().unwrap_or(0);
        let _ = writeln!(
            md,
            "| {name} | {} | {rss:.0} | {:.0} | {:.0} | {} | {ready_ms:.1} | {own_ready} | {stop:.1} | {:.2} | {}/{SERVICES} |",
            rounds[0].supervisor_pids,
            med(&|r| r.pss_supervisors as f64),
            med(&|r| r.rss_all as f64),
            calls.map_or("-".to_string(), |c| c.to_string()),
            stop / floor_stop,
            if min_handlers == max_handlers {
                min_handlers.to_string()
            } else {
                format!("{min_handlers}–{max_handlers}")
            },
        );
        if index == 0 {
            grace_figures = Some((rss, calls));
        }
    }
    let _ = writeln!(
        md,
        "| floor (`bench floor-init 10`) | 1 | | | | | {floor_ready:.1} | | {floor_stop:.1} | 1.00 | {SERVICES}/{SERVICES} (kill(-1)) |"
    );
    let size = fs::metadata(&grace).map(|m| m.len()).unwrap_or(0);
    let _ = writeln!(md, "\nTargets (issue 14):\n");
    let _ = writeln!(
        md,
        "- static binary ≤ 450 KB: {} KB ({})",
        size / 1000,
        if size <= 450_000 { "met" } else { "**missed**" }
    );
    match grace_figures {
        Some((rss, calls)) => {
            let _ = writeln!(
                md,
                "- idle VmRSS of grace with 10 services ≤ 600 kB: {rss:.0} kB ({})",
                if rss <= 600.0 { "met" } else { "**missed**" }
            );
            let _ = writeln!(
                md,
                "- 0 idle system calls: {} ({})",
                calls.map_or("-".into(), |c| c.to_string()),
                if calls == Some(0) {
                    "met"
                } else {
                    "**missed**"
                }
            );
        }
        None => {
            let _ = writeln!(
                md,
                "- idle VmRSS ≤ 600 kB and 0 idle system calls with 10 services: pending grace's services runtime"
            );
        }
    }
    let _ = writeln!(
        md,
        "- ordered stop of the 3-level chain within 5 % + 10 ms of the cleanups: measured by `scripts/compare-services`"
    );
    md.push_str(&relays(smoke, &grace));
    println!("{md}");
    if !smoke {
        let block = format!(
            "### Figures of a 10-service tree ({}, {})\n\n{md}",
            section::today(),
            section::machine()
        );
        let out = PathBuf::from(std::env::var("OUT").unwrap_or_else(|_| "BENCHMARKS.md".into()));
        section::write_block(&out, "services-figures", &block).expect("write BENCHMARKS.md");
        eprintln!("bench/services: wrote {}", out.display());
    }
}

/// The line relay (issue 21): how fast each relay moves a flood of 90-byte
/// lines from a service's stdout to its own, read by the driver as fast as
/// it can. One service whose command is `cat FILE` (the lines, from the
/// page cache); the relay's stdout is a pipe the driver reads with 1 MiB
/// reads, counting newlines until every line has arrived. grace prefixes
/// each line (`s | `) as `mawk '{print "s | " $0}'` does; `cat` passes the
/// bytes on, and so does supervisord (`stdout_logfile=/dev/stdout`, no
/// prefix). Each relay is timed from the first byte to the last line read.
fn relays(smoke: bool, grace: &Path) -> String {
    const LINE: usize = 90;
    let (megabytes, rounds) = if smoke { (16, 1) } else { (256, 3) };
    let lines = megabytes * 1024 * 1024 / LINE;
    let scratch = Scratch::new("relay");
    let file = scratch.0.join("lines");
    let mut text = Vec::with_capacity(lines * LINE);
    for n in 0..lines {
        let start = text.len();
        let _ = write!(&mut text as &mut dyn std::io::Write, "{n:09} ");
        text.resize(start + LINE - 1, b'x');
        text.push(b'\n');
    }
    fs::write(&file, &text).expect("the lines");
    drop(text);
    let source = format!("cat {}", file.display());
    let services = scratch.0.join("services.toml");
    write(
        &services,
        &format!(
            "[service.s]\ncommand = [\"/bin/sh\", \"-c\", {}]\n",
            toml_string(&format!("exec {source}"))
        ),
        0o644,
    );
    let supervisord = scratch.0.join("supervisord.conf");
    let d = scratch.0.display();
    write(
        &supervisord,
        &format!(
            "[supervisord]\nnodaemon=true\nuser=root\nlogfile=/dev/null\nlogfile_maxbytes=0\n\
             pidfile={d}/supervisord.pid\nchildlogdir={d}\n\n\
             [program:s]\ncommand={source}\nautorestart=false\nstartsecs=0\n\
             stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n"
        ),
        0o644,
    );
    let grace = grace.display().to_string();
    let relays: Vec<(&str, Result<Vec<String>, String>)> = vec![
        ("`cat`", Ok(sh(&format!("{source} | cat")))),
        (
            "`mawk` prefixing each line",
            needs("/usr/bin/mawk", "mawk")
                .map(|()| sh(&format!("{source} | mawk '{{print \"s | \" $0}}'"))),
        ),
        (
            "grace `--config`",
            Ok(vec![
                grace,
                "--config".into(),
                services.display().to_string(),
            ]),
        ),
        (
            "supervisord (no prefix)",
            needs("/usr/bin/supervisord", "supervisor").map(|()| {
                vec![
                    "/usr/bin/supervisord".into(),
                    "-n".into(),
                    "-c".into(),
                    supervisord.display().to_string(),
                ]
            }),
        ),
    ];
    let mut rates: Vec<Result<Vec<f64>, String>> = relays
        .iter()
        .map(|(_, r)| r.clone().map(|_| Vec::new()))
        .collect();
    for _ in 0..rounds {
        for (index, (_, command)) in relays.iter().enumerate() {
            if let (Ok(command), Ok(done)) = (command, &mut rates[index]) {
                match relay_once(command, lines) {
                    Ok(seconds) => done.push((lines * LINE) as f64 / seconds / 1e6),
                    Err(why) => rates[index] = Err(why),
                }
            }
        }
    }
    let rate = |index: usize| rates[index].as_ref().ok().map(|r| median(r.clone()));
    let (cat, mawk) = (rate(0), rate(1));
    let mut md = format!(
        "\nRelay of {megabytes} MB of {LINE}-byte lines from one service's stdout to the relay's \
         stdout (a pipe the driver reads with 1 MiB reads), from the first byte read to the \
         last line, {rounds} round(s), medians; `mawk` is `mawk '{{print \"s | \" $0}}'`:\n\n\
         | relay | MB/s | ÷ mawk | ÷ cat |\n| --- | --- | --- | --- |\n"
    );
    for (index, (name, _)) in relays.iter().enumerate() {
        let _ = match (&rates[index], rate(index)) {
            (Err(why), _) => writeln!(md, "| {name} | {why} | | |"),
            (_, Some(r)) => writeln!(
                md,
                "| {name} | {r:.0} | {} | {} |",
                mawk.map_or("-".into(), |m| format!("{:.2}", r / m)),
                cat.map_or("-".into(), |c| format!("{:.2}", r / c)),
            ),
            (_, None) => writeln!(md, "| {name} | - | | |"),
        };
    }
    md
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

/// Seconds from the first byte out of `command`'s stdout (run as PID 1
/// of a new namespace: its start is not the relay's speed) until `lines`
/// lines have come out.
fn relay_once(command: &[String], lines: usize) -> Result<f64, String> {
    let mut start = None;
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let mut out = unshare.stdout.take().unwrap();
    let mut buffer = vec![0u8; 1 << 20];
    let mut seen = 0;
    while seen < lines {
        let n = out.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        start.get_or_insert_with(Instant::now);
        seen += buffer[..n].iter().filter(|&&b| b == b'\n').count();
    }
    let seconds = start.map_or(0.0, |start| start.elapsed().as_secs_f64());
    let id = unshare.id();
    if let Some(pid1) = fs::read_to_string(format!("/proc/{id}/task/{id}/children"))
        .ok()
        .and_then(|c| {
            c.split_whitespace()
                .next()
                .and_then(|p| p.parse::<i32>().ok())
        })
    {
        // SAFETY: kill(2) of the PID 1 we started.
        unsafe { libc::kill(pid1, libc::SIGKILL) };
    }
    drop(out);
    let _ = unshare.wait();
    if seen < lines {
        return Err(format!("{seen} of {lines} lines arrived"));
    }
    Ok(seconds)
}
