//! Predicting: what a stop signal sent to PID 1 (or a given process) does
//! to every process, as a pure function of the records read from /proc.

use core::time::Duration;

use crate::prelude::*;

use crate::cli::{self, Config, ForwardTo, Invocation, Parsed, Personality, StopOrder};
use crate::policy::{self, Action};
use crate::procfs::Disposition;
use crate::signals::{self, SIGKILL, SIGSTOP, Signal, SignalSet};

use super::collect::{Process, subtree};
use super::printable;

// ---------------------------------------------------------------------------
// What PID 1 is
// ---------------------------------------------------------------------------

/// An init that forwards the stop signal to its one child (or that child's
/// process group) and exits as soon as the child exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forwarder {
    /// tini, also shipped as docker-init (`docker run --init`).
    Tini,
    DumbInit,
    /// podman's `--init`.
    Catatonit,
}

impl Forwarder {
    fn name(self) -> &'static str {
        match self {
            Forwarder::Tini => "tini",
            Forwarder::DumbInit => "dumb-init",
            Forwarder::Catatonit => "catatonit",
        }
    }
}

/// What the process a stop is sent to does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// grace, with the options read from its command line, or the defaults
    /// when they could not be read (`from_cmdline` false).
    Grace {
        config: Box<Config>,
        from_cmdline: bool,
    },
    Forwarder {
        init: Forwarder,
        /// Forwards to the child's whole process group.
        group: bool,
    },
    /// A shell: it runs a trap, if any, but forwards nothing to children.
    Shell,
    Other,
}

impl Kind {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Kind::Grace { .. } => "grace",
            Kind::Forwarder { init, .. } => init.name(),
            Kind::Shell => "shell",
            Kind::Other => "other",
        }
    }
}

const SHELLS: [&str; 7] = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

/// The names a process goes by: its kernel name, its executable's and its
/// argv[0]'s base names (a busybox shell is `sh` only by the first).
fn names(p: &Process) -> Vec<String> {
    let base = |path: &String| -> String {
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        path.rsplit('/').next().unwrap_or(path).to_string()
    };
    let mut names = vec![p.comm.clone()];
    names.extend(p.exe.iter().chain(p.args.first()).map(base));
    names
}

/// Recognises grace, tini/docker-init, dumb-init, catatonit and shells.
fn classify(p: &Process) -> Kind {
    let names = names(p);
    let is = |wanted: &str| names.iter().any(|name| name == wanted);
    if is("grace") {
        // Linked as tini or dumb-init, grace reads that tool's command line;
        // GRACE_* (and the tool's own) variables configure it too.
        let personality = p.args.first().map_or(Personality::Grace, |argv0| {
            Personality::from_program(argv0.as_bytes())
        });
        let args = p.args.iter().skip(1).map(|arg| arg.as_bytes().to_vec());
        if let Ok(Parsed {
            invocation: Invocation::Run(config),
            ..
        }) = cli::parse_with(personality, args, &p.init_env)
        {
            return Kind::Grace {
                config: Box::new(config),
                from_cmdline: true,
            };
        }
        // `grace inspect` and the like are not an init.
        if p.args.get(1).is_some_and(|arg| arg == "inspect") {
            return Kind::Other;
        }
        return match cli::parse([b"COMMAND".to_vec()]) {
            Ok(Invocation::Run(config)) => Kind::Grace {
                config: Box::new(config),
                from_cmdline: false,
            },
            _ => Kind::Other,
        };
    }
    if names
        .iter()
        .any(|name| name == "tini" || name.starts_with("tini-") || name == "docker-init")
    {
        let group = short_flag(&p.args, 'g', "pe", &[], &[]);
        return Kind::Forwarder {
            init: Forwarder::Tini,
            group,
        };
    }
    if is("dumb-init") {
        let single = short_flag(&p.args, 'c', "r", &["--single-child"], &["--rewrite"]);
        return Kind::Forwarder {
            init: Forwarder::DumbInit,
            group: !single,
        };
    }
    if is("catatonit") {
        return Kind::Forwarder {
            init: Forwarder::Catatonit,
            group: short_flag(&p.args, 'g', "", &[], &[]),
        };
    }
    if SHELLS.iter().any(|shell| is(shell)) {
        return Kind::Shell;
    }
    Kind::Other
}

/// Whether a getopt-style command line has short option `flag` (or one of
/// `long`) before its command. `valued` are the short options that take a
/// value, `long_valued` the long ones.
fn short_flag(
    args: &[String],
    flag: char,
    valued: &str,
    long: &[&str],
    long_valued: &[&str],
) -> bool {
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        if word == "--" || word == "-" || !word.starts_with('-') {
            return false;
        }
        if let Some(name) = word.strip_prefix("--") {
            let name = format!("--{}", name.split('=').next().unwrap_or(name));
            if long.contains(&name.as_str()) {
                return true;
            }
            if long_valued.contains(&name.as_str()) && !word.contains('=') {
                words.next();
            }
            continue;
        }
        let letters = &word[1..];
        for (at, letter) in letters.char_indices() {
            if letter == flag {
                return true;
            }
            if valued.contains(letter) {
                // The value is the rest of this word, or the next word.
                if at + letter.len_utf8() == letters.len() {
                    words.next();
                }
                break;
            }
        }
    }
    false
}

/// The process PID 1 forwards to or started: its earliest-started child.
/// (Orphans re-parented to PID 1 were all started after it.)
fn main_child(processes: &[Process], top: usize) -> Option<usize> {
    let parent = processes[top].pid;
    processes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ppid == parent && p.pid != parent && !p.kernel_thread)
        .min_by_key(|(_, p)| (p.start_time, p.pid))
        .map(|(index, _)| index)
}

// ---------------------------------------------------------------------------
// Predicting
// ---------------------------------------------------------------------------

/// A process's place in the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The process the stop signal is sent to (PID 1, or the given PID).
    Init,
    /// The init's main child: the one it forwards to.
    Main,
    /// Entered from outside the namespace (docker exec): its parent is not
    /// in the namespace.
    Entered,
    Other,
}

impl Role {
    pub(super) fn name(self) -> &'static str {
        match self {
            Role::Init => "init",
            Role::Main => "main",
            Role::Entered => "entered",
            Role::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Gets a stop signal and handles it, with time until a deadline.
    Graceful,
    /// Gets it and handles it, but is SIGKILLed when PID 1 exits, which may
    /// be before it is done.
    CutShort,
    /// The signal's default action ends it at once, without cleanup.
    Terminated,
    /// Ends by SIGKILL without having been able to act on a stop signal.
    Sigkill,
    /// Neither signalled nor killed.
    Survives,
    /// Already exited; waiting to be reaped.
    Zombie,
    KernelThread,
    /// Its dispositions could not be read, or PID 1 is not visible.
    Unknown,
}

impl Outcome {
    pub(super) fn name(self) -> &'static str {
        match self {
            Outcome::Graceful => "graceful",
            Outcome::CutShort => "cut-short",
            Outcome::Terminated => "terminated",
            Outcome::Sigkill => "sigkill",
            Outcome::Survives => "survives",
            Outcome::Zombie => "zombie",
            Outcome::KernelThread => "kernel-thread",
            Outcome::Unknown => "unknown",
        }
    }

    pub(super) const ALL: [Outcome; 8] = [
        Outcome::Graceful,
        Outcome::CutShort,
        Outcome::Terminated,
        Outcome::Sigkill,
        Outcome::Survives,
        Outcome::Zombie,
        Outcome::KernelThread,
        Outcome::Unknown,
    ];
}

/// The SIGKILL that ends a process if it is still running by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KilledBy {
    /// grace's `--grace-period`.
    GraceDeadline,
    /// The kernel, when PID 1 of the namespace exits.
    InitExit,
    /// The runtime, when its timeout runs out (docker stop: 10 s).
    RuntimeTimeout,
    /// The stop signal is SIGKILL itself.
    StopSignal,
}

impl KilledBy {
    pub(super) fn name(self) -> &'static str {
        match self {
            KilledBy::GraceDeadline => "grace-deadline",
            KilledBy::InitExit => "init-exit",
            KilledBy::RuntimeTimeout => "runtime-timeout",
            KilledBy::StopSignal => "stop-signal",
        }
    }
}

/// When the whole stop is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopEnds {
    /// As soon as the signalled processes have exited (or were SIGKILLed
    /// because PID 1 exited).
    AllExit,
    /// At grace's deadline: someone cannot stop gracefully.
    GraceDeadline,
    /// At the runtime's timeout: the stop signal achieves nothing.
    RuntimeTimeout,
    /// At once: the stop signal is SIGKILL.
    Immediately,
    /// Nothing ends it: the target is not a namespace's PID 1 and some
    /// processes are left running.
    NotStopped,
    Unknown,
}

impl StopEnds {
    pub(super) fn name(self) -> &'static str {
        match self {
            StopEnds::AllExit => "all-exit",
            StopEnds::GraceDeadline => "grace-deadline",
            StopEnds::RuntimeTimeout => "runtime-timeout",
            StopEnds::Immediately => "immediately",
            StopEnds::NotStopped => "not-stopped",
            StopEnds::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prediction {
    pub(super) role: Role,
    /// The signal the stop sends it (None: none at all).
    pub(super) receives: Option<Signal>,
    pub(super) outcome: Outcome,
    pub(super) killed_by: Option<KilledBy>,
    pub(super) verdict: String,
}

/// The process the stop signal goes to, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Init {
    pub(super) index: usize,
    pub(super) kind: Kind,
    /// PID 1 of its PID namespace: the kernel drops default-action signals
    /// sent to it, and kills everyone else when it exits.
    pub(super) namespace_init: bool,
    pub(super) main: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Report {
    pub(super) signal: Signal,
    pub(super) init: Option<Init>,
    /// One per process, in the same order.
    pub(super) predictions: Vec<Prediction>,
    pub(super) stop_ends: StopEnds,
    /// The whole tree's verdict, sentence by sentence.
    pub(super) summary: Vec<String>,
}

/// How a process reacts to a signal it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reaction {
    Handles,
    /// Its default action ends it.
    Dies,
    /// It cannot act on it; the text says why, to follow "but".
    CannotAct(String),
    /// Its dispositions are unknown; the text says why.
    Unknown(String),
}

impl Reaction {
    fn exits(&self) -> bool {
        matches!(self, Reaction::Handles | Reaction::Dies)
    }
}

/// What a signal does to a process that has no handler for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

/// signal(7)'s table: SIGCHLD, SIGURG, SIGWINCH (and SIGCONT, which only
/// resumes) are ignored, the four stop signals stop, everything else
/// terminates, core dump or not, real-time signals included.
fn default_action(signal: Signal) -> DefaultAction {
    match signal.number() {
        17 | 18 | 23 | 28 => DefaultAction::Ignore,
        19..=22 => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// How `p` reacts to `signal`; `continued` when it is also sent SIGCONT
/// (grace does that, so a stopped process can run its handler).
fn react(p: &Process, signal: Signal, continued: bool) -> Reaction {
    if signal == SIGKILL {
        return Reaction::Dies;
    }
    let Some(dispositions) = p.dispositions else {
        let why = p.error.clone().unwrap_or_else(|| "unreadable".into());
        return Reaction::Unknown(why);
    };
    match dispositions.of(signal) {
        Disposition::Blocks => Reaction::CannotAct(format!("blocks {signal}")),
        Disposition::Ignores => Reaction::CannotAct(format!("ignores {signal}")),
        Disposition::Handles if p.state == 't' => Reaction::CannotAct(
            "is stopped by a debugger, so its handler cannot run until it is released".into(),
        ),
        Disposition::Handles if p.state == 'T' && !continued => Reaction::CannotAct(
            "is stopped, so its handler cannot run until it is continued".into(),
        ),
        Disposition::Handles => Reaction::Handles,
        // The kernel does not deliver a signal without a handler to its
        // namespace's init, SIGKILL and SIGSTOP from outside excepted.
        Disposition::Default if p.ns_pid == 1 && signal != SIGSTOP => Reaction::CannotAct(format!(
            "as PID 1 with {signal} at its default action it ignores it (the kernel drops it)"
        )),
        Disposition::Default => match default_action(signal) {
            DefaultAction::Terminate => Reaction::Dies,
            DefaultAction::Ignore => {
                Reaction::CannotAct(format!("{signal}'s default action is to ignore it"))
            }
            DefaultAction::Stop => {
                Reaction::CannotAct(format!("{signal}'s default action stops it"))
            }
        },
    }
}

/// How one process is reached by the stop.
#[derive(Debug, Clone)]
struct Reach {
    receives: Option<Signal>,
    /// Also sent SIGCONT.
    continued: bool,
    /// The SIGKILL it faces if it is still running.
    backstop: Option<KilledBy>,
    /// How it gets the signal, or why it gets none; starts the verdict.
    how: String,
}

impl Reach {
    fn none(backstop: Option<KilledBy>, how: String) -> Self {
        Reach {
            receives: None,
            continued: false,
            backstop,
            how,
        }
    }
}

/// `pid (comm)`, for verdicts.
fn label(p: &Process) -> String {
    format!("{} ({})", p.pid, printable(&p.comm))
}

/// `3 s`, `1.5 s`, `500 ms`.
pub(super) fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        return format!("{} ms", duration.as_millis());
    }
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

fn signal_list(set: SignalSet) -> String {
    (signals::FIRST..=signals::LAST)
        .filter_map(Signal::new)
        .filter(|&s| set.contains(s))
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Predicts what a stop signal `signal` sent to `processes[top]` does to
/// every process. `top` is None when PID 1 is not visible.
pub(super) fn predict(processes: &[Process], top: Option<usize>, signal: Signal) -> Report {
    let Some(top) = top.filter(|&top| top < processes.len()) else {
        let predictions = processes
            .iter()
            .map(|p| {
                fixed(p).unwrap_or_else(|| Prediction {
                    role: Role::Other,
                    receives: None,
                    outcome: Outcome::Unknown,
                    killed_by: None,
                    verdict: "PID 1 is not visible in /proc, so what a stop does cannot be told"
                        .into(),
                })
            })
            .collect();
        return Report {
            signal,
            init: None,
            predictions,
            stop_ends: StopEnds::Unknown,
            summary: vec![
                "PID 1 is not visible in /proc (mounted with hidepid, or another namespace's): \
                 the stop cannot be predicted."
                    .into(),
            ],
        };
    };
    let kind = classify(&processes[top]);
    let namespace_init = processes[top].ns_pid == 1;
    let main = match kind {
        Kind::Grace { .. } | Kind::Forwarder { .. } => main_child(processes, top),
        _ => None,
    };
    let init = Init {
        index: top,
        kind,
        namespace_init,
        main,
    };
    let (predictions, stop_ends, summary) = Predictor {
        processes,
        init: &init,
        signal,
    }
    .run();
    Report {
        signal,
        init: Some(init),
        predictions,
        stop_ends,
        summary,
    }
}

/// Kernel threads: the same whatever the stop and whatever PID 1 is.
fn fixed(p: &Process) -> Option<Prediction> {
    if p.kernel_thread {
        return Some(Prediction {
            role: Role::Other,
            receives: None,
            outcome: Outcome::KernelThread,
            killed_by: None,
            verdict: "kernel thread: not stopped by signals".into(),
        });
    }
    None
}

struct Predictor<'a> {
    processes: &'a [Process],
    init: &'a Init,
    signal: Signal,
}

impl Predictor<'_> {
    fn top(&self) -> &Process {
        &self.processes[self.init.index]
    }

    fn main(&self) -> Option<&Process> {
        self.init.main.map(|index| &self.processes[index])
    }

    /// The pids below the init (by parent links), itself included.
    fn descendants(&self) -> BTreeSet<i32> {
        subtree(self.processes, self.top().pid)
    }

    fn role(&self, index: usize) -> Role {
        let p = &self.processes[index];
        if index == self.init.index {
            Role::Init
        } else if Some(index) == self.init.main {
            Role::Main
        } else if self.init.namespace_init && p.ppid == 0 {
            Role::Entered
        } else {
            Role::Other
        }
    }

    /// The SIGKILL everyone but the init faces once the init exits (or
    /// does not).
    fn after_init(&self, init_exits: bool) -> Option<KilledBy> {
        match (self.init.namespace_init, init_exits) {
            (true, true) => Some(KilledBy::InitExit),
            (true, false) => Some(KilledBy::RuntimeTimeout),
            (false, _) => None,
        }
    }

    fn run(&self) -> (Vec<Prediction>, StopEnds, Vec<String>) {
        let signal = self.signal;
        let init = self.init;
        let (reaches, init_prediction) = if signal == SIGKILL {
            self.plan_sigkill()
        } else if signal == SIGSTOP {
            self.plan_plain(false)
        } else {
            match &init.kind {
                Kind::Grace { config, .. } => self.plan_grace(config),
                Kind::Forwarder { init: name, group } => self.plan_forwarder(*name, *group),
                Kind::Shell => self.plan_plain(true),
                Kind::Other => self.plan_plain(false),
            }
        };
        let mut predictions = Vec::with_capacity(self.processes.len());
        for (index, p) in self.processes.iter().enumerate() {
            let role = self.role(index);
            if let Some(prediction) = fixed(p) {
                predictions.push(Prediction { role, ..prediction });
                continue;
            }
            if index == init.index
                && let Some(prediction) = &init_prediction
            {
                predictions.push(prediction.clone());
                continue;
            }
            if p.state == 'Z' {
                predictions.push(Prediction {
                    role,
                    receives: None,
                    outcome: Outcome::Zombie,
                    killed_by: None,
                    verdict: self.zombie_verdict(p),
                });
                continue;
            }
            predictions.push(self.judge(index, role, &reaches[index]));
        }
        let stop_ends = self.stop_ends(&predictions);
        let summary = self.summary(&predictions, stop_ends);
        (predictions, stop_ends, summary)
    }

    /// A process's outcome and verdict from how the stop reaches it.
    fn judge(&self, index: usize, role: Role, reach: &Reach) -> Prediction {
        let p = &self.processes[index];
        let reaction = reach
            .receives
            .map(|signal| react(p, signal, reach.continued));
        let (outcome, killed_by) = match (&reaction, reach.backstop) {
            (Some(Reaction::Dies), _) if reach.receives == Some(SIGKILL) => {
                (Outcome::Sigkill, Some(KilledBy::StopSignal))
            }
            (Some(Reaction::Dies), _) => (Outcome::Terminated, None),
            (Some(Reaction::Handles), Some(KilledBy::InitExit)) => {
                (Outcome::CutShort, Some(KilledBy::InitExit))
            }
            (Some(Reaction::Handles), backstop) => (Outcome::Graceful, backstop),
            (Some(Reaction::Unknown(_)), backstop) => (Outcome::Unknown, backstop),
            (Some(Reaction::CannotAct(_)) | None, Some(backstop)) => {
                (Outcome::Sigkill, Some(backstop))
            }
            (Some(Reaction::CannotAct(_)) | None, None) => (Outcome::Survives, None),
        };
        let mut verdict = reach.how.clone();
        let received = reach.receives.unwrap_or(self.signal);
        match &reaction {
            Some(Reaction::Handles) => verdict.push_str(" and handles it"),
            Some(Reaction::Dies) if received == SIGKILL => {
                verdict.push_str(", which ends it at once")
            }
            Some(Reaction::Dies) => verdict.push_str(&format!(
                "; {received} at its default action terminates it at once, without cleanup"
            )),
            Some(Reaction::CannotAct(why)) => verdict.push_str(&format!(", but {why}")),
            Some(Reaction::Unknown(why)) => {
                verdict.push_str(&format!("; what it does with it is unknown ({why})"))
            }
            None => {}
        }
        let got = reaction.is_some();
        let consequence = match (outcome, killed_by) {
            (Outcome::Graceful, Some(KilledBy::GraceDeadline)) => {
                format!(
                    ": it has until grace's {} deadline to finish",
                    self.grace_deadline()
                )
            }
            (Outcome::Graceful, Some(KilledBy::RuntimeTimeout)) => {
                ": it has until the runtime's timeout to finish (docker stop: 10 s)".into()
            }
            (Outcome::CutShort, _) => format!(
                ", but it will be SIGKILLed when PID 1 exits{}: it may be cut short mid-cleanup",
                self.when_init_exits()
            ),
            (Outcome::Sigkill, Some(KilledBy::GraceDeadline)) if got => format!(
                ", so it cannot stop gracefully: SIGKILL at grace's {} deadline",
                self.grace_deadline()
            ),
            (Outcome::Sigkill, Some(KilledBy::GraceDeadline)) => {
                format!("; SIGKILL at grace's {} deadline", self.grace_deadline())
            }
            (Outcome::Sigkill, Some(KilledBy::InitExit)) => format!(
                "{} it will be SIGKILLed when PID 1 exits{}",
                if got { ", so" } else { ";" },
                self.when_init_exits()
            ),
            (Outcome::Sigkill, Some(KilledBy::RuntimeTimeout)) if role == Role::Init => {
                ", so docker stop will wait its full timeout, then SIGKILL everything".into()
            }
            (Outcome::Sigkill, Some(KilledBy::RuntimeTimeout)) => format!(
                "{} SIGKILL at the runtime's timeout",
                if got { ", so" } else { ";" }
            ),
            (Outcome::Survives, _) => "; it is left running".into(),
            _ => String::new(),
        };
        verdict.push_str(&consequence);
        if p.state == 'T' && reach.continued && reaction.is_some() {
            verdict.push_str(" (it is stopped; grace's SIGCONT lets it act)");
        }
        if p.state == 'D' {
            verdict.push_str(
                "; it is in uninterruptible sleep and acts on signals only once it leaves it",
            );
        }
        Prediction {
            role,
            receives: reach.receives,
            outcome,
            killed_by,
            verdict,
        }
    }

    fn grace_deadline(&self) -> String {
        match &self.init.kind {
            Kind::Grace { config, .. } => seconds(config.grace_period),
            _ => "?".into(),
        }
    }

    /// When PID 1 exits, in words: a forwarding init exits with its child.
    fn when_init_exits(&self) -> String {
        match (&self.init.kind, self.main()) {
            (Kind::Forwarder { init, .. }, Some(main)) => format!(
                ", which {} does as soon as its child {} exits",
                init.name(),
                label(main)
            ),
            (Kind::Grace { .. }, _) => ", since grace waits only for what it reaches".into(),
            _ => String::new(),
        }
    }

    /// Who will reap a zombie, in words.
    fn zombie_verdict(&self, p: &Process) -> String {
        let parent = self.processes.iter().find(|q| q.pid == p.ppid);
        let top = self.top();
        let reaper = match &self.init.kind {
            Kind::Grace { .. } => Some("grace"),
            Kind::Forwarder { init, .. } => Some(init.name()),
            _ => None,
        };
        let Some(parent) = parent else {
            return format!(
                "zombie: it has exited and waits for its parent {} to reap it",
                p.ppid
            );
        };
        if parent.pid == top.pid {
            return match reaper {
                Some(name) => format!("zombie: it has exited; {name} reaps it at once"),
                None => format!(
                    "zombie: it has exited and waits for its parent {}, PID 1, which has not reaped it{}",
                    label(parent),
                    if self.init.kind == Kind::Shell {
                        " (a shell reaps only when it waits for its children)"
                    } else {
                        ""
                    }
                ),
            };
        }
        let then = match (reaper, self.init.namespace_init) {
            (Some(name), _) => format!("; once its parent exits, {name} reaps it"),
            (None, true) => format!(
                "; once its parent exits it passes to {}, PID 1, which may never reap it",
                label(top)
            ),
            (None, false) => String::new(),
        };
        format!(
            "zombie: it has exited and waits for its parent {} to reap it{then}",
            label(parent)
        )
    }

    /// SIGKILL as the stop signal: PID 1 dies at once, and with it, as
    /// a namespace's init, everyone.
    fn plan_sigkill(&self) -> (Vec<Reach>, Option<Prediction>) {
        let top = self.init.index;
        let reaches = (0..self.processes.len())
            .map(|index| {
                if index == top {
                    Reach {
                        receives: Some(SIGKILL),
                        continued: false,
                        backstop: None,
                        how: "gets SIGKILL".into(),
                    }
                } else if self.init.namespace_init {
                    Reach::none(Some(KilledBy::InitExit), "gets no signal of its own".into())
                } else {
                    Reach::none(
                        None,
                        format!("gets no signal (only {} does)", label(self.top())),
                    )
                }
            })
            .collect();
        (reaches, None)
    }

    /// An application, a shell, or any process as the target: only it gets
    /// the signal.
    fn plan_plain(&self, shell: bool) -> (Vec<Reach>, Option<Prediction>) {
        let top = self.top();
        let reaction = react(top, self.signal, false);
        let after = self.after_init(reaction.exits());
        let why_not = if shell {
            "gets no signal: a shell does not forward signals to its children".to_string()
        } else if self.init.namespace_init {
            "gets no signal from the runtime: only PID 1 does, and it would have to forward it"
                .to_string()
        } else {
            format!("gets no signal: only {} does", label(top))
        };
        let reaches = (0..self.processes.len())
            .map(|index| {
                if index == self.init.index {
                    let how = match (self.init.namespace_init, shell) {
                        (true, true) => "PID 1, a shell: gets {signal}",
                        (true, false) => "PID 1: gets {signal}",
                        (false, _) => "gets {signal}",
                    };
                    Reach {
                        receives: Some(self.signal),
                        continued: false,
                        backstop: self.after_init(false),
                        how: how.replace("{signal}", &self.signal.to_string()),
                    }
                } else {
                    Reach::none(after, why_not.clone())
                }
            })
            .collect();
        (reaches, None)
    }

    fn plan_forwarder(&self, init: Forwarder, group: bool) -> (Vec<Reach>, Option<Prediction>) {
        let name = init.name();
        let signal = self.signal;
        let main = self.main();
        let main_exits = main.is_some_and(|m| react(m, signal, false).exits());
        let after = self.after_init(main_exits);
        let reaches = (0..self.processes.len())
            .map(|index| {
                let p = &self.processes[index];
                match main {
                    _ if index == self.init.index => Reach::none(None, String::new()),
                    Some(m) if m.pid == p.pid => Reach {
                        receives: Some(signal),
                        continued: false,
                        backstop: self.after_init(false),
                        how: format!("main process: gets {signal} from {name}"),
                    },
                    Some(m) if group && p.pgid == m.pid => Reach {
                        receives: Some(signal),
                        continued: false,
                        backstop: after,
                        how: format!(
                            "gets {signal} ({name} forwards it to process group {})",
                            m.pid
                        ),
                    },
                    Some(m) if group => Reach::none(
                        after,
                        format!(
                            "gets no signal: it is outside process group {}, the only one {name} forwards {signal} to{}",
                            m.pid,
                            if p.sid == p.pid { " (it called setsid)" } else { "" }
                        ),
                    ),
                    Some(m) => Reach::none(
                        after,
                        format!(
                            "gets no signal: {name} forwards {signal} to its child {} only",
                            m.pid
                        ),
                    ),
                    None => Reach::none(
                        after,
                        format!("gets no signal: {name} has no child to forward {signal} to"),
                    ),
                }
            })
            .collect();
        let target = match main {
            Some(m) if group => format!("the process group of its child {}", label(m)),
            Some(m) => format!("its child {} only", label(m)),
            None => "its child, but has none".into(),
        };
        let (outcome, killed_by) = if main_exits {
            (Outcome::Graceful, None)
        } else if self.init.namespace_init {
            (Outcome::Sigkill, Some(KilledBy::RuntimeTimeout))
        } else {
            (Outcome::Survives, None)
        };
        let consequence = if main_exits {
            ""
        } else if self.init.namespace_init {
            "; its child cannot act on it, so docker stop will wait its full timeout, then SIGKILL everything"
        } else {
            "; its child cannot act on it, so it is left running"
        };
        let prediction = Prediction {
            role: Role::Init,
            receives: Some(signal),
            outcome,
            killed_by,
            verdict: format!(
                "{name}{}: forwards {signal} to {target}, and exits as soon as that child exits{consequence}",
                if self.init.namespace_init {
                    " as PID 1"
                } else {
                    ""
                }
            ),
        };
        (reaches, Some(prediction))
    }

    fn plan_grace(&self, config: &Config) -> (Vec<Reach>, Option<Prediction>) {
        let signal = self.signal;
        let top = self.init.index;
        let main = self.main();
        let in_reach: Vec<bool> = if self.init.namespace_init {
            vec![true; self.processes.len()]
        } else {
            let below = self.descendants();
            self.processes
                .iter()
                .map(|p| below.contains(&p.pid))
                .collect()
        };
        let as_what = if self.init.namespace_init {
            "grace as PID 1"
        } else {
            "grace as subreaper (not PID 1)"
        };
        let stop_signal = config.stop_signal;
        let deadline = Some(KilledBy::GraceDeadline);
        // Not grace's children, but watched through pidfds: grace waits for
        // them like for any other.
        let entered_backstop = deadline;
        // What the grace being read will do, asked of the very function it
        // obeys.
        let decision = policy::decide(
            config,
            policy::Phase::Running,
            signal,
            self.init.namespace_init,
        );

        if let Action::Stop { main_signal } = decision.action {
            let when = match config.stop_order {
                StopOrder::All => String::new(),
                StopOrder::MainFirst => format!(
                    " once the main process has exited (at {} at the latest)",
                    seconds(config.grace_period / 2)
                ),
            };
            let reaches = (0..self.processes.len())
                .map(|index| {
                    let p = &self.processes[index];
                    if index == top {
                        Reach::none(None, String::new())
                    } else if main.is_some_and(|m| m.pid == p.pid) {
                        Reach {
                            receives: Some(main_signal),
                            continued: true,
                            backstop: deadline,
                            how: format!("main process: gets {main_signal} from grace"),
                        }
                    } else if !in_reach[index] {
                        Reach::none(None, "gets no signal: it is not below grace".into())
                    } else if self.role(index) == Role::Entered {
                        Reach {
                            receives: Some(stop_signal),
                            continued: true,
                            backstop: entered_backstop,
                            how: format!(
                                "entered from outside (docker exec): gets {stop_signal} and SIGCONT from grace{when}"
                            ),
                        }
                    } else {
                        Reach {
                            receives: Some(stop_signal),
                            continued: true,
                            backstop: deadline,
                            how: format!("gets {stop_signal} and SIGCONT from grace{when}"),
                        }
                    }
                })
                .collect();
            let prediction = Prediction {
                role: Role::Init,
                receives: Some(signal),
                outcome: Outcome::Graceful,
                killed_by: None,
                verdict: format!(
                    "{as_what}, stopping on {signal}: signals every process{}, waits for them, SIGKILLs any left at its {} deadline, then exits",
                    if self.init.namespace_init {
                        ""
                    } else {
                        " below it"
                    },
                    seconds(config.grace_period)
                ),
            };
            return (reaches, Some(prediction));
        }

        // Not a stop signal for grace: at most forwarded to the main
        // process, possibly as another signal.
        let (forwarded, outgoing, group) = match decision.action {
            Action::Forward { signal, to } => (true, signal, to == ForwardTo::Group),
            _ => (false, signal, false),
        };
        let main_exits = forwarded && main.is_some_and(|m| react(m, outgoing, false).exits());
        let stop_on = signal_list(config.stop_on);
        let reaches = (0..self.processes.len())
            .map(|index| {
                let p = &self.processes[index];
                let is_main = main.is_some_and(|m| m.pid == p.pid);
                let in_group = group && main.is_some_and(|m| m.pid == p.pgid);
                if index == top {
                    Reach::none(None, String::new())
                } else if forwarded && (is_main || in_group) {
                    Reach {
                        receives: Some(outgoing),
                        continued: false,
                        backstop: if main_exits {
                            deadline
                        } else {
                            self.after_init(false)
                        },
                        how: if is_main {
                            format!("main process: gets {outgoing}, forwarded by grace")
                        } else {
                            format!("gets {outgoing} (grace forwards it to the main process's group)")
                        },
                    }
                } else if !in_reach[index] {
                    Reach::none(None, "gets no signal: it is not below grace".into())
                } else if main_exits {
                    Reach {
                        receives: Some(stop_signal),
                        continued: true,
                        backstop: deadline,
                        how: format!(
                            "gets {stop_signal} and SIGCONT from grace once the main process has exited"
                        ),
                    }
                } else {
                    Reach::none(
                        self.after_init(false),
                        format!("gets no signal: grace does not stop on {signal} (--stop-on {stop_on})"),
                    )
                }
            })
            .collect();
        let what = if decision.action == Action::Drop {
            format!("drops {signal} (--rewrite {signal}:0)")
        } else if !forwarded {
            format!("neither stops on nor forwards {signal}")
        } else if main.is_some() {
            format!(
                "does not stop on {signal} (--stop-on {stop_on}): forwards it to the main process{}",
                if group { "'s process group" } else { " only" }
            )
        } else {
            format!(
                "does not stop on {signal} (--stop-on {stop_on}) and has no main process to forward it to"
            )
        };
        let (outcome, killed_by, consequence) = if main_exits {
            (
                Outcome::Graceful,
                None,
                format!(
                    "; when the main process exits, grace stops the others with {stop_signal}, SIGKILLs any left at its {} deadline, then exits",
                    seconds(config.grace_period)
                ),
            )
        } else if self.init.namespace_init {
            (
                Outcome::Sigkill,
                Some(KilledBy::RuntimeTimeout),
                ", so docker stop will wait its full timeout, then SIGKILL everything".into(),
            )
        } else {
            (Outcome::Survives, None, "; it is left running".into())
        };
        let prediction = Prediction {
            role: Role::Init,
            receives: Some(signal),
            outcome,
            killed_by,
            verdict: format!("{as_what}: {what}{consequence}"),
        };
        (reaches, Some(prediction))
    }

    fn stop_ends(&self, predictions: &[Prediction]) -> StopEnds {
        let any = |outcome: Outcome, killed_by: Option<KilledBy>| {
            predictions
                .iter()
                .any(|p| p.outcome == outcome && (killed_by.is_none() || p.killed_by == killed_by))
        };
        if self.signal == SIGKILL {
            StopEnds::Immediately
        } else if any(Outcome::Sigkill, Some(KilledBy::RuntimeTimeout)) {
            StopEnds::RuntimeTimeout
        } else if any(Outcome::Sigkill, Some(KilledBy::GraceDeadline)) {
            StopEnds::GraceDeadline
        } else if any(Outcome::Survives, None) {
            StopEnds::NotStopped
        } else if any(Outcome::Unknown, None) {
            StopEnds::Unknown
        } else {
            StopEnds::AllExit
        }
    }

    /// The tree's verdict: what PID 1 does, how many fare how, and what
    /// the stop's length depends on.
    fn summary(&self, predictions: &[Prediction], stop_ends: StopEnds) -> Vec<String> {
        let mut lines = vec![self.headline(predictions)];
        let count = |outcome: Outcome| predictions.iter().filter(|p| p.outcome == outcome).count();
        let mut parts = Vec::new();
        for outcome in Outcome::ALL {
            let n = count(outcome);
            if n == 0 {
                continue;
            }
            let plural = |one: &str, many: &str| {
                if n == 1 {
                    one.to_string()
                } else {
                    many.to_string()
                }
            };
            parts.push(match outcome {
                Outcome::Graceful => format!("{n} can stop gracefully"),
                Outcome::CutShort => format!("{n} may be cut short"),
                Outcome::Terminated => format!("{n} {} terminated at once", plural("is", "are")),
                Outcome::Sigkill => format!("{n} will be SIGKILLed"),
                Outcome::Survives => format!("{n} {} left running", plural("is", "are")),
                Outcome::Zombie => format!("{n} {}", plural("zombie", "zombies")),
                Outcome::KernelThread => {
                    format!("{n} {}", plural("kernel thread", "kernel threads"))
                }
                Outcome::Unknown => format!("{n} unknown"),
            });
        }
        lines.push(format!(
            "{} {}: {}.",
            predictions.len(),
            if predictions.len() == 1 {
                "process"
            } else {
                "processes"
            },
            parts.join(", ")
        ));
        let named = |filter: &dyn Fn(&Prediction) -> bool| -> Vec<String> {
            predictions
                .iter()
                .zip(self.processes)
                .filter(|(prediction, _)| filter(prediction))
                .map(|(_, p)| label(p))
                .collect()
        };
        match stop_ends {
            StopEnds::GraceDeadline => {
                let late: Vec<String> = predictions
                    .iter()
                    .zip(self.processes)
                    .filter(|(prediction, _)| {
                        prediction.outcome == Outcome::Sigkill
                            && prediction.killed_by == Some(KilledBy::GraceDeadline)
                    })
                    .map(|(prediction, p)| {
                        let why = match prediction.receives.map(|s| react(p, s, true)) {
                            Some(Reaction::CannotAct(why)) => why,
                            _ => "gets no stop signal".into(),
                        };
                        format!("{} {why}", label(p))
                    })
                    .collect();
                lines.push(format!(
                    "The stop will last until grace's {} deadline, because {} cannot stop gracefully: {}.",
                    self.grace_deadline(),
                    if late.len() == 1 { "1 process" } else { "these processes" },
                    late.join("; ")
                ));
            }
            StopEnds::RuntimeTimeout => lines.push(
                "The stop will last the runtime's full timeout (docker stop: 10 s), then everything is SIGKILLed."
                    .into(),
            ),
            StopEnds::AllExit => {
                lines.push("The stop ends as soon as the signalled processes have exited.".into());
            }
            StopEnds::Immediately => lines.push(
                "SIGKILL cannot be handled: nobody gets to clean up.".into(),
            ),
            StopEnds::NotStopped => {
                let left = named(&|p| p.outcome == Outcome::Survives);
                lines.push(format!("Nothing SIGKILLs what is left running: {}.", left.join(", ")));
            }
            StopEnds::Unknown => lines.push(
                "How long the stop lasts cannot be told: some dispositions are unreadable.".into(),
            ),
        }
        let abrupt = named(&|p| {
            p.killed_by == Some(KilledBy::InitExit)
                && matches!(p.outcome, Outcome::Sigkill | Outcome::CutShort)
        });
        if !abrupt.is_empty() && self.signal != SIGKILL {
            lines.push(format!(
                "SIGKILLed by the kernel when PID 1 exits, finished or not: {}.",
                abrupt.join(", ")
            ));
        }
        lines
    }

    fn headline(&self, predictions: &[Prediction]) -> String {
        let top = self.top();
        let signal = self.signal;
        let others = predictions
            .iter()
            .enumerate()
            .filter(|(index, p)| {
                *index != self.init.index
                    && Some(*index) != self.init.main
                    && !matches!(p.outcome, Outcome::Zombie | Outcome::KernelThread)
                    && p.receives.is_some()
            })
            .count();
        let who = if self.init.namespace_init {
            format!("PID 1, {},", label(top))
        } else {
            format!("{}, not PID 1 of its namespace,", label(top))
        };
        if signal == SIGKILL {
            return format!(
                "{who} gets SIGKILL, which cannot be handled: it dies at once{}.",
                if self.init.namespace_init {
                    ", and the kernel SIGKILLs every other process with it"
                } else {
                    ""
                }
            );
        }
        match &self.init.kind {
            Kind::Grace {
                config,
                from_cmdline,
            } if signal != SIGSTOP => {
                let assumed = if *from_cmdline {
                    ""
                } else {
                    " (its options could not be read; defaults assumed)"
                };
                if !config.stop_on.contains(signal) {
                    return format!(
                        "{who} is grace{assumed}: {}",
                        predictions[self.init.index]
                            .verdict
                            .split_once(": ")
                            .map_or("", |(_, rest)| rest)
                    );
                }
                let mut steps = Vec::new();
                if !config.stop_delay.is_zero() {
                    steps.push(format!(
                        "waits {} (--stop-delay)",
                        seconds(config.stop_delay)
                    ));
                }
                if let Some(command) = &config.pre_stop {
                    steps.push(format!(
                        "runs the pre-stop command {:?} (for at most half of the time left)",
                        String::from_utf8_lossy(command)
                    ));
                }
                let main = match self.main() {
                    Some(m) => format!("the main process {}", label(m)),
                    None => "the main process".into(),
                };
                let stop_signal = config.stop_signal;
                let others_text = format!(
                    "{stop_signal} then SIGCONT to the {others} other {}",
                    if others == 1 { "process" } else { "processes" }
                );
                steps.push(match config.stop_order {
                    StopOrder::All => format!("sends {signal} to {main} and {others_text} at once"),
                    StopOrder::MainFirst => format!(
                        "sends {signal} to {main} first, and {others_text} once it has exited or at {}",
                        seconds(config.grace_period / 2)
                    ),
                });
                steps.push(format!(
                    "SIGKILLs any left at its {} deadline",
                    seconds(config.grace_period)
                ));
                let last = steps.pop().unwrap_or_default();
                format!(
                    "{who} is grace{assumed} and stops on {signal}: it {}, then {last}.",
                    steps.join(", then ")
                )
            }
            Kind::Forwarder { init, group } if signal != SIGSTOP => {
                let name = init.name();
                match self.main() {
                    Some(main) => format!(
                        "{who} is {name}: it forwards {signal} to {} and exits as soon as that child exits; the kernel then SIGKILLs every other process.",
                        if *group {
                            format!("the process group of its child {}", label(main))
                        } else {
                            format!("its child {} only", label(main))
                        }
                    ),
                    None => format!("{who} is {name} and has no child to forward {signal} to."),
                }
            }
            kind => {
                let reaction = react(top, signal, false);
                let shell = if *kind == Kind::Shell {
                    " is a shell, which does not forward signals to its children;"
                } else {
                    " is an application, not an init:"
                };
                let rest = match &reaction {
                    Reaction::Handles if *kind == Kind::Shell => format!(
                        "it traps {signal} (and runs the trap only once its foreground command returns)"
                    ),
                    Reaction::Handles => {
                        format!("it handles {signal}; unless it passes it on, nobody else gets it")
                    }
                    Reaction::Dies => format!("{signal} terminates it at once"),
                    Reaction::CannotAct(why) => format!("it gets {signal}, but {why}"),
                    Reaction::Unknown(why) => {
                        format!("what it does with {signal} is unknown ({why})")
                    }
                };
                let then = match (self.init.namespace_init, reaction.exits()) {
                    (true, true) => "; when it exits, the kernel SIGKILLs every other process",
                    (true, false) => {
                        ", so docker stop will wait its full timeout, then SIGKILL everything"
                    }
                    (false, _) => "",
                };
                format!("{who}{shell} {rest}{then}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::fixtures::*;
    use crate::procfs::Dispositions;
    use crate::signals::SIGTERM;

    fn signal(number: i32) -> Signal {
        Signal::new(number).unwrap()
    }

    #[test]
    fn grace_linked_as_tini_and_configured_by_environment_is_read_as_such() {
        let mut init = args(process(1, 0, "tini"), &["tini", "-g", "--", "app"]);
        init.exe = Some("/usr/bin/grace".into());
        init.init_env = vec![("GRACE_GRACE_PERIOD".into(), "3s".into())];
        match classify(&init) {
            Kind::Grace {
                config,
                from_cmdline,
            } => {
                assert!(from_cmdline);
                assert_eq!(config.forward_to, ForwardTo::Group);
                assert_eq!(config.grace_period, Duration::from_secs(3));
            }
            other => panic!("{other:?}"),
        }
    }

    /// Predicts with PID 1 (the first process) as the target.
    fn run(processes: &[Process], signal: Signal) -> Report {
        predict(processes, Some(0), signal)
    }

    /// (outcome, killed_by) per process.
    fn fates(report: &Report) -> Vec<(&'static str, Option<&'static str>)> {
        report
            .predictions
            .iter()
            .map(|p| (p.outcome.name(), p.killed_by.map(KilledBy::name)))
            .collect()
    }

    fn verdict(report: &Report, index: usize) -> &str {
        &report.predictions[index].verdict
    }

    #[test]
    fn an_application_as_pid1_with_term_at_default_ignores_it() {
        let tree = [
            process(1, 0, "app"),
            handling(process(7, 1, "worker"), &[15]),
        ];
        let report = run(&tree, SIGTERM);
        assert_eq!(report.init.as_ref().unwrap().kind, Kind::Other);
        assert_eq!(
            fates(&report),
            [
                ("sigkill", Some("runtime-timeout")),
                ("sigkill", Some("runtime-timeout"))
            ]
        );
        assert_eq!(
            verdict(&report, 0),
            "PID 1: gets SIGTERM, but as PID 1 with SIGTERM at its default action it ignores it \
             (the kernel drops it), so docker stop will wait its full timeout, then SIGKILL everything"
        );
        assert_eq!(
            verdict(&report, 1),
            "gets no signal from the runtime: only PID 1 does, and it would have to forward it; \
             SIGKILL at the runtime's timeout"
        );
        assert_eq!(report.predictions[1].receives, None);
        assert_eq!(report.stop_ends, StopEnds::RuntimeTimeout);
        assert_eq!(
            report.summary,
            [
                "PID 1, 1 (app), is an application, not an init: it gets SIGTERM, but as PID 1 with \
                 SIGTERM at its default action it ignores it (the kernel drops it), so docker stop \
                 will wait its full timeout, then SIGKILL everything.",
                "2 processes: 2 will be SIGKILLed.",
                "The stop will last the runtime's full timeout (docker stop: 10 s), then everything is SIGKILLed.",
            ]
        );
    }

    #[test]
    fn an_application_as_pid1_that_handles_term_leaves_the_rest_to_the_kernel() {
        let tree = [
            handling(process(1, 0, "app"), &[15]),
            handling(process(7, 1, "worker"), &[15]),
        ];
        let report = run(&tree, SIGTERM);
        assert_eq!(
            fates(&report),
            [
                ("graceful", Some("runtime-timeout")),
                ("sigkill", Some("init-exit"))
            ]
        );
        assert_eq!(
            verdict(&report, 1),
            "gets no signal from the runtime: only PID 1 does, and it would have to forward it; \
             it will be SIGKILLed when PID 1 exits"
        );
        assert_eq!(report.stop_ends, StopEnds::AllExit);
        assert_eq!(
            report.summary[3],
            "SIGKILLed by the kernel when PID 1 exits, finished or not: 7 (worker)."
        );
    }

    #[test]
    fn a_shell_as_pid1_forwards_nothing() {
        // dash's own handlers: SIGINT and SIGCHLD.
        let sh = handling(
            args(process(1, 0, "sh"), &["/bin/sh", "-c", "app & wait"]),
            &[2, 17],
        );
        let tree = [sh.clone(), handling(process(7, 1, "app"), &[15])];
        let report = run(&tree, SIGTERM);
        assert_eq!(report.init.as_ref().unwrap().kind, Kind::Shell);
        assert_eq!(
            fates(&report),
            [
                ("sigkill", Some("runtime-timeout")),
                ("sigkill", Some("runtime-timeout"))
            ]
        );
        assert_eq!(
            verdict(&report, 1),
            "gets no signal: a shell does not forward signals to its children; SIGKILL at the runtime's timeout"
        );
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (sh), is a shell, which does not forward signals to its children; it gets \
             SIGTERM, but as PID 1 with SIGTERM at its default action it ignores it (the kernel \
             drops it), so docker stop will wait its full timeout, then SIGKILL everything."
        );

        // With a trap it exits, and the kernel kills the rest.
        let tree = [handling(sh, &[15]), handling(process(7, 1, "app"), &[15])];
        let report = run(&tree, SIGTERM);
        assert_eq!(
            fates(&report),
            [
                ("graceful", Some("runtime-timeout")),
                ("sigkill", Some("init-exit"))
            ]
        );
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (sh), is a shell, which does not forward signals to its children; it traps \
             SIGTERM (and runs the trap only once its foreground command returns); when it exits, \
             the kernel SIGKILLs every other process."
        );
    }

    #[test]
    fn tini_forwards_to_its_child_only() {
        let report = run(&forwarder_tree(&["/sbin/tini", "--", "main"]), SIGTERM);
        assert_eq!(
            report.init.as_ref().unwrap().kind,
            Kind::Forwarder {
                init: Forwarder::Tini,
                group: false
            }
        );
        assert_eq!(report.init.as_ref().unwrap().main, Some(1));
        assert_eq!(
            fates(&report),
            [
                ("graceful", None),
                ("graceful", Some("runtime-timeout")),
                ("sigkill", Some("init-exit")),
                ("sigkill", Some("init-exit")),
            ]
        );
        assert_eq!(
            verdict(&report, 0),
            "tini as PID 1: forwards SIGTERM to its child 7 (main) only, and exits as soon as that child exits"
        );
        assert_eq!(
            verdict(&report, 1),
            "main process: gets SIGTERM from tini and handles it: it has until the runtime's \
             timeout to finish (docker stop: 10 s)"
        );
        assert_eq!(
            verdict(&report, 2),
            "gets no signal: tini forwards SIGTERM to its child 7 only; it will be SIGKILLed when \
             PID 1 exits, which tini does as soon as its child 7 (main) exits"
        );
        assert_eq!(report.predictions[1].role, Role::Main);
        assert_eq!(report.stop_ends, StopEnds::AllExit);
    }

    #[test]
    fn group_forwarding_reaches_the_group_but_not_a_setsid_daemon() {
        for init in [
            &["tini", "-g", "--", "main"][..],
            &["/usr/bin/dumb-init", "main"],
            &["catatonit", "-g", "--", "main"],
        ] {
            let report = run(&forwarder_tree(init), SIGTERM);
            let name = report.init.as_ref().unwrap().kind.name();
            assert_eq!(
                fates(&report),
                [
                    ("graceful", None),
                    ("graceful", Some("runtime-timeout")),
                    ("cut-short", Some("init-exit")),
                    ("sigkill", Some("init-exit")),
                ],
                "{init:?}"
            );
            assert_eq!(
                verdict(&report, 2),
                format!(
                    "gets SIGTERM ({name} forwards it to process group 7) and handles it, but it \
                     will be SIGKILLed when PID 1 exits, which {name} does as soon as its child 7 \
                     (main) exits: it may be cut short mid-cleanup"
                )
            );
            assert_eq!(
                verdict(&report, 3),
                format!(
                    "gets no signal: it is outside process group 7, the only one {name} forwards \
                     SIGTERM to (it called setsid); it will be SIGKILLed when PID 1 exits, which \
                     {name} does as soon as its child 7 (main) exits"
                )
            );
        }
    }

    #[test]
    fn a_forwarder_whose_child_cannot_stop_waits_for_the_runtime() {
        let mut tree = forwarder_tree(&["docker-init", "--", "main"]);
        tree[1] = ignoring(tree[1].clone(), &[15]);
        let report = run(&tree, SIGTERM);
        assert_eq!(
            fates(&report),
            [
                ("sigkill", Some("runtime-timeout")),
                ("sigkill", Some("runtime-timeout")),
                ("sigkill", Some("runtime-timeout")),
                ("sigkill", Some("runtime-timeout")),
            ]
        );
        assert_eq!(report.stop_ends, StopEnds::RuntimeTimeout);
        assert!(verdict(&report, 0).ends_with(
            "; its child cannot act on it, so docker stop will wait its full timeout, then SIGKILL everything"
        ));
    }

    #[test]
    fn recognises_inits_by_any_of_their_names() {
        let kind = |comm: &str, exe: Option<&str>, argv: &[&str]| {
            let mut p = args(process(1, 0, comm), argv);
            p.exe = exe.map(str::to_string);
            classify(&p)
        };
        let tini = |group| Kind::Forwarder {
            init: Forwarder::Tini,
            group,
        };
        let dumb = |group| Kind::Forwarder {
            init: Forwarder::DumbInit,
            group,
        };
        assert_eq!(
            kind("docker-init", None, &["/sbin/docker-init", "--", "x"]),
            tini(false)
        );
        assert_eq!(
            kind("tini-static", None, &["tini-static", "-g", "x"]),
            tini(true)
        );
        assert_eq!(
            kind("x", Some("/usr/bin/tini"), &["init", "-sg", "x"]),
            tini(true)
        );
        assert_eq!(
            kind("tini", None, &["tini", "-p", "SIGKILL", "-g", "x"]),
            tini(true)
        );
        assert_eq!(kind("tini", None, &["tini", "-eg", "--", "x"]), tini(false));
        assert_eq!(kind("tini", None, &["tini", "--", "x", "-g"]), tini(false));
        assert_eq!(kind("tini", None, &["tini", "x", "-g"]), tini(false));
        assert_eq!(kind("dumb-init", None, &["dumb-init", "x"]), dumb(true));
        assert_eq!(
            kind("dumb-init", None, &["dumb-init", "-c", "x"]),
            dumb(false)
        );
        assert_eq!(
            kind("dumb-init", None, &["dumb-init", "--single-child", "x"]),
            dumb(false)
        );
        assert_eq!(
            kind(
                "dumb-init",
                None,
                &["dumb-init", "--rewrite", "15:3", "-vc", "x"]
            ),
            dumb(false)
        );
        assert_eq!(
            kind("catatonit", None, &["catatonit", "-g", "--", "x"]),
            Kind::Forwarder {
                init: Forwarder::Catatonit,
                group: true
            }
        );
        // A busybox shell is sh only by its kernel name; a script by its
        // interpreter in argv[0].
        assert_eq!(
            kind("sh", Some("/bin/busybox"), &["sh", "-c", "x"]),
            Kind::Shell
        );
        assert_eq!(
            kind(
                "entrypoint.sh",
                Some("/usr/bin/dash"),
                &["/bin/sh", "/entrypoint.sh"]
            ),
            Kind::Shell
        );
        assert_eq!(
            kind(
                "nginx",
                Some("/usr/sbin/nginx (deleted)"),
                &["nginx: master"]
            ),
            Kind::Other
        );
        assert_eq!(
            kind("x", Some("/usr/bin/grace (deleted)"), &[]).name(),
            "grace"
        );

        match kind(
            "grace",
            None,
            &["/grace", "--grace-period", "29s", "--", "app"],
        ) {
            Kind::Grace {
                config,
                from_cmdline,
            } => {
                assert!(from_cmdline);
                assert_eq!(config.grace_period, Duration::from_secs(29));
            }
            other => panic!("{other:?}"),
        }
        match kind("grace", None, &[]) {
            Kind::Grace {
                config,
                from_cmdline,
            } => {
                assert!(!from_cmdline);
                assert_eq!(config.grace_period, cli::DEFAULT_GRACE_PERIOD);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(kind("grace", None, &["grace", "inspect", "1"]), Kind::Other);
    }

    #[test]
    fn grace_signals_everyone_and_kills_stragglers_at_its_deadline() {
        let tree = grace_tree(&["--grace-period", "3s"]);
        let report = run(&tree, SIGTERM);
        assert_eq!(
            fates(&report),
            [
                ("graceful", None),
                ("graceful", Some("grace-deadline")),
                ("graceful", Some("grace-deadline")),
                ("sigkill", Some("grace-deadline")),
                ("sigkill", Some("grace-deadline")),
                ("terminated", None),
                ("graceful", Some("grace-deadline")),
                ("zombie", None),
                ("graceful", Some("grace-deadline")),
                // Entered from outside: grace waits for it through a pidfd.
                ("graceful", Some("grace-deadline")),
            ]
        );
        let roles: Vec<&str> = report.predictions.iter().map(|p| p.role.name()).collect();
        assert_eq!(
            roles,
            [
                "init", "main", "other", "other", "other", "other", "other", "other", "other",
                "entered"
            ]
        );
        let expected = [
            "grace as PID 1, stopping on SIGTERM: signals every process, waits for them, SIGKILLs \
             any left at its 3 s deadline, then exits",
            "main process: gets SIGTERM from grace and handles it: it has until grace's 3 s deadline to finish",
            "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
            "gets SIGTERM and SIGCONT from grace, but ignores SIGTERM, so it cannot stop \
             gracefully: SIGKILL at grace's 3 s deadline",
            "gets SIGTERM and SIGCONT from grace, but blocks SIGTERM, so it cannot stop \
             gracefully: SIGKILL at grace's 3 s deadline",
            "gets SIGTERM and SIGCONT from grace; SIGTERM at its default action terminates it at \
             once, without cleanup",
            "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline to finish",
            "zombie: it has exited and waits for its parent 12 (daemon) to reap it; once its \
             parent exits, grace reaps it",
            "gets SIGTERM and SIGCONT from grace and handles it: it has until grace's 3 s deadline \
             to finish (it is stopped; grace's SIGCONT lets it act)",
            "entered from outside (docker exec): gets SIGTERM and SIGCONT from grace and handles \
             it: it has until grace's 3 s deadline to finish",
        ];
        for (index, expected) in expected.iter().enumerate() {
            assert_eq!(verdict(&report, index), *expected, "process {index}");
        }
        assert_eq!(report.stop_ends, StopEnds::GraceDeadline);
        assert_eq!(
            report.summary,
            [
                "PID 1, 1 (grace), is grace and stops on SIGTERM: it sends SIGTERM to the main \
                 process 7 (main) and SIGTERM then SIGCONT to the 7 other processes at once, then \
                 SIGKILLs any left at its 3 s deadline.",
                "10 processes: 6 can stop gracefully, 1 is terminated at once, 2 will be SIGKILLed, \
                 1 zombie.",
                "The stop will last until grace's 3 s deadline, because these processes cannot \
                 stop gracefully: 9 (ignorer) ignores SIGTERM; 10 (blocker) blocks SIGTERM.",
            ]
        );
    }

    #[test]
    fn grace_s_delay_pre_stop_and_order_are_in_the_plan() {
        let tree = grace_tree(&[
            "--stop-delay",
            "2s",
            "--pre-stop",
            "nginx -s quit",
            "--stop-order",
            "main-first",
            "--stop-signal",
            "USR2",
        ]);
        let report = run(&tree, SIGTERM);
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (grace), is grace and stops on SIGTERM: it waits 2 s (--stop-delay), then \
             runs the pre-stop command \"nginx -s quit\" (for at most half of the time left), then \
             sends SIGTERM to the main process 7 (main) first, and SIGUSR2 then SIGCONT to the 7 \
             other processes once it has exited or at 4.5 s, then SIGKILLs any left at its 9 s deadline."
        );
        // The others get the stop signal, SIGUSR2, which they leave at its
        // default action.
        assert_eq!(report.predictions[2].receives, Some(signal(12)));
        assert_eq!(
            verdict(&report, 2),
            "gets SIGUSR2 and SIGCONT from grace once the main process has exited (at 4.5 s at \
             the latest); SIGUSR2 at its default action terminates it at once, without cleanup"
        );
    }

    #[test]
    fn grace_forwards_a_signal_it_does_not_stop_on() {
        // SIGQUIT at its default action ends the main process; grace then
        // stops the others itself.
        let tree = grace_tree(&["--grace-period", "3s"]);
        let report = run(&tree, signal(3));
        assert_eq!(report.predictions[1].outcome, Outcome::Terminated);
        assert_eq!(report.predictions[2].receives, Some(SIGTERM));
        assert_eq!(
            verdict(&report, 0),
            "grace as PID 1: does not stop on SIGQUIT (--stop-on SIGINT,SIGTERM): forwards it to \
             the main process only; when the main process exits, grace stops the others with \
             SIGTERM, SIGKILLs any left at its 3 s deadline, then exits"
        );
        assert_eq!(
            verdict(&report, 2),
            "gets SIGTERM and SIGCONT from grace once the main process has exited and handles it: \
             it has until grace's 3 s deadline to finish"
        );

        // A main process that ignores it: nothing happens until the runtime
        // gives up.
        let mut tree = grace_tree(&[]);
        tree[1] = ignoring(tree[1].clone(), &[3]);
        let report = run(&tree, signal(3));
        assert_eq!(report.stop_ends, StopEnds::RuntimeTimeout);
        assert_eq!(
            verdict(&report, 2),
            "gets no signal: grace does not stop on SIGQUIT (--stop-on SIGINT,SIGTERM); SIGKILL \
             at the runtime's timeout"
        );

        // Never forwarded at all.
        let report = run(&grace_tree(&[]), signal(20));
        assert!(
            verdict(&report, 0)
                .starts_with("grace as PID 1: neither stops on nor forwards SIGTSTP"),
            "{}",
            verdict(&report, 0)
        );
        assert_eq!(report.stop_ends, StopEnds::RuntimeTimeout);
    }

    #[test]
    fn sigkill_ends_everything_at_once() {
        let report = run(&forwarder_tree(&["tini", "--", "main"]), SIGKILL);
        assert_eq!(
            fates(&report),
            [
                ("sigkill", Some("stop-signal")),
                ("sigkill", Some("init-exit")),
                ("sigkill", Some("init-exit")),
                ("sigkill", Some("init-exit")),
            ]
        );
        assert_eq!(report.stop_ends, StopEnds::Immediately);
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (tini), gets SIGKILL, which cannot be handled: it dies at once, and the \
             kernel SIGKILLs every other process with it."
        );
    }

    #[test]
    fn a_stopped_process_needs_grace_s_sigcont() {
        let mut tree = forwarder_tree(&["tini", "--", "main"]);
        tree[1].state = 'T';
        let report = run(&tree, SIGTERM);
        assert_eq!(report.predictions[1].outcome, Outcome::Sigkill);
        assert_eq!(
            verdict(&report, 1),
            "main process: gets SIGTERM from tini, but is stopped, so its handler cannot run until \
             it is continued, so SIGKILL at the runtime's timeout"
        );
        // A default action that terminates kills a stopped process too.
        tree[1].dispositions = Some(Dispositions::default());
        let report = run(&tree, SIGTERM);
        assert_eq!(report.predictions[1].outcome, Outcome::Terminated);
    }

    #[test]
    fn default_actions_follow_signal_7() {
        let target = |dispositions| {
            let mut p = process(5, 1, "app");
            p.ns_pid = 5;
            p.dispositions = dispositions;
            vec![p]
        };
        let outcome = |number, dispositions| {
            let report = run(&target(dispositions), signal(number));
            (report.predictions[0].outcome, report.stop_ends)
        };
        let none = Some(Dispositions::default());
        // Not a namespace's init: nothing SIGKILLs it afterwards.
        assert_eq!(outcome(15, none), (Outcome::Terminated, StopEnds::AllExit));
        assert_eq!(outcome(3, none), (Outcome::Terminated, StopEnds::AllExit));
        assert_eq!(outcome(37, none), (Outcome::Terminated, StopEnds::AllExit));
        assert_eq!(outcome(28, none), (Outcome::Survives, StopEnds::NotStopped));
        assert_eq!(outcome(20, none), (Outcome::Survives, StopEnds::NotStopped));
        assert_eq!(outcome(19, none), (Outcome::Survives, StopEnds::NotStopped));
        assert_eq!(outcome(15, None), (Outcome::Unknown, StopEnds::Unknown));
        let report = run(&target(none), signal(28));
        assert_eq!(
            verdict(&report, 0),
            "gets SIGWINCH, but SIGWINCH's default action is to ignore it; it is left running"
        );
    }

    #[test]
    fn zombies_name_who_should_reap_them() {
        let mut zombie = process(9, 7, "worker");
        zombie.state = 'Z';
        let tree = [
            process(1, 0, "app"),
            handling(process(7, 1, "server"), &[15]),
            zombie.clone(),
        ];
        let report = run(&tree, SIGTERM);
        assert_eq!(report.predictions[2].outcome, Outcome::Zombie);
        assert_eq!(
            verdict(&report, 2),
            "zombie: it has exited and waits for its parent 7 (server) to reap it; once its parent \
             exits it passes to 1 (app), PID 1, which may never reap it"
        );
        zombie.ppid = 1;
        let report = run(&[process(1, 0, "sh"), zombie.clone()], SIGTERM);
        assert_eq!(
            verdict(&report, 1),
            "zombie: it has exited and waits for its parent 1 (sh), PID 1, which has not reaped it \
             (a shell reaps only when it waits for its children)"
        );
        let report = run(&[args(process(1, 0, "tini"), &["tini"]), zombie], SIGTERM);
        assert_eq!(
            verdict(&report, 1),
            "zombie: it has exited; tini reaps it at once"
        );
    }

    #[test]
    fn kernel_threads_unreadable_entries_and_no_pid1() {
        let mut kthread = process(2, 0, "kthreadd");
        kthread.kernel_thread = true;
        kthread.dispositions = Some(Dispositions {
            ignored: u64::MAX,
            ..Dispositions::default()
        });
        let mut hidden = process(8, 1, "secret");
        hidden.dispositions = None;
        hidden.error = Some("cannot read /proc/8/status: Permission denied (os error 13)".into());
        let tree = [handling(process(1, 0, "app"), &[15]), kthread, hidden];
        let report = run(&tree, SIGTERM);
        assert_eq!(
            fates(&report),
            [
                ("graceful", Some("runtime-timeout")),
                ("kernel-thread", None),
                ("sigkill", Some("init-exit"))
            ]
        );
        // Signalled directly, its fate is unknown.
        let report = predict(&tree, Some(2), SIGTERM);
        assert_eq!(report.predictions[2].outcome, Outcome::Unknown);
        assert!(
            verdict(&report, 2).contains("unknown (cannot read /proc/8/status: Permission denied"),
            "{}",
            verdict(&report, 2)
        );
        let report = predict(&tree, None, SIGTERM);
        assert!(report.init.is_none());
        assert_eq!(report.stop_ends, StopEnds::Unknown);
        assert_eq!(report.predictions[1].outcome, Outcome::KernelThread);
        assert_eq!(report.predictions[2].outcome, Outcome::Unknown);
    }
}
