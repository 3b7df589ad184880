//! The side-by-side comparison behind the README's "why grace?" table: the
//! same container, with every process shape, stopped by `podman stop` (or,
//! with GRACE_COMPARE_ENGINE=docker, by `docker stop` on a private dockerd)
//! under grace, tini, dumb-init, catatonit, pid1 (crates.io's `pid1-exe`)
//! and no init at all.
//!
//! A generator, not a test (it takes half a minute and writes a file): a
//! bench target that `scripts/compare [podman|docker]` runs, which rewrites
//! docs/comparison.md and the table in the README, which name the engine
//! that produced them. It runs the containers through the integration
//! tests' harness (tests/support/).

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

// The tests' helpers, of which a generator uses a part.
#[allow(dead_code, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

mod peers;

use peers::installed;
use support::containers::{Container, Rootfs, Runtime, install};
use support::docker::Dockerd;
use support::shapes::{SHAPES, WORKERS, shape_names, shapes_script, wait_for_shapes};
use support::{check, finished_cleanup, signals_received};

const STOP_TIMEOUT: Duration = Duration::from_secs(5);

enum Binary {
    /// grace's own, or none.
    None,
    Debian(&'static str),
    /// `cargo install`'s: $VARIABLE, else on the PATH.
    Cargo {
        name: &'static str,
        variable: &'static str,
        install: &'static str,
    },
}

struct Init {
    name: &'static str,
    /// Where its binary comes from, copied into the rootfs as /init.
    binary: Binary,
    prefix: &'static [&'static str],
}

const INITS: &[Init] = &[
    Init {
        name: "grace",
        binary: Binary::None,
        prefix: &["/grace", "--grace-period", "4s", "--"],
    },
    Init {
        name: "tini",
        binary: Binary::Debian("/usr/bin/tini-static"),
        prefix: &["/init", "--"],
    },
    Init {
        name: "dumb-init",
        binary: Binary::Debian("/usr/bin/dumb-init"),
        prefix: &["/init"],
    },
    Init {
        name: "catatonit",
        binary: Binary::Debian("/usr/bin/catatonit"),
        prefix: &["/init", "--"],
    },
    Init {
        name: "pid1",
        binary: Binary::Cargo {
            name: "pid1",
            variable: "PID1",
            install: "cargo install --locked pid1-exe",
        },
        prefix: &["/init", "--"],
    },
    Init {
        name: "no init (sh, then the app, as PID 1)",
        binary: Binary::None,
        prefix: &[],
    },
];

struct Outcome {
    got_term: Vec<bool>,
    finished: Vec<bool>,
    workers_term: usize,
    workers_finished: usize,
    code: i32,
    took: Duration,
}

fn run(init: &Init, runtime: &Runtime) -> Outcome {
    let rootfs = Rootfs::new();
    match init.binary {
        Binary::None => {}
        Binary::Debian(binary) => install(&rootfs.root(), Path::new(binary), "/init"),
        Binary::Cargo {
            name,
            variable,
            install: how,
        } => {
            let binary = installed(name, variable)
                .unwrap_or_else(|| panic!("{name} not installed ({how}, or {variable}=PATH)"));
            install(&rootfs.root(), &binary, "/init");
        }
    }
    let tag = rootfs.tag();
    let script = shapes_script(&tag);
    let mut args: Vec<&str> = init.prefix.to_vec();
    args.extend(["sh", "-c", &script]);
    let mut container = Container::start(runtime.clone(), rootfs, &args, &[]);
    wait_for_shapes(&container.rootfs);
    let (code, took) = container.stop(STOP_TIMEOUT);
    let markers = container.rootfs.markers();
    let got_term = |name: &str| signals_received(&markers, name).contains(&15);
    let named = named_shapes();
    let workers: Vec<String> = shape_names()
        .into_iter()
        .filter(|n| n.starts_with('w'))
        .collect();
    Outcome {
        got_term: named.iter().map(|n| got_term(n)).collect(),
        finished: named
            .iter()
            .map(|n| finished_cleanup(&markers, n))
            .collect(),
        workers_term: workers.iter().filter(|n| got_term(n)).count(),
        workers_finished: workers
            .iter()
            .filter(|n| finished_cleanup(&markers, n))
            .count(),
        code,
        took,
    }
}

fn named_shapes() -> Vec<&'static str> {
    let mut names = vec!["main"];
    names.extend(SHAPES.iter().map(|(name, _)| *name));
    names.push("orphan");
    names
}

fn describe(shape: &str) -> &'static str {
    match shape {
        "main" => "main process (exec'd by the shell), 0.1 s cleanup",
        "sibling" => "sibling in the main process's group, 0.3 s cleanup",
        "daemon" => "setsid daemon (double fork), 0.3 s cleanup",
        "slow" => "helper with 2 s of cleanup",
        "stopped" => "process stopped with SIGSTOP, 0.1 s cleanup",
        "ignorer" => "process that ignores SIGTERM",
        "orphan" => "orphan whose parent shell exited, 0.3 s cleanup",
        _ => "?",
    }
}

fn mark(got_term: bool, finished: bool) -> &'static str {
    match (got_term, finished) {
        (true, true) => "SIGTERM, finished",
        (true, false) => "SIGTERM, **killed mid-cleanup**",
        (false, _) => "**SIGKILL only**",
    }
}

/// The engine's command, how it started the containers, and its version.
struct Engine {
    name: &'static str,
    how: &'static str,
    version: String,
}

fn engine(dockerd: Option<&Dockerd>) -> Engine {
    match dockerd {
        Some(dockerd) => Engine {
            name: "docker",
            how: "imported with `docker import` and started with `docker run` on a\n\
                  private dockerd (`--storage-driver vfs`, `--bridge none`)",
            version: check(
                dockerd.docker(&["version", "--format", "dockerd {{.Server.Version}}"]),
                "docker version",
            ),
        },
        None => Engine {
            name: "podman",
            how: "started with `podman --runtime runc run --rootfs`",
            version: check(
                Command::new("podman")
                    .arg("--version")
                    .output()
                    .expect("podman"),
                "podman --version",
            ),
        },
    }
}

fn main() {
    let dockerd = match std::env::var("GRACE_COMPARE_ENGINE").as_deref() {
        Ok("docker") => Some(Dockerd::start("{}", &[])),
        Ok("podman") | Err(_) => None,
        Ok(other) => panic!("GRACE_COMPARE_ENGINE={other}: podman or docker"),
    };
    let runtime = dockerd.as_ref().map_or(Runtime::Podman, Dockerd::runtime);
    let engine = engine(dockerd.as_ref());
    let outcomes: Vec<Outcome> = INITS.iter().map(|init| run(init, &runtime)).collect();
    let name = engine.name;
    let mut table = format!(
        "Produced by `scripts/compare {name}` with {}, `{name} stop -t 5`:\n\n",
        engine.version.trim()
    );
    let _ = writeln!(
        table,
        "| process | {} |",
        INITS.iter().map(|i| i.name).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(table, "| --- |{}", " --- |".repeat(INITS.len()));
    for (index, shape) in named_shapes().iter().enumerate() {
        let cells: Vec<&str> = outcomes
            .iter()
            .map(|o| {
                if *shape == "ignorer" {
                    if o.got_term[index] {
                        "SIGTERM ignored, SIGKILL"
                    } else {
                        "SIGKILL"
                    }
                } else {
                    mark(o.got_term[index], o.finished[index])
                }
            })
            .collect();
        let _ = writeln!(table, "| {} | {} |", describe(shape), cells.join(" | "));
    }
    let workers: Vec<String> = outcomes
        .iter()
        .map(|o| {
            format!(
                "{} got SIGTERM, {} finished",
                o.workers_term, o.workers_finished
            )
        })
        .collect();
    let _ = writeln!(
        table,
        "| {WORKERS} workers, 0.2 s cleanup each | {} |",
        workers.join(" | ")
    );
    let codes: Vec<String> = outcomes.iter().map(|o| o.code.to_string()).collect();
    let _ = writeln!(
        table,
        "| exit code (`{name} inspect`) | {} |",
        codes.join(" | ")
    );
    let took: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{:.1} s", o.took.as_secs_f64()))
        .collect();
    let _ = writeln!(table, "| `{name} stop -t 5` took | {} |", took.join(" | "));

    let document = format!(
        "# grace, tini, dumb-init, catatonit and pid1 side by side\n\n\
         Generated by `scripts/compare` (bench/compare.rs): one busybox container per init,\n\
         {how},\n\
         running every process shape below plus {WORKERS} workers, then stopped with\n\
         `{name} stop -t 5`. Each process writes down which signals it received and\n\
         whether its cleanup finished, into a bind-mounted directory. grace runs with\n\
         `--grace-period 4s`; the others with their defaults (Debian's tini-static,\n\
         dumb-init, catatonit; pid1 0.1.6 from `cargo install --locked pid1-exe`).\n\n{table}\n\
         tini, catatonit and pid1 forward SIGTERM to their one child (pid1 SIGKILLs it\n\
         2 s later, its `--timeout` default); dumb-init to the child's process group.\n\
         All four exit as soon as that child exits, and the kernel then\n\
         SIGKILLs everything else in the container. grace signals every process, waits for\n\
         all of them, and SIGKILLs only the one that ignores SIGTERM, at its own deadline.\n",
        how = engine.how
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/comparison.md");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, document).unwrap();
    // The README shows the same table between two markers.
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (start, end) = ("<!-- comparison:start -->\n", "<!-- comparison:end -->");
    if let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) {
        let updated = format!("{}{start}{table}{}", &readme[..a], &readme[b..]);
        std::fs::write(&readme_path, updated).unwrap();
    }
    println!("{table}");
    // grace must let everything but the ignorer finish: a table that says
    // otherwise is written, and the run fails.
    assert!(
        outcomes[0]
            .finished
            .iter()
            .zip(named_shapes())
            .all(|(f, n)| *f || n == "ignorer")
    );
}
