//! The recipes of docs/recipes.md, run: each test reads its recipe block
//! (marked `<!-- recipe:NAME -->`) out of the document, so the document
//! shows what runs. The Docker recipes run on a private dockerd
//! (tests/support/docker.rs), compose's with Debian's docker-compose; podman stands
//! in for Kubernetes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::containers::{
    Container, Rootfs, Runtime, container_probe, host_processes_mentioning, static_binaries,
    unique, wait_marker, wait_probe,
};
use crate::support::docker::{Dockerd, import};
use crate::support::podman::{Made, image_store_lock, podman};
use crate::support::{
    TempDir, check, event_time, finished_cleanup, json_string, monotonic_ms, signals_received,
};

/// The tag of the recipes' probes: they run in images, whose processes the
/// tests find by their container, not by a tag.
const RECIPE: &str = "recipe";

/// The fenced block after `<!-- recipe:NAME -->` in docs/recipes.md.
fn recipe(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recipes.md");
    let text = fs::read_to_string(path).expect("docs/recipes.md");
    let marker = format!("<!-- recipe:{name} -->\n");
    let after = text
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no recipe {name}"))
        .1;
    let body = after
        .split_once('\n')
        .expect("fence line")
        .1
        .split_once("\n```")
        .expect("closing fence")
        .0;
    format!("{body}\n")
}

/// A build context for the Dockerfile recipe on a busybox base with the
/// probe: the recipe's lines but its FROM (our base) and its CMD (ours).
fn recipe_build_context(dir: &TempDir, command: &str) -> String {
    let context = dir.join("context");
    fs::create_dir_all(&context).unwrap();
    let binaries = static_binaries();
    fs::copy("/bin/busybox", context.join("busybox")).expect("busybox-static");
    fs::copy(&binaries.grace, context.join("grace")).unwrap();
    fs::copy(&binaries.probe, context.join("probe")).unwrap();
    let mut containerfile = String::from(
        "FROM scratch\n\
         COPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         COPY probe /probe\n",
    );
    let dockerfile = recipe("dockerfile");
    assert!(dockerfile.contains("ENTRYPOINT [\"/grace\", \"--\"]"));
    for line in dockerfile.lines() {
        if !line.starts_with("FROM ") && !line.starts_with("CMD ") {
            containerfile.push_str(line);
            containerfile.push('\n');
        }
    }
    containerfile.push_str(&format!("CMD [\"sh\", \"-c\", {}]\n", json_string(command)));
    fs::write(context.join("Dockerfile"), containerfile).unwrap();
    context.display().to_string()
}

/// The Dockerfile recipe's image, built by podman: its name, and what is
/// made with it, removed when dropped.
fn build_recipe_image<'a>(dir: &'a TempDir, command: &str) -> (String, Made<'a>) {
    let context = recipe_build_context(dir, command);
    let name = format!("localhost/{}", unique("grace-recipe"));
    let lock = image_store_lock();
    let built = podman(dir, &["build", "--quiet", "-t", &name, &context]);
    drop(lock);
    let mut made = Made::new(dir);
    made.images.push(name.clone());
    check(built, "podman build");
    (name, made)
}

/// The command the Dockerfile recipe's image runs: a sibling with cleanup
/// to do, and the main process.
fn dockerfile_recipe_command() -> String {
    format!(
        "{} & exec {}",
        container_probe("sibling", "--cleanup-ms 300", RECIPE),
        container_probe("main", "--cleanup-ms 100", RECIPE)
    )
}

/// Runs the recipe's image as `container` with `engine` (podman or docker,
/// whose command lines agree here), stops it, and checks that everything
/// finished and the exit code in `inspect` is 143.
fn recipe_image_stops_every_process(
    engine: impl Fn(&[&str]) -> Output,
    image: &str,
    container: &str,
    markers: &Path,
) {
    let volume = format!("{}:/markers", markers.display());
    check(
        engine(&[
            "run",
            "-d",
            "--name",
            container,
            "--network",
            "none",
            "-v",
            &volume,
            image,
        ]),
        "run",
    );
    wait_marker(markers, "sibling");
    wait_marker(markers, "main");
    check(engine(&["stop", "-t", "10", container]), "stop");
    let code = check(
        engine(&["inspect", container, "--format", "{{.State.ExitCode}}"]),
        "inspect",
    );
    let logs = engine(&["logs", container]);
    let logs = String::from_utf8_lossy(&logs.stderr);
    assert_eq!(code.trim(), "143", "{logs}");
    assert!(finished_cleanup(&markers, "sibling"), "{logs}");
    assert!(finished_cleanup(&markers, "main"), "{logs}");
}

#[test]
fn dockerfile_recipe_builds_and_stops_every_process() {
    let dir = TempDir::new();
    let markers = dir.join("markers");
    fs::create_dir_all(&markers).unwrap();
    let (name, mut made) = build_recipe_image(&dir, &dockerfile_recipe_command());
    let container = unique("grace-recipe");
    made.containers.push(container.clone());
    recipe_image_stops_every_process(|args| podman(&dir, args), &name, &container, &markers);
}

#[test]
fn dockerfile_recipe_with_docker_build() {
    let dockerd = Dockerd::start("{}", &[]);
    let dir = TempDir::new();
    let markers = dir.join("markers");
    fs::create_dir_all(&markers).unwrap();
    let context = recipe_build_context(&dir, &dockerfile_recipe_command());
    // Debian's dockerd 20.10 builds with the classic builder, which runs
    // the RUN step in a container of its own: no network for it either.
    check(
        dockerd.docker(&[
            "build",
            "--quiet",
            "--network",
            "none",
            "-t",
            "grace-recipe",
            &context,
        ]),
        "docker build",
    );
    recipe_image_stops_every_process(
        |args| dockerd.docker(args),
        "grace-recipe",
        "grace-recipe",
        &markers,
    );
}

/// An ignorer that only SIGKILL ends, a sibling with cleanup to do, and
/// the main process.
fn straggler_script(tag: &str) -> String {
    format!(
        "{} & {} & exec {}",
        container_probe("ignorer", "--ignore 15 --exit-on 10", tag),
        container_probe("sibling", "--cleanup-ms 300", tag),
        container_probe("main", "", tag),
    )
}

/// How a test stops its container: returns the exit code and how long the
/// stop took.
type Stop<'a> = &'a dyn Fn(&mut Container) -> (i32, Duration);

/// What every runtime here does: its stop command with a 10 s timeout.
const STOP_10S: Stop = &|container| container.stop(Duration::from_secs(10));

fn stop_kills_the_ignorer_at_two_seconds(
    mut container: Container,
    tag: &str,
    stop: Stop,
) -> String {
    for name in ["ignorer", "sibling", "main"] {
        wait_probe(&container.rootfs, name);
    }
    let (code, took) = stop(&mut container);
    let logs = container.logs();
    assert_eq!(code, 143, "{logs}");
    // GRACE_GRACE_PERIOD=2s, not the runtime's 10 s, ended the stop.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "took {took:?}\n{logs}"
    );
    let markers = container.rootfs.markers();
    assert!(finished_cleanup(&markers, "sibling"), "{logs}");
    assert!(!finished_cleanup(&markers, "ignorer"));
    drop(container);
    assert_eq!(
        host_processes_mentioning(tag),
        Vec::<i32>::new(),
        "left behind"
    );
    logs
}

/// A dockerd configured by the daemon.json recipe, with the test's grace.
fn dockerd_from_recipe() -> Dockerd {
    let recipe = recipe("daemon-json");
    let path = "/usr/local/bin/grace";
    assert!(
        recipe.contains(&format!("\"init-path\": \"{path}\"")),
        "{recipe}"
    );
    let grace = static_binaries().grace.display().to_string();
    Dockerd::start(&recipe.replace(path, &grace), &[])
}

#[test]
fn docker_init_path_recipe_with_dockerd() {
    let dockerd = dockerd_from_recipe();
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = straggler_script(&tag);
    let container = Container::start(
        dockerd.runtime(),
        rootfs,
        &["sh", "-c", &script],
        &["--init", "-e", "GRACE_GRACE_PERIOD=2s"],
    );
    let logs = stop_kills_the_ignorer_at_two_seconds(container, &tag, STOP_10S);
    assert!(logs.contains("killed at deadline"), "{logs}");
    // `docker info` takes the init's version from `docker-init --version`.
    let info = check(dockerd.docker(&["info"]), "docker info");
    assert!(
        info.contains(&format!(
            "Init Binary: {}",
            static_binaries().grace.display()
        )),
        "{info}"
    );
}

#[test]
fn compose_recipe_with_docker_compose() {
    let dockerd = dockerd_from_recipe();
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let image = unique("grace-compose");
    import(&dockerd.socket(), &rootfs, &image);
    let mut spec = recipe("compose");
    for (from, to) in [
        ("image: your-image", format!("image: {image}")),
        ("stop_grace_period: 30s", "stop_grace_period: 10s".into()),
        ("GRACE_GRACE_PERIOD: 29s", "GRACE_GRACE_PERIOD: 2s".into()),
    ] {
        assert!(spec.contains(from), "the recipe changed: no {from:?}");
        spec = spec.replacen(from, &to, 1);
    }
    // Compose would create a bridge network; this dockerd has none.
    spec.push_str(&format!(
        "    network_mode: none\n    volumes: [{}]\n    command: [\"sh\", \"-c\", {}]\n",
        json_string(&format!("{}:/markers", rootfs.markers().display())),
        json_string(&straggler_script(&tag)),
    ));
    let project = rootfs.dir.join("compose");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("docker-compose.yml"), &spec).unwrap();
    let compose = |args: &[&str]| {
        Command::new("docker-compose")
            .env("DOCKER_HOST", dockerd.host())
            .current_dir(&project)
            .args(["--project-name", &image])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("docker-compose installed (Debian's docker-compose)")
    };
    check(compose(&["up", "--detach"]), "docker-compose up");
    let id = check(compose(&["ps", "--quiet", "app"]), "docker-compose ps");
    let container = Container::adopt(dockerd.runtime(), id.trim().to_string(), rootfs);
    // stop_grace_period is compose's stop timeout: 10 s, above grace's 2 s.
    let stop: Stop = &|container| {
        let begun = Instant::now();
        check(compose(&["stop"]), "docker-compose stop");
        (container.exit_code(), begun.elapsed())
    };
    let logs = stop_kills_the_ignorer_at_two_seconds(container, &tag, stop);
    assert!(logs.contains("killed at deadline"), "{logs}");
}

#[test]
fn podman_init_path_recipe_is_configured_by_environment() {
    // The recipe's flags, with the test's binary, grace period and command.
    let recipe = recipe("podman");
    assert!(recipe.contains("--init --init-path"), "{recipe}");
    let rootfs = Rootfs::new();
    let tag = rootfs.tag();
    let script = straggler_script(&tag);
    let grace = static_binaries().grace.display().to_string();
    let container = Container::start(
        Runtime::Podman,
        rootfs,
        &["sh", "-c", &script],
        &[
            "--init",
            "--init-path",
            &grace,
            "-e",
            "GRACE_GRACE_PERIOD=2s",
            "-e",
            "GRACE_LOG_FORMAT=json",
        ],
    );
    let logs = stop_kills_the_ignorer_at_two_seconds(container, &tag, STOP_10S);
    assert!(
        logs.lines()
            .any(|line| line.starts_with('{') && line.contains("\"event\":\"deadline_kill\"")),
        "{logs}"
    );
}

#[test]
fn kubernetes_pod_recipe_with_podman_kube_play() {
    let dir = TempDir::new();
    let markers = dir.join("markers");
    fs::create_dir_all(&markers).unwrap();
    let script = format!(
        "cut -d' ' -f2 /proc/1/stat > /markers/pid1; {} & exec {}",
        container_probe("sibling", "--cleanup-ms 300", RECIPE),
        container_probe("main", "--cleanup-ms 100", RECIPE)
    );
    let (image, mut made) = build_recipe_image(&dir, "true");
    let pod = unique("grace-pod");
    made.pods.push(pod.clone());
    let mut spec = recipe("kubernetes");
    for (from, to) in [
        ("  name: app\n", format!("  name: {pod}\n")),
        (
            "image: registry.example.com/app:1.0",
            format!("image: {image}"),
        ),
        (
            "args: [\"your-app\", \"--its-flags\"]",
            format!("args: [\"sh\", \"-c\", {}]", json_string(&script)),
        ),
        (
            "terminationGracePeriodSeconds: 30",
            "terminationGracePeriodSeconds: 10".into(),
        ),
        ("value: \"29s\"", "value: \"9s\"".into()),
        ("value: \"5s\"", "value: \"1s\"".into()),
    ] {
        assert!(spec.contains(from), "the recipe changed: no {from:?}");
        spec = spec.replacen(from, &to, 1);
    }
    spec.push_str(&format!(
        "      volumeMounts:\n        - name: markers\n          mountPath: /markers\n\
         \x20 volumes:\n    - name: markers\n      hostPath:\n        path: {}\n        type: Directory\n",
        markers.display()
    ));
    let spec_path = dir.join("pod.yaml");
    fs::write(&spec_path, &spec).unwrap();
    check(
        podman(&dir, &["kube", "play", &spec_path.display().to_string()]),
        "podman kube play",
    );
    wait_marker(&markers, "sibling");
    wait_marker(&markers, "main");
    let pid1 = fs::read_to_string(markers.join("pid1")).unwrap();
    assert_ne!(
        pid1.trim(),
        "(grace)",
        "shareProcessNamespace: pause is PID 1"
    );
    let container = format!("{pod}-app");
    let top = check(
        podman(&dir, &["top", &container, "pid", "comm"]),
        "podman top",
    );
    let grace_pid = top
        .lines()
        .find(|line| line.split_whitespace().last() == Some("grace"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no grace in\n{top}"));
    assert_ne!(grace_pid, "1", "grace is a subreaper below pause");
    let sent = monotonic_ms();
    let begun = Instant::now();
    // The kubelet stops the app containers and the pause container last;
    // `podman pod stop` may stop pause first, which as PID 1 of the shared
    // namespace would take everyone with it. So: the container, as the
    // kubelet would (its timeout is terminationGracePeriodSeconds).
    check(podman(&dir, &["stop", &container]), "podman stop");
    let took = begun.elapsed();
    let logs = podman(&dir, &["logs", &container]);
    let logs = String::from_utf8_lossy(&logs.stderr).into_owned();
    let code = check(
        podman(
            &dir,
            &["inspect", &container, "--format", "{{.State.ExitCode}}"],
        ),
        "inspect",
    );
    assert_eq!(code.trim(), "143", "{logs}");
    // GRACE_STOP_DELAY=1s: nobody was signalled during the first second.
    let first = event_time(&markers, "main", "signal").expect("main got a signal");
    assert!(first >= sent + 1000, "signalled after {} ms", first - sent);
    assert_eq!(signals_received(&markers, "main"), [15]);
    assert!(finished_cleanup(&markers, "sibling"), "{logs}");
    assert!(finished_cleanup(&markers, "main"), "{logs}");
    // Before grace's 9 s deadline.
    assert!(took < Duration::from_secs(9), "took {took:?}");
}
