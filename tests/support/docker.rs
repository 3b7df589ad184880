//! A private dockerd per test, from Debian's docker.io: its own data root,
//! exec root, pidfile, socket and daemon-managed containerd, all in one
//! scratch directory, with no iptables rules, no bridge and the vfs storage
//! driver, so that it touches nothing of the host's or of another test's.
//! Images come from `docker import` of the busybox rootfs the container
//! tests build: no registry. When dropped, also after a failed assertion,
//! every container is removed, the daemon is stopped (killed if it will
//! not stop), whatever it left running or mounted is killed and unmounted,
//! and the directory is removed.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::containers::{Rootfs, Runtime, host_processes_mentioning};
use super::{BOUND, TempDir, check};

/// Debian's client, the daemon's own version: another `docker` earlier on
/// PATH may speak a newer API.
pub const DOCKER: &str = "/usr/bin/docker";

/// How long a daemon (dockerd, or tests/cri.rs's containerd) may take to
/// answer on its socket. dockerd took 0.14 s to 1 s on this machine kind,
/// idle to loaded, containerd 0.6 s to 1 s; the bound is the machine's,
/// not grace's, so it is generous.
const START_BOUND: Duration = Duration::from_secs(60);

/// Waits until `daemon`, just started, answers (`ask` is Ok); fails with
/// its `log` if it exits first, or with the last error too if START_BOUND
/// passes (a client that cannot run at all shows there).
pub fn await_daemon(
    name: &str,
    daemon: &mut Child,
    log: &Path,
    mut ask: impl FnMut() -> Result<(), String>,
) {
    let begun = Instant::now();
    let log = || fs::read_to_string(log).unwrap_or_default();
    loop {
        if let Some(status) = daemon.try_wait().expect("try_wait") {
            panic!("{name} exited at start-up ({status}):\n{}", log());
        }
        let error = match ask() {
            Ok(()) => break,
            Err(error) => error,
        };
        assert!(
            begun.elapsed() < START_BOUND,
            "{name} did not answer on its socket within {START_BOUND:?}: {error}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{name} answered after {:?}", begun.elapsed());
}

/// `docker --host unix://SOCKET`, for the client and for compose.
pub fn docker(socket: &Path) -> Command {
    let mut command = Command::new(DOCKER);
    command
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .stdin(Stdio::null());
    command
}

pub struct Dockerd {
    daemon: Child,
    dir: TempDir,
}

impl Dockerd {
    /// Starts dockerd with `config` as its daemon.json and `flags` added,
    /// and waits until it answers.
    pub fn start(config: &str, flags: &[&str]) -> Self {
        let dir = TempDir::new();
        let config_path = dir.join("daemon.json");
        fs::write(&config_path, config).unwrap();
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let tag = tag(&dir);
        let daemon = Command::new("dockerd")
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver=vfs", "--data-root"])
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--config-file")
            .arg(&config_path)
            // dockerd uses the host's containerd instead of starting its own
            // when /run/containerd/containerd.sock exists: namespaces of
            // their own keep parallel daemons apart there too.
            .arg("--containerd-namespace")
            .arg(&tag)
            .arg("--containerd-plugins-namespace")
            .arg(format!("{tag}-plugins"))
            .args(flags)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd installed (Debian's docker.io)");
        // Owned first, so that a failed start is cleaned up too.
        let mut dockerd = Dockerd { daemon, dir };
        let socket = dockerd.socket();
        let log = dockerd.dir.join("dockerd.log");
        await_daemon("dockerd", &mut dockerd.daemon, &log, || {
            let output = docker(&socket)
                .arg("version")
                .output()
                .map_err(|error| error.to_string())?;
            match output.status.success() {
                true => Ok(()),
                false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
            }
        });
        dockerd
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    /// `DOCKER_HOST` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The runtime that runs containers on this daemon.
    pub fn runtime(&self) -> Runtime {
        Runtime::Docker(self.socket())
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        docker(&self.socket())
            .args(args)
            .output()
            .expect("docker client installed (Debian's docker.io)")
    }

    fn stop(&mut self) {
        let ids = self.docker(&["ps", "--all", "--quiet"]);
        let ids = String::from_utf8_lossy(&ids.stdout).into_owned();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            // SIGKILL: dockerd's own shutdown would give each container its
            // full stop timeout.
            let mut args = vec!["rm", "--force"];
            args.extend(ids);
            let _ = self.docker(&args);
        }
        stop_daemon(&mut self.daemon);
    }
}

/// SIGTERM to `daemon`, then SIGKILL if it has not exited within BOUND.
pub fn stop_daemon(daemon: &mut Child) {
    if let Ok(pid) = i32::try_from(daemon.id()) {
        // SAFETY: kill(2) with plain integers, on our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + BOUND;
    while matches!(daemon.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// The scratch directory's unique name: in the namespaces, and on the
/// command lines of the containerd and shims that serve this daemon.
fn tag(dir: &TempDir) -> String {
    dir.path()
        .file_name()
        .expect("a temporary directory has a name")
        .to_string_lossy()
        .into_owned()
}

/// The unix sockets `pid` has bound (a containerd shim's is under
/// /run/containerd/s, outside the daemon's directory).
fn bound_sockets(pid: i32) -> Vec<PathBuf> {
    let inodes: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let target = fs::read_link(entry.ok()?.path()).ok()?;
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            // Num RefCount Protocol Flags Type St Inode Path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let path = fields.get(7)?;
            inodes
                .contains(&fields.get(6)?.to_string())
                .then(|| PathBuf::from(path))
        })
        .collect()
}

/// Mount points at or below `dir`, deepest first.
fn mounts_below(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter(|point| Path::new(point).starts_with(dir))
        .map(String::from)
        .collect();
    found.sort_by_key(|point| std::cmp::Reverse(point.len()));
    found
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        // A daemon that had to be killed leaves its containers, under the
        // runc root it gave its containerd (one per namespace).
        remove_leftovers(self.dir.path(), &self.dir.join("exec").join("runtime-runc"));
    }
}

/// What a daemon keeping its state in `dir` left once stopped or killed:
/// the containers under each runc root in `runc_roots` (one per
/// containerd namespace), the containerd and shims that served it (their
/// command lines name `dir`) with the sockets the shims bound outside it,
/// and the mounts below `dir`.
pub fn remove_leftovers(dir: &Path, runc_roots: &Path) {
    for root in fs::read_dir(runc_roots).into_iter().flatten().flatten() {
        for container in fs::read_dir(root.path()).into_iter().flatten().flatten() {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(root.path())
                .args(["delete", "--force"])
                .arg(container.file_name())
                .stdin(Stdio::null())
                .output();
        }
    }
    let needle = format!("{}/", dir.display());
    for pid in host_processes_mentioning(&needle) {
        let sockets = bound_sockets(pid);
        // SAFETY: kill(2) with plain integers; the process serves only
        // this test's daemon (its command line names the directory).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        for socket in sockets
            .iter()
            .filter(|s| s.starts_with("/run/containerd/s"))
        {
            let _ = fs::remove_file(socket);
        }
    }
    // dockerd bind-mounts its data root onto itself, and netns and shm
    // mounts live below it, as do a CRI sandbox's shm and every task's
    // rootfs; a daemon undoes them only when it stops cleanly.
    for point in mounts_below(dir) {
        let _ = Command::new("umount").args(["--lazy", &point]).status();
    }
}

/// Imports `rootfs` as image `name`: `tar | docker import - NAME`.
pub fn import(socket: &Path, rootfs: &Rootfs, name: &str) {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(rootfs.root())
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar");
    let output = docker(socket)
        .args(["import", "-", name])
        .stdin(tar.stdout.take().expect("tar's stdout"))
        .output()
        .expect("docker client");
    assert!(tar.wait().expect("tar").success(), "tar of the rootfs");
    check(output, "docker import");
}
