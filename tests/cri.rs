//! The kubelet's path: a pod deletion reaches the container as the CRI call
//! `StopContainer(timeout)`, which containerd's CRI plugin turns into the
//! stop signal and, at the timeout, SIGKILL. Each test runs a private
//! containerd (Debian's 1.6, CRI plugin built in) with its own root, state,
//! sockets, runc root and config in one scratch directory, and talks to it
//! as the kubelet does, through tests/cri/client.py (Debian's python3-grpcio
//! with messages protoc makes from tests/cri/cri.proto). Pods use the host
//! network (no CNI plugin; CNI's directories are empty) and a local image
//! of the busybox rootfs, grace and the probe, imported with
//! `ctr -n k8s.io images import`, as both the sandbox ("pause") image and
//! the containers' image. When dropped, also after a failed assertion,
//! every pod is stopped and removed, containerd is stopped (killed if it
//! will not stop), and whatever it left running or mounted is killed and
//! unmounted (tests/support/docker.rs's `remove_leftovers`).

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::containers::{
    Container, Rootfs, container_probe, host_processes_mentioning, wait_probe,
};
use crate::support::docker::{Dockerd, await_daemon, remove_leftovers, stop_daemon};
use crate::support::shapes::{shapes_script, unfinished_shapes, wait_for_shapes};
use crate::support::{TempDir, check, event_time, finished_cleanup, signals_received};

/// Debian's python3 (python3-grpcio is installed for it), whatever other
/// python3 comes first on PATH.
const PYTHON: &str = "/usr/bin/python3";

/// The image both the sandboxes and the containers run.
const IMAGE: &str = "grace-test.local/busybox:1";

fn cri_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("cri")
}

struct Containerd {
    daemon: Child,
    client: RefCell<Client>,
    dir: TempDir,
}

impl Containerd {
    /// Starts containerd, imports `rootfs` as IMAGE and waits until the
    /// CRI plugin answers.
    fn start(rootfs: &Rootfs) -> Self {
        let dir = TempDir::new();
        let d = dir.path().display().to_string();
        for sub in ["cni", "logs", "python"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // The client's messages, generated for this run: nothing generated
        // is kept in the repository.
        check(
            Command::new("protoc")
                .arg("-I")
                .arg(cri_dir())
                .arg(format!("--python_out={d}/python"))
                .arg("cri.proto")
                .stdin(Stdio::null())
                .output()
                .expect("protoc installed (Debian's protobuf-compiler)"),
            "protoc",
        );
        // restrict_oom_score_adj: the CRI plugin gives sandboxes -998,
        // which a machine without CAP_SYS_RESOURCE over its own OOM score
        // (this one, a container itself) refuses. The runc root is the
        // test's, so that leftovers can be found and deleted.
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{d}/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{IMAGE}"
    stream_server_port = "0"
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "{d}/cni"
      conf_dir = "{d}/cni"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "native"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{d}/runc"
"#
        );
        fs::write(dir.join("config.toml"), config).unwrap();
        let log = fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd installed (Debian's containerd)");
        // Owned first, so that a failed start is cleaned up too.
        let mut containerd = Containerd {
            daemon,
            client: RefCell::new(Client::start(dir.path())),
            dir,
        };
        let log = containerd.dir.join("containerd.log");
        let client = containerd.client.get_mut();
        await_daemon("containerd", &mut containerd.daemon, &log, || {
            client.call("Version", &json!({})).map(drop)
        });
        containerd.import(rootfs);
        containerd
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    fn try_call(&self, method: &str, request: &Value) -> Result<Value, String> {
        self.client.borrow_mut().call(method, request)
    }

    /// The response of `RuntimeService/METHOD(request)`.
    fn call(&self, method: &str, request: &Value) -> Value {
        self.answer(method, request)["response"].clone()
    }

    fn answer(&self, method: &str, request: &Value) -> Value {
        self.try_call(method, request)
            .unwrap_or_else(|error| panic!("{error}\n{}", self.log()))
    }

    /// Imports `rootfs` as IMAGE, in the CRI plugin's namespace, from a
    /// docker-archive made here: one layer, and `sleep` as the command a
    /// sandbox runs.
    fn import(&self, rootfs: &Rootfs) {
        let image = self.dir.join("image");
        fs::create_dir_all(&image).unwrap();
        check(
            Command::new("tar")
                .arg("-C")
                .arg(rootfs.root())
                .args(["-cf"])
                .arg(image.join("layer.tar"))
                .arg(".")
                .output()
                .expect("tar"),
            "tar of the rootfs",
        );
        let sum = check(
            Command::new("sha256sum")
                .arg(image.join("layer.tar"))
                .output()
                .expect("sha256sum"),
            "sha256sum",
        );
        let diff_id = sum.split_whitespace().next().expect("a sum");
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sleep", "2147483647"]},
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        });
        fs::write(image.join("config.json"), config.to_string()).unwrap();
        let manifest = json!([{
            "Config": "config.json",
            "RepoTags": [IMAGE],
            "Layers": ["layer.tar"],
        }]);
        fs::write(image.join("manifest.json"), manifest.to_string()).unwrap();
        check(
            Command::new("tar")
                .arg("-C")
                .arg(&image)
                .arg("-cf")
                .arg(self.dir.join("image.tar"))
                .args(["manifest.json", "config.json", "layer.tar"])
                .output()
                .expect("tar"),
            "tar of the image",
        );
        check(
            Command::new("ctr")
                .arg("--address")
                .arg(self.socket())
                .args([
                    "-n",
                    "k8s.io",
                    "images",
                    "import",
                    "--snapshotter",
                    "native",
                ])
                .arg(self.dir.join("image.tar"))
                .stdin(Stdio::null())
                .output()
                .expect("ctr installed (Debian's containerd)"),
            "ctr images import",
        );
    }
}

/// tests/cri/client.py, one process per test, speaking to the containerd
/// of one directory.
struct Client {
    process: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Client {
    fn start(dir: &Path) -> Self {
        let mut process = Command::new(PYTHON)
            .arg(cri_dir().join("client.py"))
            .arg(dir.join("containerd.sock"))
            .env("PYTHONPATH", dir.join("python"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 installed (Debian's python3-grpcio)");
        let stdin = process.stdin.take().unwrap();
        let stdout = BufReader::new(process.stdout.take().unwrap());
        Client {
            process,
            stdin,
            stdout,
        }
    }

    /// `RuntimeService/METHOD(request)`: the client's answer, with the
    /// response, when the call was made and how long it took (see
    /// tests/cri/client.py).
    fn call(&mut self, method: &str, request: &Value) -> Result<Value, String> {
        let order = json!({"method": method, "request": request});
        let mut line = String::new();
        writeln!(self.stdin, "{order}")
            .and_then(|()| self.stdout.read_line(&mut line))
            .map_err(|error| format!("{method}: the client: {error}"))?;
        let answer: Value = serde_json::from_str(&line)
            .map_err(|_| format!("{method}: the client ended (its stderr is above)"))?;
        match answer["error"].as_str() {
            Some(error) => Err(format!("{method}: {error}")),
            None => Ok(answer),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        stop_daemon(&mut self.daemon);
        // containerd leaves its shims and their containers running when it
        // stops: they are meant to outlive a daemon's restart.
        remove_leftovers(self.dir.path(), &self.dir.join("runc"));
    }
}

/// The kubelet's NamespaceMode names.
#[derive(Clone, Copy)]
enum Pid {
    /// One PID namespace per container: the kubelet's default.
    Container,
    /// `shareProcessNamespace: true`.
    Pod,
}

impl Pid {
    fn mode(self) -> &'static str {
        match self {
            Pid::Container => "CONTAINER",
            Pid::Pod => "POD",
        }
    }
}

/// A pod sandbox on the host network; stopped and removed, with its
/// containers, when dropped.
struct Pod<'a> {
    containerd: &'a Containerd,
    id: String,
    config: Value,
    pid: Pid,
    rootfs: &'a Rootfs,
}

impl<'a> Pod<'a> {
    fn run(containerd: &'a Containerd, rootfs: &'a Rootfs, name: &str, pid: Pid) -> Self {
        let logs = containerd.dir.join("logs").join(name);
        fs::create_dir_all(&logs).unwrap();
        let config = json!({
            "metadata": {"name": name, "uid": format!("{name}-uid"), "namespace": "grace"},
            "log_directory": logs,
            "linux": {"security_context": {"namespace_options": {
                "network": "NODE", "pid": pid.mode(), "ipc": "POD"
            }}},
        });
        let response = containerd.call("RunPodSandbox", &json!({"config": config}));
        let id = response["pod_sandbox_id"].as_str().unwrap().to_string();
        Pod {
            containerd,
            id,
            config,
            pid,
            rootfs,
        }
    }

    /// Creates and starts container `name` running `command`, with the
    /// rootfs's markers directory at /markers and `envs`.
    fn start(&self, name: &str, command: &[&str], envs: &[(&str, &str)]) -> String {
        let envs: Vec<Value> = envs
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        let config = json!({
            "metadata": {"name": name},
            "image": {"image": IMAGE},
            "command": command,
            "envs": envs,
            "mounts": [{"container_path": "/markers", "host_path": self.rootfs.markers()}],
            "log_path": format!("{name}.log"),
            "linux": {"security_context": {"namespace_options": {
                "network": "NODE", "pid": self.pid.mode(), "ipc": "POD"
            }}},
        });
        let response = self.containerd.call(
            "CreateContainer",
            &json!({"pod_sandbox_id": self.id, "config": config, "sandbox_config": self.config}),
        );
        let id = response["container_id"].as_str().unwrap().to_string();
        self.containerd
            .call("StartContainer", &json!({"container_id": id}));
        id
    }

    /// What the container `name` wrote on stdout and stderr, as the CRI
    /// plugin logged it.
    fn log(&self, name: &str) -> String {
        let path = self.config["log_directory"].as_str().unwrap();
        fs::read_to_string(Path::new(path).join(format!("{name}.log"))).unwrap_or_default()
    }

    /// `StopContainer(id, timeout)`: how long the call took (it returns
    /// once the container has exited), and the container's status after.
    fn stop(&self, id: &str, timeout: u64) -> Stop {
        let answer = self.containerd.answer(
            "StopContainer",
            &json!({"container_id": id, "timeout": timeout}),
        );
        let status = self.status(id);
        let begun_ns = answer["begun_ns"].as_u64().unwrap();
        let finished_ns = status["finished_at"]
            .as_str()
            .and_then(|ns| ns.parse::<u64>().ok())
            .expect("finished_at");
        Stop {
            begun_ms: answer["begun_ms"].as_f64().unwrap() as u64,
            took: Duration::from_secs_f64(answer["elapsed_ms"].as_f64().unwrap() / 1000.0),
            to_exit: Duration::from_nanos(finished_ns.saturating_sub(begun_ns)),
            status,
        }
    }

    fn status(&self, id: &str) -> Value {
        let response = self
            .containerd
            .call("ContainerStatus", &json!({"container_id": id}));
        response["status"].clone()
    }

    /// A preStop exec hook as the kubelet runs it (`ExecSync`, bounded by
    /// the grace period), and the kubelet's arithmetic for what is left:
    /// the grace period less the hook's whole seconds, at least 2 s.
    fn pre_stop(&self, id: &str, hook: &[&str], grace_period: u64) -> u64 {
        let answer = self.containerd.answer(
            "ExecSync",
            &json!({"container_id": id, "cmd": hook, "timeout": grace_period}),
        );
        let response = &answer["response"];
        assert_eq!(response["exit_code"].as_i64().unwrap_or(0), 0, "{response}");
        // The call's own time: the kubelet times the hook around its call.
        let hook_seconds = answer["elapsed_ms"].as_f64().unwrap() as u64 / 1000;
        grace_period.saturating_sub(hook_seconds).max(2)
    }
}

/// What a `StopContainer` took, as the caller saw it (until the call
/// returned) and as containerd recorded it (until the container's exit),
/// and when it began on the probe's clock (CLOCK_MONOTONIC, ms).
struct Stop {
    begun_ms: u64,
    took: Duration,
    to_exit: Duration,
    status: Value,
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        let pod = json!({"pod_sandbox_id": self.id});
        let _ = self.containerd.try_call("StopPodSandbox", &pod);
        let _ = self.containerd.try_call("RemovePodSandbox", &pod);
    }
}

fn exit_code(status: &Value) -> i64 {
    assert_eq!(status["state"], "CONTAINER_EXITED", "{status}");
    // proto3's JSON leaves a 0 out.
    status["exit_code"].as_i64().unwrap_or(0)
}

/// The shape tests' grace period: the slow helper's 2 s cleanup and 3 s to
/// spare, since it starts only once the helper gets to run, among 200
/// workers doing the same on a machine that other tests load too (with
/// 1 s to spare it once missed its deadline at a load average of 21).
/// containerd's timeout is 10 s.
const GRACE_PERIOD: Duration = Duration::from_secs(5);

/// The shutdown tests' shapes (sibling, setsid daemon, slow helper,
/// stopped process, ignorer, orphan, 200 workers) under grace with
/// GRACE_PERIOD, stopped with the kubelet's call; `pid1` is what PID 1 of
/// the container's PID namespace is called.
fn every_shape_is_stopped(pid: Pid, pid1: &str) {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let containerd = Containerd::start(&rootfs);
    let pod = Pod::run(&containerd, &rootfs, "shapes", pid);
    // A bystander in another container of the pod: in a shared PID
    // namespace it is a process grace can see but must leave alone.
    pod.start(
        "bystander",
        &[
            "sh",
            "-c",
            &format!("exec {}", container_probe("bystander", "", &tag)),
        ],
        &[],
    );
    wait_probe(&rootfs, "bystander");
    let script = format!(
        "cut -d' ' -f2 /proc/1/stat > /markers/pid1; {}",
        shapes_script(&tag)
    );
    let app = pod.start(
        "app",
        &[
            "/grace",
            "--grace-period",
            &format!("{}s", GRACE_PERIOD.as_secs()),
            "--",
            "sh",
            "-c",
            &script,
        ],
        &[],
    );
    wait_for_shapes(&rootfs);
    let markers = rootfs.markers();
    let seen = fs::read_to_string(markers.join("pid1")).unwrap();
    assert_eq!(seen.trim(), format!("({pid1})"), "PID 1");
    let Stop { took, status, .. } = pod.stop(&app, 10);
    eprintln!("StopContainer(timeout = 10) took {took:?}");
    let log = pod.log("app");
    // 143: main died of SIGTERM and grace passed that on; containerd's
    // SIGKILL of grace at its 10 s would have made it 137.
    assert_eq!(exit_code(&status), 143, "{status}\n{log}");
    let unfinished = unfinished_shapes(&markers);
    assert!(
        unfinished.is_empty(),
        "did not finish: {unfinished:?}\n{log}"
    );
    // The ignorer died of grace's SIGKILL at its deadline, not of
    // containerd's at 10 s.
    assert!(!finished_cleanup(&markers, "ignorer"));
    assert!(
        took >= GRACE_PERIOD && took < Duration::from_secs(10),
        "took {took:?}\n{log}"
    );
    // grace stopped its own tree and nothing else.
    assert_eq!(
        signals_received(&markers, "bystander"),
        Vec::<i64>::new(),
        "the bystander was signalled\n{log}"
    );
    let left: Vec<String> = host_processes_mentioning(&tag)
        .into_iter()
        .map(|pid| fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .collect();
    assert!(
        left.len() == 1 && left[0].contains("--name bystander"),
        "the bystander alone should be left: {left:?}\n{log}"
    );
    drop(pod);
    assert_eq!(
        host_processes_mentioning(&tag),
        Vec::<i32>::new(),
        "left behind"
    );
}

#[test]
fn stop_container_stops_every_shape_gracefully() {
    every_shape_is_stopped(Pid::Container, "grace");
}

#[test]
fn shared_process_namespace_grace_stops_its_own_tree_only() {
    // The sandbox's `sleep` stands for the pause process.
    every_shape_is_stopped(Pid::Pod, "sleep");
}

/// The recipe tests' `terminationGracePeriodSeconds`, and how long a
/// preStop hook takes.
const TERMINATION_GRACE_PERIOD: u64 = 6;
const HOOK_SECONDS: u64 = 2;

/// How a pod deletion went: `StopContainer`'s timeout, how long it took,
/// the exit code, and how long after the call the first process was
/// signalled.
struct Deletion {
    timeout: u64,
    took: Duration,
    code: i64,
    signalled_after: Duration,
}

/// A sibling with a cleanup, a process that ignores SIGTERM and a main
/// process, under grace with `envs` (the recipe's `env:`), deleted as the
/// kubelet deletes a pod with `terminationGracePeriodSeconds`
/// TERMINATION_GRACE_PERIOD: its preStop hook (`sleep HOOK_SECONDS`), if
/// `hook`, runs as the kubelet runs it, then `StopContainer` gets what the
/// kubelet leaves.
fn delete(envs: &[(&str, &str)], hook: bool) -> Deletion {
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let containerd = Containerd::start(&rootfs);
    let pod = Pod::run(&containerd, &rootfs, "prestop", Pid::Container);
    let script = format!(
        "{} {} exec {}",
        container_probe("ignorer", "--ignore 15 --exit-on 10 &", &tag),
        container_probe("sibling", "--cleanup-ms 300 &", &tag),
        container_probe("main", "--cleanup-ms 100", &tag)
    );
    let app = pod.start("app", &["/grace", "--", "sh", "-c", &script], envs);
    for name in ["ignorer", "sibling", "main"] {
        wait_probe(&rootfs, name);
    }
    let timeout = if hook {
        let seconds = HOOK_SECONDS.to_string();
        pod.pre_stop(&app, &["sleep", &seconds], TERMINATION_GRACE_PERIOD)
    } else {
        TERMINATION_GRACE_PERIOD
    };
    let markers = rootfs.markers();
    // The hook ran in the container while everything in it went on.
    assert_eq!(signals_received(&markers, "main"), Vec::<i64>::new());
    let Stop {
        begun_ms,
        took,
        status,
        ..
    } = pod.stop(&app, timeout);
    let log = pod.log("app");
    eprintln!("StopContainer(timeout = {timeout}) took {took:?}\n{log}");
    assert!(finished_cleanup(&markers, "sibling"), "{log}");
    assert!(finished_cleanup(&markers, "main"), "{log}");
    assert!(!finished_cleanup(&markers, "ignorer"), "{log}");
    let signalled = event_time(&markers, "sibling", "signal").expect("the sibling's SIGTERM");
    Deletion {
        timeout,
        took,
        code: exit_code(&status),
        signalled_after: Duration::from_millis(signalled.saturating_sub(begun_ms)),
    }
}

#[test]
fn recipe_stop_delay_instead_of_a_hook_leaves_the_last_kill_to_grace() {
    // The recipe's env: one second under terminationGracePeriodSeconds,
    // and a stop delay instead of a preStop hook.
    let grace_period = TERMINATION_GRACE_PERIOD - 1;
    let deletion = delete(
        &[
            ("GRACE_GRACE_PERIOD", &format!("{grace_period}s")),
            ("GRACE_STOP_DELAY", "2s"),
        ],
        false,
    );
    let Deletion {
        timeout,
        took,
        code,
        signalled_after,
    } = deletion;
    assert!(
        signalled_after >= Duration::from_secs(2),
        "signalled {signalled_after:?} after StopContainer"
    );
    // grace's deadline, before containerd's SIGKILL at `timeout`.
    assert_eq!(
        code, 143,
        "StopContainer(timeout = {timeout}) took {took:?}"
    );
    assert!(took >= Duration::from_secs(grace_period), "took {took:?}");
}

#[test]
fn pre_stop_hook_with_the_recipes_grace_period_leaves_the_last_kill_to_grace() {
    // docs/recipes.md: with a preStop hook, one second under
    // terminationGracePeriodSeconds less the hook's time.
    let grace_period = TERMINATION_GRACE_PERIOD - 1 - HOOK_SECONDS;
    let Deletion {
        timeout,
        took,
        code,
        ..
    } = delete(&[("GRACE_GRACE_PERIOD", &format!("{grace_period}s"))], true);
    // grace killed the ignorer at its deadline and exited with main's 143
    // before containerd's SIGKILL at `timeout` (which would make it 137).
    assert_eq!(
        code, 143,
        "StopContainer(timeout = {timeout}) took {took:?}"
    );
    assert!(took >= Duration::from_secs(grace_period), "took {took:?}");
}

#[test]
fn pre_stop_hook_with_one_second_under_the_period_loses_the_last_kill() {
    // What the recipe warns of: grace's clock starts at SIGTERM, after the
    // hook, so a grace period of one second under
    // terminationGracePeriodSeconds outlasts what the kubelet leaves.
    let grace_period = TERMINATION_GRACE_PERIOD - 1;
    let Deletion {
        timeout,
        took,
        code,
        ..
    } = delete(&[("GRACE_GRACE_PERIOD", &format!("{grace_period}s"))], true);
    assert!(timeout < grace_period, "timeout {timeout}");
    // containerd SIGKILLed grace (137) at `timeout`, before its deadline.
    assert_eq!(
        code, 137,
        "StopContainer(timeout = {timeout}) took {took:?}"
    );
    assert!(took >= Duration::from_secs(timeout), "took {took:?}");
}

/// docker's State.FinishedAt (RFC 3339) in nanoseconds since the epoch.
fn docker_finished_ns(dockerd: &Dockerd, name: &str) -> u64 {
    let finished = check(
        dockerd.docker(&["inspect", name, "--format", "{{.State.FinishedAt}}"]),
        "docker inspect",
    );
    check(
        Command::new("date")
            .args(["-d", finished.trim(), "+%s%N"])
            .output()
            .expect("date"),
        "date",
    )
    .trim()
    .parse()
    .expect("nanoseconds")
}

/// The figure docs/recipes.md reports: one process with a 2 s cleanup
/// under grace, stopped by the kubelet's call and by `docker stop`.
#[test]
fn stop_container_and_docker_stop_take_the_cleanup_time() {
    let main = |tag: &str| container_probe("main", "--cleanup-ms 2000", tag);
    let rootfs = Rootfs::new();
    let script = format!("exec {}", main(&rootfs.tag()));
    let command = ["/grace", "--", "sh", "-c", &script];
    let cri = {
        let containerd = Containerd::start(&rootfs);
        let pod = Pod::run(&containerd, &rootfs, "timed", Pid::Container);
        let app = pod.start("app", &command, &[]);
        wait_probe(&rootfs, "main");
        let stop = pod.stop(&app, 10);
        assert_eq!(exit_code(&stop.status), 143, "{}", pod.log("app"));
        assert!(finished_cleanup(&rootfs.markers(), "main"));
        stop
    };
    let dockerd = Dockerd::start("{}", &[]);
    let rootfs = Rootfs::new();
    let script = format!("exec {}", main(&rootfs.tag()));
    let command = ["/grace", "--", "sh", "-c", &script];
    let mut container = Container::start(dockerd.runtime(), rootfs, &command, &[]);
    wait_probe(&container.rootfs, "main");
    let begun: u64 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .try_into()
        .unwrap();
    let (code, took) = container.stop(Duration::from_secs(10));
    assert_eq!(code, 143, "{}", container.logs());
    assert!(finished_cleanup(&container.rootfs.markers(), "main"));
    let to_exit = Duration::from_nanos(docker_finished_ns(&dockerd, &container.name) - begun);
    eprintln!(
        "2 s cleanup: StopContainer returned after {:?} (exit {:?} after the call); \
         docker stop returned after {took:?} (exit {to_exit:?} after the command began)",
        cri.took, cri.to_exit
    );
    for taken in [cri.took, cri.to_exit, took, to_exit] {
        assert!(
            taken >= Duration::from_secs(2) && taken < Duration::from_secs(10),
            "{taken:?}"
        );
    }
}
