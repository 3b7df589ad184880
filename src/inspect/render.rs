//! Rendering: a `ps --forest`-like tree for people and the versioned JSON
//! document for scripts (docs/inspect.md), written by `crate::base::json`.

use crate::base::json::Value as Json;
use core::fmt::Write;

use crate::base::prelude::*;
use crate::base::signals::{SIGKILL, SIGSTOP, Signal};
use crate::cli::{Config, ForwardTo, InspectOptions, StopOrder};
use crate::process::procfs::{Disposition, Dispositions};

use super::classify::Kind;
use super::collect::Snapshot;
use super::fate::Outcome;
use super::judge::Report;
use super::printable;
use super::words::signal_names;

/// The JSON schema's version, raised on any incompatible change.
const SCHEMA_VERSION: u32 = 1;

fn disposition_name(disposition: Disposition) -> &'static str {
    match disposition {
        Disposition::Blocks => "blocked",
        Disposition::Ignores => "ignored",
        Disposition::Handles => "handled",
        Disposition::Default => "default",
    }
}

fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk sleep",
        'Z' => "zombie",
        'T' => "stopped",
        't' => "tracing stop",
        'X' | 'x' => "dead",
        'I' => "idle",
        'P' => "parked",
        'K' => "wakekill",
        'W' => "waking",
        _ => "unknown",
    }
}

/// A set for people: `SIGHUP SIGTERM`, or `all but SIGCHLD` when nearly full.
fn describe_set(bits: u64) -> String {
    let names = signal_names(bits);
    if names.len() <= 32 {
        return names.join(" ");
    }
    // SIGKILL and SIGSTOP can be neither blocked, ignored nor caught.
    let unblockable = 1 << (SIGKILL.number() - 1) | 1 << (SIGSTOP.number() - 1);
    let missing = signal_names(!bits & !unblockable);
    if missing.is_empty() {
        "all".into()
    } else {
        format!("all but {}", missing.join(" "))
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn outcome(&self, outcome: Outcome, text: &str) -> String {
        let code = match outcome {
            Outcome::Graceful => "32",
            Outcome::Terminated | Outcome::CutShort => "33",
            Outcome::Sigkill => "1;31",
            _ => "2",
        };
        self.wrap(code, text)
    }
}

/// The tree for people: one row per process like `ps --forest`, then each
/// process's verdict and handled signals, then the summary.
pub(super) fn render_text(
    snapshot: &Snapshot,
    report: &Report,
    signal: Signal,
    colour: bool,
) -> String {
    let paint = Paint { on: colour };
    let mut out = String::new();
    let processes = &snapshot.processes;
    let signal_name = signal.to_string();
    let width = signal_name.len().max(8);
    // A SERVICE column only when some process belongs to one.
    let service_width = (!snapshot.services.is_empty()).then(|| {
        let mut width = 8;
        for name in snapshot.services.iter().flatten() {
            // Bytes for characters: service names are ASCII (model.rs).
            width = width.max(printable(name).len() + 1);
        }
        width
    });
    let service_cell = |index: usize| match service_width {
        None => String::new(),
        Some(service_width) => {
            let name = snapshot.services.get(index).and_then(Option::as_deref);
            let name = name.map_or(String::from("-"), printable);
            format!("{name:<service_width$}")
        }
    };
    let service_header = match service_width {
        Some(service_width) => format!("{:<service_width$}", "SERVICE"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{:>7} {:>6} {:>7} {:>7} {:>7} S {:<width$} {:<13} {service_header}COMMAND",
        "PID", "NSPID", "PPID", "PGID", "SID", signal_name, "OUTCOME"
    );
    let rows = processes.iter().zip(&report.predictions).enumerate();
    for (index, (p, prediction)) in rows {
        let disposition = p
            .dispositions
            .map_or("?", |d| disposition_name(d.of(signal)));
        let depth = snapshot.depths.get(index).copied().unwrap_or(0);
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}\\_ ", "   ".repeat(depth - 1))
        };
        let command = if p.kernel_thread || p.args.is_empty() {
            format!("[{}]", p.comm)
        } else {
            p.args.join(" ")
        };
        let outcome = prediction.outcome.name();
        let _ = writeln!(
            out,
            "{:>7} {:>6} {:>7} {:>7} {:>7} {} {:<width$} {} {}{}{}",
            p.pid,
            p.ns_pid,
            p.ppid,
            p.pgid,
            p.sid,
            p.state,
            disposition,
            paint.outcome(prediction.outcome, &format!("{outcome:<13}")),
            service_cell(index),
            indent,
            printable(&command)
        );
    }
    if snapshot.kernel_threads_omitted > 0 {
        let _ = writeln!(
            out,
            "({} kernel threads not shown)",
            snapshot.kernel_threads_omitted
        );
    }
    out.push('\n');
    for (p, prediction) in processes.iter().zip(&report.predictions) {
        let _ = writeln!(
            out,
            "{:>7} {}: {}",
            p.pid,
            printable(&p.comm),
            paint.outcome(prediction.outcome, &printable(&prediction.verdict))
        );
        if let Some(d) = p.dispositions
            && !p.kernel_thread
        {
            let mut sets = Vec::new();
            for (what, bits) in [
                ("handles", d.caught),
                ("ignores", d.ignored),
                ("blocks", d.blocked),
            ] {
                if bits != 0 {
                    sets.push(format!("{what} {}", describe_set(bits)));
                }
            }
            if !sets.is_empty() {
                let _ = writeln!(out, "{:>7} {}", "", sets.join("; "));
            }
        }
        if let Some(error) = &p.error {
            let _ = writeln!(out, "{:>7} {}", "", paint.wrap("2", &printable(error)));
        }
    }
    out.push('\n');
    for (number, line) in report.summary.iter().enumerate() {
        let line = printable(line);
        if number == 0 {
            out.push_str(&paint.wrap("1", &line));
        } else {
            out.push_str(&line);
        }
        out.push('\n');
    }
    out
}

fn grace_options(config: &Config, from_cmdline: bool) -> Json {
    Json::Obj(vec![
        (
            "options_from",
            Json::str(if from_cmdline { "cmdline" } else { "defaults" }),
        ),
        (
            "stop_on",
            Json::strings(signal_names(config.stop_on.bits())),
        ),
        ("stop_signal", Json::str(config.stop_signal.to_string())),
        (
            "stop_order",
            Json::str(match config.stop_order {
                StopOrder::All => "all",
                StopOrder::MainFirst => "main-first",
                StopOrder::Auto => "auto",
            }),
        ),
        (
            "grace_period_ms",
            Json::Int(config.grace_period.as_millis().min(i64::MAX as u128) as i64),
        ),
        (
            "stop_delay_ms",
            Json::Int(config.stop_delay.as_millis().min(i64::MAX as u128) as i64),
        ),
        (
            "pre_stop",
            Json::opt(config.pre_stop.as_ref(), |c| {
                Json::str(String::from_utf8_lossy(c))
            }),
        ),
        (
            "forward_to",
            Json::str(match config.forward_to {
                ForwardTo::Child => "child",
                ForwardTo::Group => "group",
            }),
        ),
    ])
}

/// One of a process's signal sets.
type SetOf = fn(&Dispositions) -> u64;

/// A text that may be missing: a string or null. One function for every
/// such field rather than a closure inlined at each.
#[inline(never)]
fn text(value: Option<&str>) -> Json {
    value.map_or(Json::Null, Json::str)
}

/// The JSON document; its schema is documented in docs/inspect.md.
pub(super) fn render_json(snapshot: &Snapshot, report: &Report, options: InspectOptions) -> String {
    let processes = &snapshot.processes;
    let signal = report.signal;
    let init = Json::opt(report.init.as_ref(), |init| {
        let forwards_to = match &init.kind {
            Kind::Grace { .. } => "everyone",
            Kind::Forwarder { group: true, .. } => "group",
            Kind::Forwarder { group: false, .. } => "child",
            Kind::Shell | Kind::Other => "none",
        };
        Json::Obj(vec![
            ("pid", Json::Int(processes[init.index].pid.into())),
            ("kind", Json::str(init.kind.name())),
            ("namespace_init", Json::Bool(init.namespace_init)),
            (
                "main",
                Json::opt(init.main, |m| Json::Int(processes[m].pid.into())),
            ),
            ("forwards_to", Json::str(forwards_to)),
            (
                "grace",
                match &init.kind {
                    Kind::Grace {
                        config,
                        from_cmdline,
                        ..
                    } => grace_options(config, *from_cmdline),
                    _ => Json::Null,
                },
            ),
        ])
    });
    // Only for an ordered stop (`--stop-order auto`), as its machine read
    // the order: whose exits each process waits for.
    let ordered_stop = report.schedule.as_ref().filter(|s| !s.ordered.is_empty());
    let mut entries = Vec::with_capacity(processes.len());
    for (index, (p, prediction)) in processes.iter().zip(&report.predictions).enumerate() {
        let mut fields = vec![
            ("pid", Json::Int(p.pid.into())),
            ("ns_pid", Json::Int(p.ns_pid.into())),
            ("ppid", Json::Int(p.ppid.into())),
            ("pgid", Json::Int(p.pgid.into())),
            ("sid", Json::Int(p.sid.into())),
            (
                "depth",
                Json::Int(snapshot.depths.get(index).copied().unwrap_or(0) as i64),
            ),
            ("state", Json::str(p.state.to_string())),
            ("state_name", Json::str(state_name(p.state))),
            ("comm", Json::str(p.comm.clone())),
            ("command", Json::strings(p.args.clone())),
            ("exe", text(p.exe.as_deref())),
            ("kernel_thread", Json::Bool(p.kernel_thread)),
            ("role", Json::str(prediction.role.name())),
        ];
        // Only when some process belongs to a service, so that the
        // document is as it was where no services run.
        if !snapshot.services.is_empty() {
            let service = snapshot.services.get(index).and_then(Option::as_deref);
            fields.push(("service", text(service)));
        }
        let disposition = p.dispositions.map(|d| disposition_name(d.of(signal)));
        fields.push(("disposition", text(disposition)));
        let sets: [(&str, SetOf); 3] = [
            ("handled", |d| d.caught),
            ("ignored", |d| d.ignored),
            ("blocked", |d| d.blocked),
        ];
        for (key, bits) in sets {
            let set = Json::opt(p.dispositions, |d| Json::strings(signal_names(bits(&d))));
            fields.push((key, set));
        }
        let receives = prediction.receives.map(|s| s.to_string());
        fields.push(("receives", text(receives.as_deref())));
        if let Some(schedule) = ordered_stop {
            let ordered = schedule.ordered(p.pid);
            let stop_after = Json::opt(ordered, |ordered| {
                let mut after = Vec::with_capacity(ordered.after.len());
                for waited in &ordered.after {
                    after.push(Json::Obj(vec![
                        ("pid", Json::Int(waited.pid.into())),
                        ("reason", Json::str(waited.reason.name())),
                    ]));
                }
                Json::Arr(after)
            });
            let at_latest = Json::opt(ordered.and_then(|o| o.at_latest), |at| {
                Json::Int(at.as_millis() as i64)
            });
            fields.push(("stop_after", stop_after));
            fields.push(("stop_at_latest_ms", at_latest));
        }
        fields.push(("outcome", Json::str(prediction.outcome.name())));
        fields.push(("killed_by", text(prediction.killed_by.map(|k| k.name()))));
        fields.push(("verdict", Json::str(prediction.verdict.clone())));
        fields.push(("error", text(p.error.as_deref())));
        entries.push(Json::Obj(fields));
    }
    let counts = Outcome::ALL
        .iter()
        .map(|&outcome| {
            let n = report
                .predictions
                .iter()
                .filter(|p| p.outcome == outcome)
                .count();
            (outcome.name(), Json::Int(n as i64))
        })
        .collect();
    let document = Json::Obj(vec![
        ("version", Json::Int(SCHEMA_VERSION.into())),
        ("signal", Json::str(signal.to_string())),
        ("signal_number", Json::Int(signal.number().into())),
        (
            "target",
            Json::opt(options.pid, |pid| Json::Int(pid.into())),
        ),
        ("init", init),
        ("processes", Json::Arr(entries)),
        (
            "kernel_threads_omitted",
            Json::Int(snapshot.kernel_threads_omitted as i64),
        ),
        (
            "summary",
            Json::Obj(vec![
                ("stop_ends", Json::str(report.stop_ends.name())),
                ("counts", Json::Obj(counts)),
                ("verdict", Json::strings(report.summary.clone())),
            ]),
        ),
    ]);
    document.pretty_document()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::collect::collect;
    use crate::inspect::fixtures::at;
    use crate::inspect::fixtures::{FakeProc, bits, forwarder_tree, grace_tree};
    use crate::inspect::words::seconds;
    use std::time::Duration;

    #[test]
    fn hostile_command_names_survive_reading_and_rendering() {
        let mut proc = FakeProc::default();
        proc.add(101, 0, b"init", 'S', 0);
        let hostile: [&[u8]; 5] = [
            b"a b",
            b"x) S 9 9 (",
            b"new\nline",
            b"\x1b[31mred",
            b"caf\xc3",
        ];
        for (n, comm) in hostile.iter().enumerate() {
            proc.add(110 + n as i32, 101, comm, 'S', 0);
        }
        proc.files
            .insert((111, "cmdline"), Ok(b"\"q\"\0back\\slash\0\x07\0".to_vec()));
        let snapshot = collect(&proc, None, None).unwrap();
        let comms: Vec<&str> = snapshot.processes.iter().map(|p| p.comm.as_str()).collect();
        assert_eq!(
            comms,
            [
                "init",
                "a b",
                "x) S 9 9 (",
                "new\nline",
                "\x1b[31mred",
                "caf\u{fffd}"
            ]
        );
        assert!(
            snapshot
                .processes
                .iter()
                .all(|p| p.ppid == 101 || p.pid == 101)
        );

        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let text = render_text(&snapshot, &report, SIGTERM, false);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
        assert!(
            text.contains("new\\nline") && text.contains("\\u{1b}[31mred"),
            "{text}"
        );

        let json = render_json(
            &snapshot,
            &report,
            InspectOptions {
                json: true,
                signal: SIGTERM,
                pid: None,
            },
        );
        assert!(json.contains(r#""comm": "new\nline""#), "{json}");
        assert!(json.contains(r#""comm": "\u001b[31mred""#), "{json}");
        assert!(json.contains(r#""comm": "caf�""#), "{json}");
        assert!(
            json.contains(r#""command": ["\"q\"", "back\\slash", "\u0007"]"#),
            "{json}"
        );
        assert!(!json.contains('\x1b') && !json.contains('\x07'));
    }

    #[test]
    fn json_document_has_the_documented_shape() {
        let snapshot = Snapshot {
            processes: forwarder_tree(&["tini", "--", "main"]),
            depths: vec![0, 1, 2, 2],
            kernel_threads_omitted: 0,
            services: Vec::new(),
        };
        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let options = InspectOptions {
            json: true,
            signal: SIGTERM,
            pid: Some(1),
        };
        let json = render_json(&snapshot, &report, options);
        assert!(
            json.starts_with("{\n  \"version\": 1,\n  \"signal\": \"SIGTERM\",\n"),
            "{json}"
        );
        for needle in [
            "\"signal_number\": 15,",
            "\"target\": 1,",
            "\"kind\": \"tini\",",
            "\"forwards_to\": \"child\",",
            "\"grace\": null",
            "\"main\": 7,",
            "\"handled\": [\"SIGTERM\"],",
            "\"outcome\": \"sigkill\",",
            "\"killed_by\": \"init-exit\",",
            "\"stop_ends\": \"all-exit\",",
            "\"graceful\": 2,",
            "\"kernel_threads_omitted\": 0,",
        ] {
            assert!(json.contains(needle), "{needle} in {json}");
        }
        assert!(json.ends_with("}\n"));
    }

    #[test]
    fn text_is_coloured_only_when_asked() {
        let snapshot = Snapshot {
            processes: grace_tree(&[]),
            depths: vec![0, 1, 2, 2, 2, 2, 2, 3, 2, 0],
            kernel_threads_omitted: 3,
            services: Vec::new(),
        };
        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let plain = render_text(&snapshot, &report, SIGTERM, false);
        assert!(!plain.contains('\x1b'));
        assert!(
            plain.contains(
                "      9      9       7       7       1 S ignored  sigkill          \\_ ignorer\n"
            ),
            "{plain}"
        );
        assert!(
            plain.contains(
                "     13     13      12      12      12 Z default  zombie              \\_ [probe]\n"
            ),
            "{plain}"
        );
        assert!(plain.contains("(3 kernel threads not shown)"));
        assert!(
            plain.contains("        handles SIGTERM; blocks SIGTERM\n"),
            "{plain}"
        );
        assert!(!plain.contains("SERVICE"), "{plain}");
        let coloured = render_text(&snapshot, &report, SIGTERM, true);
        assert!(
            coloured.contains("\x1b[1;31msigkill      \x1b[0m"),
            "{coloured}"
        );
        assert!(coloured.contains("\x1b[32mgraceful"), "{coloured}");
    }

    #[test]
    fn services_are_shown_only_when_some_process_has_one() {
        let mut snapshot = Snapshot {
            processes: grace_tree(&[]),
            depths: vec![0, 1, 2, 2, 2, 2, 2, 3, 2, 0],
            kernel_threads_omitted: 0,
            services: Vec::new(),
        };
        let report = at(&snapshot.processes, Some(0), SIGTERM);
        let options = InspectOptions {
            json: true,
            signal: SIGTERM,
            pid: None,
        };
        let json = render_json(&snapshot, &report, options);
        assert!(!json.contains("\"service\""), "{json}");
        snapshot.services = vec![None; 10];
        snapshot.services[1] = Some("web-frontend".into());
        snapshot.services[6] = Some("db".into());
        let text = render_text(&snapshot, &report, SIGTERM, false);
        assert!(
            text.contains(" OUTCOME       SERVICE      COMMAND\n"),
            "{text}"
        );
        assert!(
            text.contains(" graceful      web-frontend \\_ main\n"),
            "{text}"
        );
        assert!(text.contains(" -               \\_ handler\n"), "{text}");
        let json = render_json(&snapshot, &report, options);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let services: Vec<&serde_json::Value> = value["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["service"])
            .collect();
        assert_eq!(services[1], "web-frontend");
        assert_eq!(services[6], "db");
        assert!(services[0].is_null());
        assert!(json.contains("\"role\": \"main\",\n      \"service\": \"web-frontend\","));
    }

    #[test]
    fn small_formats() {
        assert_eq!(seconds(Duration::from_secs(9)), "9 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
        assert_eq!(describe_set(bits(&[1, 15])), "SIGHUP SIGTERM");
        assert_eq!(describe_set(!bits(&[9, 19])), "all");
        assert_eq!(describe_set(!bits(&[9, 17, 19])), "all but SIGCHLD");
        assert_eq!(printable("a\tb\u{1b}"), "a\\tb\\u{1b}");
    }
}
