//! Services files (`grace --config`, docs/services.md) as the tests write
//! them, the three-service chain of issue 14, what its probes must have
//! lived through on an ordered stop, and a services container in podman.

use std::fs;
use std::path::{Path, PathBuf};

use super::containers::{Container, Rootfs, Runtime, wait_probe};
use super::{event_time, finished_cleanup, json_string, probe_log, signals_received};

/// An argv as a TOML array (a JSON string literal is a TOML basic string).
pub fn toml_argv<S: AsRef<str>>(argv: &[S]) -> String {
    let words: Vec<String> = argv.iter().map(|word| json_string(word.as_ref())).collect();
    format!("[{}]", words.join(", "))
}

/// The lines of a file the services append to, in the order they were
/// appended (none when it is missing).
pub fn lines_of(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes `text` as DIR/services.toml.
pub fn write_config(dir: &impl AsRef<Path>, text: &str) -> PathBuf {
    let path = dir.as_ref().join("services.toml");
    fs::write(&path, text).expect("write services.toml");
    path
}

/// The chain of the issue, written in the file's order web, app, db so that
/// only `after` can put db first: web after app after db, each run by
/// `command(name)` (a TOML argv), a probe that cleans up after its SIGTERM.
pub fn chain(grace_period: &str, command: impl Fn(&str) -> String) -> String {
    format!(
        "grace_period = \"{grace_period}\"\n\
         [service.web]\ncommand = {web}\nafter = [\"app\"]\n\
         [service.app]\ncommand = {app}\nafter = [\"db\"]\n\
         [service.db]\ncommand = {db}\n",
        web = command("web"),
        app = command("app"),
        db = command("db"),
    )
}

/// What the chain's probes wrote down on a graceful stop in reverse order:
/// web's cleanup was over before app got its signal, app's before db got
/// its. db exits only on a signal, and it got its only one after app's
/// cleanup: db was up, reachable, for the whole of app's handler.
pub fn assert_stopped_in_order(markers: &impl AsRef<Path>, log: &str) {
    let markers = markers.as_ref();
    for name in ["web", "app", "db"] {
        assert!(
            finished_cleanup(&markers, name),
            "{name} did not finish its cleanup: {:?}\n{log}",
            probe_log(&markers, name)
        );
        assert_eq!(signals_received(&markers, name), vec![15], "{name}\n{log}");
    }
    let time = |name: &str, event: &str| event_time(&markers, name, event).unwrap();
    assert!(
        time("web", "cleanup-done") <= time("app", "signal"),
        "app got its signal before web finished\n{log}"
    );
    assert!(
        time("app", "cleanup-done") <= time("db", "signal"),
        "db got its signal before app finished\n{log}"
    );
}

/// Starts a podman container whose grace runs the services file `text`,
/// written to /services.toml, with `podman run` given `run_flags` too, and
/// waits for each probe in `ready`.
pub fn start_in_podman(
    rootfs: Rootfs,
    text: &str,
    ready: &[&str],
    run_flags: &[&str],
) -> Container {
    fs::write(rootfs.root().join("services.toml"), text).expect("write services.toml");
    let container = Container::start(
        Runtime::Podman,
        rootfs,
        &[
            "/grace",
            "--log-format",
            "json",
            "--config",
            "/services.toml",
        ],
        run_flags,
    );
    for name in ready {
        wait_probe(&container.rootfs, name);
    }
    container
}
