//! The process shapes of the shutdown issue, in one container: a sibling,
//! a daemon, a slow cleanup, a stopped process, a SIGTERM ignorer, an
//! orphan, WORKERS workers and the main process, each a static probe.

use std::path::Path;

use super::containers::{Rootfs, container_probe, wait_probe};
use super::finished_cleanup;

/// The shapes a shell starts before the orphan, the workers and the main
/// process: (name, the probe's flags and the shell's separator).
pub const SHAPES: &[(&str, &str)] = &[
    ("sibling", "--cleanup-ms 300 &"),
    ("daemon", "--daemonize --cleanup-ms 300;"),
    ("slow", "--cleanup-ms 2000 &"),
    ("stopped", "--stop-self --cleanup-ms 100 &"),
    ("ignorer", "--ignore 15 --exit-on 10 &"),
];
pub const WORKERS: usize = 200;

/// The shell script that starts every shape, an orphan whose parent shell
/// has exited, WORKERS workers, then becomes the main process.
pub fn shapes_script(tag: &str) -> String {
    let mut script = String::new();
    for (name, extra) in SHAPES {
        script.push_str(&container_probe(name, extra, tag));
        script.push(' ');
    }
    script.push_str(&format!(
        "(sh -c '{} &'); {} & exec {}",
        container_probe("orphan", "--cleanup-ms 300", tag),
        container_probe(
            "w",
            &format!("--fork {} --cleanup-ms 200", WORKERS - 1),
            tag
        ),
        container_probe("main", "--cleanup-ms 100", tag),
    ));
    script
}

/// Every probe name the shapes script starts.
pub fn shape_names() -> Vec<String> {
    let mut names: Vec<String> = SHAPES.iter().map(|(name, _)| name.to_string()).collect();
    names.extend(["orphan", "main", "w"].map(String::from));
    names.extend((1..WORKERS).map(|i| format!("w-{i}")));
    names
}

/// The shapes, the ignorer aside, that did not finish their cleanup.
pub fn unfinished_shapes(markers: &Path) -> Vec<String> {
    shape_names()
        .into_iter()
        .filter(|name| name != "ignorer" && !finished_cleanup(&markers, name))
        .collect()
}

/// Waits until every shape is ready.
pub fn wait_for_shapes(rootfs: &Rootfs) {
    for name in shape_names() {
        wait_probe(rootfs, &name);
    }
}
