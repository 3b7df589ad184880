//! `grace inspect`: every process's signal dispositions, and what a stop
//! will do to each of them.
//!
//! Three layers, so that the part that decides can be tested without a
//! kernel:
//! - reading (`collect`): /proc into `Process` records, behind the `Source`
//!   trait. A process vanishing mid-read is dropped, an unreadable entry is
//!   kept and marked, a PID that does not exist is one clear error.
//! - predicting: a pure function of the records, the stop signal and what
//!   PID 1 is, in stages, one module each, each using only those above it:
//!   - `classify`: what the target is (grace with the options on its
//!     command line and its services file, a forwarding init such as tini,
//!     a shell, an application), its main child, and each process's role;
//!   - `inits`: what each kind of init does with the signal; grace's is
//!     asked of `policy::decide`, which the running grace obeys;
//!   - `schedule`: for grace, its stop as its own machines (`Shutdown`,
//!     the services' `Fleet`) carry it out, fed a stop's events with
//!     effects that only record;
//!   - `fate` and `words`: how a process reacts to a signal, the outcomes,
//!     and the words both stages below share;
//!   - `plan`: so who receives which signal, and which SIGKILL backs it up;
//!   - `verdict`: all of that in plain words, per process and for the tree;
//!   - `judge`: each process's outcome, when the stop ends, and `predict`,
//!     which runs the stages into a `Report`.
//! - rendering (`render`): a `ps --forest`-like tree for people (colour
//!   only on a terminal, never with NO_COLOR) and JSON with a versioned
//!   schema (docs/inspect.md) for scripts, written by `crate::base::json`.
//!
//! The stop being predicted is what a container runtime does: send the stop
//! signal to PID 1, wait its timeout, SIGKILL everything. And when PID 1
//! exits, the kernel SIGKILLs every other process in the namespace.

mod classify;
mod collect;
#[cfg(test)]
mod corpus;
mod fate;
#[cfg(test)]
mod fixtures;
#[cfg(fuzzing)]
pub mod fuzz;
mod inits;
mod judge;
mod plan;
mod render;
mod schedule;
mod verdict;
mod words;

use crate::base::prelude::*;

use crate::base::environment::lookup;
use crate::cli::InspectOptions;
use crate::error;
use crate::process::procfs;
use crate::sys;

use classify::Init;
use collect::{ProcFs, collect};
use judge::predict;
use render::{render_json, render_text};

/// Exit code when the PID does not exist or /proc cannot be read.
const EXIT_FAILURE: i32 = 1;

/// Runs `grace inspect` and returns its exit code.
/// `environment` is grace's own, as (name, value).
pub fn inspect(options: InspectOptions, environment: &[(Vec<u8>, Vec<u8>)]) -> i32 {
    let Some(own_pid) = procfs::own_pid() else {
        error!("cannot read /proc/self: /proc is not mounted");
        return EXIT_FAILURE;
    };
    if !procfs::shows_own_namespace() {
        crate::warn!(
            "/proc belongs to another PID namespace than this process's; pids are as it numbers them"
        );
    }
    let mut snapshot = match collect(&ProcFs, options.pid, Some(own_pid)) {
        Ok(snapshot) => snapshot,
        Err(error) => {
            error!("{error}");
            return EXIT_FAILURE;
        }
    };
    let top_pid = options.pid.unwrap_or(1);
    let top = snapshot.processes.iter().position(|p| p.pid == top_pid);
    let kind = top.map(|top| classify::classify(&snapshot.processes[top]));
    let run_dir = match &kind {
        Some(classify::Kind::Grace { config, .. }) => config.run_dir.as_deref(),
        _ => None,
    };
    // Where that grace would publish: its own user's places as well as
    // this reader's.
    let mut uids = crate::services::published::trusted_users();
    if let Some(uid) = crate::process::procfs::read_uid(top_pid)
        && !uids.contains(&uid)
    {
        uids.push(uid);
    }
    let runtime_dir = lookup(environment, "XDG_RUNTIME_DIR")
        .filter(|value| !value.is_empty())
        .map(|value| String::from_utf8_lossy(value).into_owned());
    let published = crate::services::published::find(run_dir, runtime_dir.as_deref(), &uids)
        .ok()
        .map(|(_, published)| published);
    snapshot.services = collect::services(&snapshot.processes, published.as_ref());
    let read = |path: &str| collect::target_file(&ProcFs, top_pid, path);
    let init = top.map(|top| Init::identify(&snapshot.processes, top, &snapshot.services, &read));
    // Who is connected to whom, for grace's ordered stop: read as its
    // edge reads it (nothing, where the sockets cannot be read).
    let pids: Vec<i32> = snapshot.processes.iter().map(|p| p.pid).collect();
    let connections = crate::process::sockets::read(&pids)
        .map(|reading| reading.connections)
        .unwrap_or_default();
    let report = predict(&snapshot.processes, &connections, init, options.signal);
    let text = if options.json {
        render_json(&snapshot, &report, options)
    } else {
        render_text(&snapshot, &report, options.signal, use_colour(environment))
    };
    // A reader that went away (`grace inspect | head`) is not an error
    // worth reporting.
    let _ = sys::write_all(libc::STDOUT_FILENO, text.as_bytes());
    0
}

/// Colour only for a person at a terminal who has not asked for none
/// (https://no-color.org: NO_COLOR set and not empty).
fn use_colour(environment: &[(Vec<u8>, Vec<u8>)]) -> bool {
    let no_color = lookup(environment, "NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = lookup(environment, "TERM") == Some(b"dumb");
    !no_color && !dumb && sys::is_terminal(libc::STDOUT_FILENO)
}

/// Text from a process (names, arguments) made safe to print on a
/// terminal: control characters are shown escaped, never sent. Shared by
/// the verdicts (`verdict`) and the output (`render`), and `grace status`.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
