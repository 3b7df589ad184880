//! examples/services, the copy-paste example of docs/recipes-services.md,
//! built as its Containerfile says (`podman build` with busybox and grace
//! as build contexts) and run as users run it: the web server answers
//! through its CGI app and the cache, and `podman stop` stops web, then
//! cache, then the shipper, each after its own cleanup, quickly and with
//! exit 0. The order is read from what the services themselves wrote: they
//! all append to one log file, in the order things happened, and the
//! shipper (stopped last) ships that file line by line to the container's
//! log, where grace prefixes its lines with `shipper | `.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::containers::static_binaries;
use crate::support::containers::unique;
use crate::support::podman::{Made, image_store_lock, podman};
use crate::support::{TempDir, check};

/// What `podman stop -t 10` may take: the services' own cleanups add up to
/// about half a second (web 0.3 s, cache 0.2 s, the shipper's poll up to
/// 0.2 s). Far below podman's 10 s, and below the file's grace_period
/// (8 s), so that a stop that waited for any deadline fails.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// Twice the start_timeouts of services.toml added up (3 × 10 s): by then
/// grace has either made every service ready or taken the container down
/// (and with it the `podman exec` that waits). Only a backstop for a wait
/// grace bounds.
const START_BACKSTOP_SECONDS: &str = "60";

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/services")
}

/// A build context holding only `file`, named `name`: the directories the
/// example's command names (/usr/bin, cargo's release directory) would be
/// sent whole.
fn context_of(dir: &TempDir, name: &str, file: &Path) -> String {
    let context = dir.join(&format!("context-{name}"));
    fs::create_dir_all(&context).unwrap();
    fs::copy(file, context.join(name)).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
    format!("{name}={}", context.display())
}

#[test]
fn the_web_app_answers_and_podman_stop_stops_web_then_cache_then_shipper() {
    let dir = TempDir::new();
    let mut made = Made::new(&dir);
    let image = format!("localhost/{}", unique("grace-example-services"));
    let container = unique("grace-example-services");
    made.images.push(image.clone());
    made.containers.push(container.clone());
    let busybox = context_of(&dir, "busybox", Path::new("/bin/busybox"));
    let grace = context_of(&dir, "grace", &static_binaries().grace);
    let example = example_dir().display().to_string();
    let lock = image_store_lock();
    let built = podman(
        &dir,
        &[
            "build",
            "--quiet",
            "--build-context",
            &busybox,
            "--build-context",
            &grace,
            "-t",
            &image,
            &example,
        ],
    );
    drop(lock);
    check(built, "podman build examples/services");

    check(
        podman(
            &dir,
            &[
                "run",
                "-d",
                "--name",
                &container,
                "--network",
                "none",
                &image,
            ],
        ),
        "podman run",
    );
    // grace's own word that every service is ready (web's: a connect to
    // its port succeeded).
    check(
        podman(
            &dir,
            &[
                "exec",
                &container,
                "timeout",
                START_BACKSTOP_SECONDS,
                "sh",
                "-c",
                "until [ -e /run/grace/ready ]; do sleep 0.05; done",
            ],
        ),
        "waiting for /run/grace/ready (grace takes the container down if a service is not ready by its start_timeout)",
    );
    for visit in 1..=2 {
        let page = check(
            podman(
                &dir,
                &[
                    "exec",
                    &container,
                    "wget",
                    "-q",
                    "-O-",
                    "http://127.0.0.1:8080/cgi-bin/hello",
                ],
            ),
            "GET /cgi-bin/hello",
        );
        assert_eq!(page, format!("Hello from grace, visit {visit}\n"));
    }

    let begun = Instant::now();
    check(
        podman(&dir, &["stop", "-t", "10", &container]),
        "podman stop",
    );
    let took = begun.elapsed();
    let code = check(
        podman(
            &dir,
            &["inspect", &container, "--format", "{{.State.ExitCode}}"],
        ),
        "podman inspect",
    );
    let logs = podman(&dir, &["logs", &container]);
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&logs.stdout),
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_eq!(code.trim(), "0", "{logs}");
    assert!(took < STOP_WITHIN, "podman stop took {took:?}:\n{logs}");

    // What happened, in order, as the services logged it (each shipped
    // line is "shipped: HH:MM:SS MESSAGE").
    let shipped: Vec<&str> = logs
        .lines()
        .filter_map(|line| line.strip_prefix("shipper | shipped: "))
        .map(|line| line.split_once(' ').map_or(line, |(_, message)| message))
        .collect();
    assert_eq!(
        shipped,
        [
            "web: GET /cgi-bin/hello, visit 1",
            "web: GET /cgi-bin/hello, visit 2",
            // web got TERM first, and could still ask the cache while it
            // stopped: cache had not been signalled yet.
            "web: draining",
            "web: stopped after 2 visits",
            // cache got INT once web had exited.
            "cache: saving",
            "cache: saved, 1 key(s)",
        ],
        "{logs}"
    );
    // The shipper got TERM once cache had exited, and shipped everything
    // before it exited; each service's own output reached the log under
    // its name.
    let shipper_last = logs
        .lines()
        .rev()
        .find(|line| line.starts_with("shipper | "));
    assert_eq!(
        shipper_last,
        Some("shipper | flushed: 6 lines shipped"),
        "{logs}"
    );
    for line in [
        "web | listening on :8080",
        "web | stopped after 2 visits",
        "cache | saved, 1 key(s)",
    ] {
        assert!(logs.lines().any(|l| l == line), "no {line:?} in:\n{logs}");
    }
    drop(made);
}

/// docs/recipes-services.md shows the example's files as they are: each
/// block marked `<!-- file:PATH -->` is PATH's text.
#[test]
fn the_recipe_shows_the_example_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("docs/recipes-services.md"))
        .expect("docs/recipes-services.md");
    let mut shown = 0;
    for after in doc.split("\n<!-- file:").skip(1) {
        let (path, rest) = after.split_once(" -->\n").expect("a file marker");
        let body = rest
            .split_once('\n')
            .expect("an opening fence")
            .1
            .split_once("```\n")
            .expect("a closing fence")
            .0;
        let file = fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body, file, "docs/recipes-services.md shows a stale {path}");
        shown += 1;
    }
    assert!(shown >= 2, "no file blocks in docs/recipes-services.md");
}
