//! The corpus: `grace inspect`'s whole output, text and JSON, for a set
//! of made-up trees (each kind of init, grace with each of its stop
//! options, services), kept under tests/golden/inspect/ so that any change
//! to what inspect prints shows as a diff to review.
//! `UPDATE_GOLDEN=1 cargo nextest run -E 'test(golden)'` rewrites them.

use std::path::PathBuf;

use super::classify::Init;
use super::collect::{Process, Snapshot, collect, services};
use super::fixtures::*;
use super::judge::predict;
use super::render::{render_json, render_text};
use crate::base::signals::{SIGINT, SIGKILL, SIGSTOP, SIGTERM, Signal};
use crate::cli::InspectOptions;
use crate::process::sockets::Connection;

/// One tree to inspect, with the stop signal.
struct Case {
    name: String,
    processes: Vec<Process>,
    /// The target's index; None: PID 1 not visible.
    top: Option<usize>,
    signal: Signal,
    /// The services file the grace in the tree was started with.
    file: Option<&'static str>,
    /// Who is connected to whom.
    connections: Vec<Connection>,
}

fn case(name: &str, processes: Vec<Process>, signal: Signal) -> Case {
    Case {
        name: name.into(),
        processes,
        top: Some(0),
        signal,
        file: None,
        connections: Vec::new(),
    }
}

/// `c` after `b` after `a`, each with its own stop signal and timeout.
pub(super) const CHAIN: &str = "\
[service.a]
command = [\"/bin/a\"]
stop_signal = \"QUIT\"

[service.b]
command = [\"/bin/b\"]
after = [\"a\"]
stop_timeout = \"2s\"

[service.c]
command = [\"/bin/c\"]
after = [\"b\"]
stop_signal = \"INT\"
stop_timeout = \"5s\"
";

/// grace (PID 1) with `--config`, the main command 7, and services a, b
/// and c in groups of their own, c with a worker.
pub(super) fn services_tree(options: &[&str]) -> Vec<Process> {
    let mut argv = vec!["/usr/bin/grace", "--config", "/etc/grace/services.toml"];
    argv.extend(options);
    argv.extend(["--", "main"]);
    let service = |p: Process, name: &str| {
        let mut p = p;
        p.init_env
            .push((b"GRACE_SERVICE".to_vec(), name.as_bytes().to_vec()));
        p
    };
    vec![
        blocking(args(process(1, 0, "grace"), &argv), &[15]),
        group(handling(process(7, 1, "main"), &[15]), 7, 1),
        service(group(handling(process(20, 1, "a"), &[3]), 20, 1), "a"),
        service(group(handling(process(21, 1, "b"), &[15]), 21, 1), "b"),
        service(group(ignoring(process(22, 1, "c"), &[2]), 22, 1), "c"),
        service(group(handling(process(23, 22, "worker"), &[2]), 22, 1), "c"),
        group(handling(process(30, 7, "helper"), &[15]), 7, 1),
    ]
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let quit = signal(3);
    let grace_options: [(&str, &[&str]); 11] = [
        ("grace", &[]),
        ("grace-all", &["--stop-order", "all"]),
        ("grace-period-3s", &["--grace-period", "3s"]),
        ("grace-rewrite-term-0", &["--rewrite", "TERM:0"]),
        ("grace-rewrite-15-3", &["--rewrite", "15:3"]),
        (
            "grace-main-first",
            &["--stop-order", "main-first", "--grace-period", "10s"],
        ),
        (
            "grace-delay-pre-stop-main-first",
            &DELAY_PRE_STOP_MAIN_FIRST,
        ),
        ("grace-pre-stop", &["--pre-stop", "true"]),
        (
            "grace-delay-past-the-deadline",
            &["--stop-delay", "1m", "--grace-period", "3s"],
        ),
        ("grace-forward-group", &["--forward-to", "group"]),
        ("grace-stop-on-quit", &["--stop-on", "QUIT"]),
    ];
    for (name, options) in grace_options {
        for (signal_name, signal) in [("term", SIGTERM), ("quit", quit)] {
            cases.push(case(
                &format!("{name}-{signal_name}"),
                grace_tree(options),
                signal,
            ));
        }
    }
    for (name, signal) in [
        ("int", SIGINT),
        ("tstp", signal(20)),
        ("kill", SIGKILL),
        ("stop", SIGSTOP),
        ("usr1", signal(10)),
    ] {
        cases.push(case(&format!("grace-{name}"), grace_tree(&[]), signal));
    }
    // The default order on a tree it orders: the start script left
    // postgres (20, with its backend 21) and exec'd the app (7), whose
    // psql (8) is connected to the backend.
    let database = vec![
        blocking(
            args(process(1, 0, "grace"), &["/usr/bin/grace", "--", "app"]),
            &[15],
        ),
        group(handling(process(7, 1, "app"), &[15]), 7, 1),
        group(process(8, 7, "psql"), 7, 1),
        group(handling(process(20, 1, "postgres"), &[2, 3, 15]), 20, 1),
        group(handling(process(21, 20, "postgres"), &[15]), 20, 1),
    ];
    for (signal_name, signal) in [("term", SIGTERM), ("quit", quit)] {
        cases.push(Case {
            connections: vec![Connection {
                client: 8,
                server: 21,
            }],
            ..case(
                &format!("grace-ordered-database-{signal_name}"),
                database.clone(),
                signal,
            )
        });
    }
    // Not PID 1 of its namespace: a subreaper.
    let mut subreaper = grace_tree(&["--grace-period", "3s"]);
    subreaper[0].ns_pid = 40;
    cases.push(case("grace-subreaper-term", subreaper.clone(), SIGTERM));
    cases.push(case("grace-subreaper-quit", subreaper, quit));
    // Its options unreadable: the defaults.
    let mut unread = grace_tree(&[]);
    unread[0].args.clear();
    cases.push(case("grace-unread-options-term", unread, SIGTERM));
    // grace linked as tini, and as dumb-init.
    let mut as_tini = grace_tree(&[]);
    as_tini[0].args = ["tini", "-g", "--", "main"].map(String::from).to_vec();
    as_tini[0].exe = Some("/usr/bin/grace".into());
    cases.push(case("grace-as-tini-term", as_tini, SIGTERM));
    let mut as_dumb_init = grace_tree(&[]);
    as_dumb_init[0].args = ["dumb-init", "-r", "15:3", "main"]
        .map(String::from)
        .to_vec();
    as_dumb_init[0].comm = "dumb-init".into();
    as_dumb_init[0].exe = Some("/usr/bin/grace".into());
    cases.push(case(
        "grace-as-dumb-init-r-15-3-term",
        as_dumb_init,
        SIGTERM,
    ));

    for (name, init) in [
        ("tini", &["/sbin/tini", "--", "main"][..]),
        ("tini-g", &["tini", "-g", "--", "main"]),
        ("docker-init", &["docker-init", "--", "main"]),
        ("dumb-init", &["/usr/bin/dumb-init", "main"]),
        ("dumb-init-c", &["dumb-init", "-c", "main"]),
        ("catatonit-g", &["catatonit", "-g", "--", "main"]),
        ("sh", &["sh", "-c", "main"]),
        ("app", &["app"]),
    ] {
        for (signal_name, signal) in [("term", SIGTERM), ("kill", SIGKILL)] {
            cases.push(case(
                &format!("{name}-{signal_name}"),
                forwarder_tree(init),
                signal,
            ));
        }
    }
    let mut stuck = forwarder_tree(&["docker-init", "--", "main"]);
    stuck[1] = ignoring(stuck[1].clone(), &[15]);
    cases.push(case("docker-init-main-ignores-term", stuck, SIGTERM));
    let mut stopped = forwarder_tree(&["tini", "--", "main"]);
    stopped[1].state = 'T';
    cases.push(case("tini-main-stopped-term", stopped, SIGTERM));

    let trapping_shell = handling(
        args(process(1, 0, "sh"), &["/bin/sh", "-c", "app & wait"]),
        &[2, 15, 17],
    );
    cases.push(case(
        "sh-traps-term",
        vec![trapping_shell, handling(process(7, 1, "app"), &[15])],
        SIGTERM,
    ));
    let mut zombie = process(9, 7, "worker");
    zombie.state = 'Z';
    cases.push(case(
        "app-with-zombie-term",
        vec![
            process(1, 0, "app"),
            handling(process(7, 1, "server"), &[15]),
            zombie,
        ],
        SIGTERM,
    ));
    let mut kthread = process(2, 0, "kthreadd");
    kthread.kernel_thread = true;
    let mut hidden = process(8, 1, "secret");
    hidden.dispositions = None;
    hidden.error = Some("cannot read /proc/8/status: Permission denied (os error 13)".into());
    let tree = vec![handling(process(1, 0, "app"), &[15]), kthread, hidden];
    cases.push(case("app-kthread-unreadable-term", tree.clone(), SIGTERM));
    cases.push(Case {
        top: None,
        ..case("no-pid1-term", tree, SIGTERM)
    });

    let sample = collect(&sample(), None, Some(130)).unwrap().processes;
    cases.push(case("sample-term", sample, SIGTERM));

    for (name, options) in [
        ("services", &[][..]),
        ("services-grace-period-20s", &["--grace-period", "20s"]),
        ("services-stop-signal-usr1", &["--stop-signal", "USR1"]),
    ] {
        for (signal_name, signal) in [("term", SIGTERM), ("quit", quit)] {
            cases.push(Case {
                file: Some(CHAIN),
                ..case(
                    &format!("{name}-{signal_name}"),
                    services_tree(options),
                    signal,
                )
            });
        }
    }
    // Its services file unreadable: said, and the services left out.
    cases.push(case(
        "services-unreadable-term",
        services_tree(&[]),
        SIGTERM,
    ));
    cases
}

/// Both outputs for one case.
fn outputs(case: &Case) -> (String, String) {
    let (processes, depths) = tree_order(&case.processes);
    let mut snapshot = Snapshot {
        processes,
        depths,
        kernel_threads_omitted: 0,
        services: Vec::new(),
    };
    snapshot.services = services(&snapshot.processes, None);
    let top = case.top.and_then(|top| {
        snapshot
            .processes
            .iter()
            .position(|p| p.pid == case.processes[top].pid)
    });
    let read = |path: &str| match case.file {
        Some(text) if path == "/etc/grace/services.toml" => Ok(text.as_bytes().to_vec()),
        _ => no_file(path),
    };
    let init = top.map(|top| Init::identify(&snapshot.processes, top, &snapshot.services, &read));
    let report = predict(&snapshot.processes, &case.connections, init, case.signal);
    let text = render_text(&snapshot, &report, case.signal, false);
    let options = InspectOptions {
        json: true,
        signal: case.signal,
        pid: case.top.map(|top| case.processes[top].pid),
    };
    let json = render_json(&snapshot, &report, options);
    (text, json)
}

/// The processes as `collect` orders them, through a fake /proc holding
/// just their records.
fn tree_order(processes: &[Process]) -> (Vec<Process>, Vec<usize>) {
    let mut order: Vec<Process> = Vec::new();
    let mut depths = Vec::new();
    fn visit(
        all: &[Process],
        pid: i32,
        depth: usize,
        order: &mut Vec<Process>,
        depths: &mut Vec<usize>,
    ) {
        let mut children: Vec<&Process> = all
            .iter()
            .filter(|p| p.ppid == pid && p.pid != pid)
            .collect();
        children.sort_by_key(|p| p.pid);
        for child in children {
            order.push(child.clone());
            depths.push(depth);
            visit(all, child.pid, depth + 1, order, depths);
        }
    }
    let shown: Vec<i32> = processes.iter().map(|p| p.pid).collect();
    let mut roots: Vec<&Process> = processes
        .iter()
        .filter(|p| !shown.contains(&p.ppid) || p.ppid == p.pid)
        .collect();
    roots.sort_by_key(|p| p.pid);
    for root in roots {
        order.push(root.clone());
        depths.push(0);
        visit(processes, root.pid, 1, &mut order, &mut depths);
    }
    (order, depths)
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inspect")
}

#[test]
fn golden_inspect_outputs_are_as_recorded() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let dir = golden_dir();
    if update {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut differ = Vec::new();
    let mut names = Vec::new();
    for case in cases() {
        let (text, json) = outputs(&case);
        for (extension, output) in [("txt", text), ("json", json)] {
            let name = format!("{}.{extension}", case.name);
            let path = dir.join(&name);
            names.push(name.clone());
            if update {
                std::fs::write(&path, &output).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(output.as_str()) {
                differ.push(name);
            }
        }
    }
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.retain(|name| !names.contains(name));
    assert!(
        differ.is_empty() && kept.is_empty(),
        "differ from tests/golden/inspect/: {differ:?}; no longer made: {kept:?}. \
         Review, then UPDATE_GOLDEN=1 cargo nextest run -E 'test(golden)'"
    );
}
