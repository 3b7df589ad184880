//! A harness for running inits as PID 1 of real OCI containers: a rootfs made
//! from Debian's busybox-static, static (musl) builds of grace and the probe,
//! and containers started by `runc` directly, by `podman --runtime runc`, or
//! by a test's private dockerd (tests/support/docker.rs) from an image imported from
//! that rootfs. Every container, bundle and state directory is removed when
//! dropped, also when a test fails.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::docker::{docker, import};
use super::{BOUND, TempDir, host_grace_bin, json_string, shell_code, wait_until};

pub const MUSL: &str = "x86_64-unknown-linux-musl";

/// Static builds of grace, the probe and the stress workloads, made once
/// per test process (cargo's
/// own lock serialises the test processes that race to build them).
pub struct StaticBinaries {
    pub grace: PathBuf,
    pub probe: PathBuf,
    pub stress: PathBuf,
}

pub fn static_binaries() -> &'static StaticBinaries {
    static BUILT: OnceLock<StaticBinaries> = OnceLock::new();
    BUILT.get_or_init(|| {
        // CARGO_BIN_EXE_grace is TARGET/debug/grace.
        let target_dir = Path::new(host_grace_bin())
            .parent()
            .and_then(Path::parent)
            .expect("target dir");
        let output = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args([
                "build",
                "--release",
                "--target",
                MUSL,
                "--bin",
                "grace",
                "--example",
                "probe",
                "--example",
                "stress",
            ])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .stdin(Stdio::null())
            .output()
            .expect("run cargo");
        assert!(
            output.status.success(),
            "static build failed (rustup target add {MUSL}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let release = target_dir.join(MUSL).join("release");
        StaticBinaries {
            grace: release.join("grace"),
            probe: release.join("examples").join("probe"),
            stress: release.join("examples").join("stress"),
        }
    })
}

/// Copies `binary` into `rootfs` at `destination`, with the shared
/// libraries it needs when it is dynamically linked (dumb-init, tini).
pub fn install(rootfs: &Path, binary: &Path, destination: &str) {
    let target = rootfs.join(destination.trim_start_matches('/'));
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::copy(binary, &target).unwrap_or_else(|e| panic!("copy {}: {e}", binary.display()));
    let ldd = Command::new("ldd").arg(binary).output().expect("ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let library = line
            .split("=>")
            .last()
            .and_then(|rest| rest.split_whitespace().next())
            .filter(|path| path.starts_with('/'));
        if let Some(library) = library {
            let inside = rootfs.join(library.trim_start_matches('/'));
            fs::create_dir_all(inside.parent().unwrap()).unwrap();
            if !inside.exists() {
                fs::copy(library, &inside).unwrap();
            }
        }
    }
}

/// A busybox rootfs with grace at /grace and the probe at /probe, and a
/// host directory that the container sees as /markers.
pub struct Rootfs {
    pub dir: TempDir,
}

impl Rootfs {
    pub fn new() -> Self {
        let dir = TempDir::new();
        let root = dir.join("rootfs");
        let bin = root.join("bin");
        for sub in ["bin", "proc", "sys", "dev", "tmp", "etc", "markers"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        fs::create_dir_all(dir.join("markers")).unwrap();
        fs::copy("/bin/busybox", bin.join("busybox")).expect("busybox-static installed");
        let applets = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&applets.stdout).lines() {
            if applet != "busybox" {
                symlink("busybox", bin.join(applet)).unwrap();
            }
        }
        let binaries = static_binaries();
        install(&root, &binaries.grace, "/grace");
        install(&root, &binaries.probe, "/probe");
        Rootfs { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The test directory's unique name: on a probe's command line it makes
    /// the container's processes recognisable on the host.
    pub fn tag(&self) -> String {
        self.dir
            .path()
            .file_name()
            .expect("a temporary directory has a name")
            .to_string_lossy()
            .into_owned()
    }

    /// The host side of /markers.
    pub fn markers(&self) -> PathBuf {
        self.dir.join("markers")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Podman,
    /// The dockerd listening on this socket.
    Docker(PathBuf),
}

/// A name no other container, image or pod of this test process or of
/// another has: `prefix`, the process id and a counter.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running container.
pub struct Container {
    pub runtime: Runtime,
    pub name: String,
    pub rootfs: Rootfs,
    /// runc: the foreground `runc run`, whose exit status is the init's.
    runc_run: Option<Child>,
    started: Instant,
}

/// Extra `podman run` or `docker run` flags, e.g. `--init`.
pub type RunFlags<'a> = &'a [&'a str];

/// What every podman and docker container here runs with: no network, and
/// resource limits this machine allows (podman's default NOFILE is too high
/// for it).
pub const RUN_FLAGS: &[&str] = &[
    "--network",
    "none",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=4096:4096",
];

impl Container {
    /// Starts `args` as the container's process 1.
    pub fn start(runtime: Runtime, rootfs: Rootfs, args: &[&str], run_flags: RunFlags) -> Self {
        let name = unique("grace-e2e");
        let started = Instant::now();
        let markers = format!("{}:/markers", rootfs.markers().display());
        let runc_run = match &runtime {
            Runtime::Runc => Some(Self::start_runc(&rootfs, &name, args)),
            Runtime::Podman | Runtime::Docker(_) => {
                let mut run = engine(&runtime);
                if let Runtime::Docker(socket) = &runtime {
                    import(socket, &rootfs, &name);
                } else {
                    run.args(["--runtime", "runc"]);
                }
                run.args(["run", "-d", "--name", &name])
                    .args(RUN_FLAGS)
                    .args(["-v", &markers])
                    .args(run_flags);
                if runtime == Runtime::Podman {
                    run.arg("--rootfs").arg(rootfs.root()).args(args);
                } else {
                    // docker has no --rootfs: the rootfs became an image, and
                    // the first argument is its ENTRYPOINT (exec form), the
                    // rest its command, as with `ENTRYPOINT ["/grace"]`.
                    let (entrypoint, command) = args.split_first().expect("a command");
                    run.args(["--entrypoint", entrypoint, &name]).args(command);
                }
                let output = run.output().expect("podman or docker installed");
                assert!(
                    output.status.success(),
                    "run failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                None
            }
        };
        Container {
            runtime,
            name,
            rootfs,
            runc_run,
            started,
        }
    }

    /// A container that something else (compose) started from `rootfs`.
    pub fn adopt(runtime: Runtime, name: String, rootfs: Rootfs) -> Self {
        Container {
            runtime,
            name,
            rootfs,
            runc_run: None,
            started: Instant::now(),
        }
    }

    fn start_runc(rootfs: &Rootfs, name: &str, args: &[&str]) -> Child {
        let bundle = rootfs.dir.path();
        let spec = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(bundle)
            .status()
            .expect("runc installed");
        assert!(spec.success());
        let config_path = bundle.join("config.json");
        let config = fs::read_to_string(&config_path).unwrap();
        let args_json = args
            .iter()
            .map(|a| json_string(a))
            .collect::<Vec<_>>()
            .join(", ");
        let markers = json_string(&rootfs.markers().display().to_string());
        let edits = [
            ("\"terminal\": true", "\"terminal\": false".to_string()),
            (
                "\"args\": [\n\t\t\t\"sh\"\n\t\t]",
                format!("\"args\": [{args_json}]"),
            ),
            ("\"readonly\": true", "\"readonly\": false".to_string()),
            (
                "\"mounts\": [",
                format!(
                    "\"mounts\": [{{\"destination\": \"/markers\", \"type\": \"bind\", \"source\": {markers}, \"options\": [\"rbind\", \"rw\"]}},"
                ),
            ),
        ];
        let mut edited = config;
        for (from, to) in edits {
            assert!(edited.contains(from), "runc spec changed: no {from:?}");
            edited = edited.replacen(from, &to, 1);
        }
        fs::write(&config_path, edited).unwrap();
        let log = fs::File::create(bundle.join("container.log")).unwrap();
        Command::new("runc")
            .arg("--root")
            .arg(bundle.join("runc-state"))
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(name)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("runc run")
    }

    fn runc(&self, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .arg("--root")
            .arg(self.rootfs.dir.join("runc-state"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runc")
    }

    fn engine(&self, args: &[&str]) -> std::process::Output {
        engine(&self.runtime)
            .args(args)
            .output()
            .expect("podman or docker")
    }

    /// `runc kill NAME SIGNAL` or `podman|docker kill -s SIGNAL NAME`.
    pub fn kill(&self, signal: &str) {
        let output = match self.runtime {
            Runtime::Runc => self.runc(&["kill", &self.name, signal]),
            _ => self.engine(&["kill", "-s", signal, &self.name]),
        };
        assert!(
            output.status.success(),
            "kill: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `podman|docker exec NAME ARGS...`.
    pub fn exec(&self, args: &[&str]) {
        self.exec_with(&[], args);
    }

    /// `podman|docker exec NAME ARGS...`, whatever its exit: its output.
    pub fn exec_output(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        self.engine(&all)
    }

    /// `podman|docker exec --detach NAME ARGS...`: returns once ARGS runs.
    pub fn exec_detached(&self, args: &[&str]) {
        self.exec_with(&["--detach"], args);
    }

    fn exec_with(&self, flags: &[&str], args: &[&str]) {
        let mut all = vec!["exec"];
        all.extend_from_slice(flags);
        all.push(&self.name);
        all.extend_from_slice(args);
        let output = self.engine(&all);
        assert!(
            output.status.success(),
            "exec: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Stops the container the way users do (`podman|docker stop -t
    /// TIMEOUT`; for runc, SIGTERM and then SIGKILL after TIMEOUT) and
    /// returns the exit code and how long the stop took.
    pub fn stop(&mut self, timeout: Duration) -> (i32, Duration) {
        let begun = Instant::now();
        match self.runtime {
            Runtime::Podman | Runtime::Docker(_) => {
                let seconds = timeout.as_secs().to_string();
                let output = self.engine(&["stop", "-t", &seconds, &self.name]);
                assert!(
                    output.status.success(),
                    "stop: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let took = begun.elapsed();
                (self.exit_code(), took)
            }
            Runtime::Runc => {
                self.kill("TERM");
                let deadline = begun + timeout;
                let mut killed = false;
                loop {
                    if let Some(code) = self.try_exit_code() {
                        return (code, begun.elapsed());
                    }
                    if !killed && Instant::now() >= deadline {
                        let _ = self.runc(&["kill", &self.name, "KILL"]);
                        killed = true;
                    }
                    assert!(begun.elapsed() < timeout + BOUND, "container did not stop");
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    fn try_exit_code(&mut self) -> Option<i32> {
        let child = self.runc_run.as_mut()?;
        let status = child.try_wait().expect("try_wait")?;
        Some(shell_code(status))
    }

    /// Waits for the container to exit by itself and returns its exit code.
    pub fn wait(&mut self) -> i32 {
        match self.runtime {
            Runtime::Runc => {
                let mut code = None;
                wait_until("the container to exit", || {
                    code = self.try_exit_code();
                    code.is_some()
                });
                code.unwrap()
            }
            Runtime::Podman | Runtime::Docker(_) => {
                let output = self.engine(&["wait", &self.name]);
                assert!(output.status.success());
                self.exit_code()
            }
        }
    }

    /// The exit code from `podman|docker inspect`.
    pub fn exit_code(&self) -> i32 {
        let output = self.engine(&["inspect", &self.name, "--format", "{{.State.ExitCode}}"]);
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("exit code from inspect")
    }

    pub fn logs(&self) -> String {
        match self.runtime {
            Runtime::Runc => {
                fs::read_to_string(self.rootfs.dir.join("container.log")).unwrap_or_default()
            }
            Runtime::Podman | Runtime::Docker(_) => {
                let output = self.engine(&["logs", &self.name]);
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            }
        }
    }

    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }
}

/// podman or docker (their command lines agree for all used here).
fn engine(runtime: &Runtime) -> Command {
    let mut command = match runtime {
        Runtime::Docker(socket) => docker(socket),
        _ => Command::new("podman"),
    };
    command.stdin(Stdio::null());
    command
}

impl Drop for Container {
    fn drop(&mut self) {
        match self.runtime {
            Runtime::Runc => {
                let _ = self.runc(&["kill", &self.name, "KILL"]);
                if let Some(child) = self.runc_run.as_mut() {
                    let _ = child.wait();
                }
                let _ = self.runc(&["delete", "--force", &self.name]);
            }
            Runtime::Podman => {
                let _ = self.engine(&["rm", "--force", "--time", "0", &self.name]);
            }
            Runtime::Docker(_) => {
                let _ = self.engine(&["rm", "--force", &self.name]);
            }
        }
    }
}

/// Host processes whose command line mentions `needle` (such as a test's
/// unique markers directory): what a container left behind.
pub fn host_processes_mentioning(needle: &str) -> Vec<i32> {
    let own = std::process::id() as i32;
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != own)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|raw| String::from_utf8_lossy(&raw).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// The static probe's command line inside a container, writing into
/// /markers; `tag` makes its processes recognisable on the host.
pub fn container_probe(name: &str, extra: &str, tag: &str) -> String {
    format!("/probe --dir /markers --tag {tag} --name {name} {extra}")
}

/// Waits, bounded, for the probe `name` in the container to be ready.
pub fn wait_probe(rootfs: &Rootfs, name: &str) {
    wait_marker(&rootfs.markers(), name);
}

/// Waits, bounded, for the ready marker of probe `name` in `markers`, the
/// host side of a container's /markers.
pub fn wait_marker(markers: &Path, name: &str) {
    let path = markers.join(format!("{name}.ready"));
    wait_until(&format!("probe {name} in the container"), || path.exists());
}
