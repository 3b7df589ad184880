//! The verdicts in plain words: each process's (from how the plan reaches
//! it, how it reacts and its outcome), a zombie's (who reaps it), and the
//! tree's summary: what PID 1 does, how many fare how, and what the stop's
//! length depends on. Wording only: every decision is made before.

use core::fmt::Write;

use crate::base::prelude::*;

use crate::base::signals::{SIGKILL, SIGSTOP};

use super::classify::{Kind, Role, Scenario};
use super::collect::Process;
use super::fate::{KilledBy, Outcome, Prediction, Reaction, StopEnds, react};
use super::plan::Delivery;
use super::schedule::{Schedule, Start};
use super::words::{label, seconds};

impl Scenario<'_> {
    /// A process's verdict: how the stop reaches it, what it does with
    /// that, and what follows.
    pub(super) fn verdict(
        &self,
        p: &Process,
        role: Role,
        delivery: &Delivery,
        reaction: Option<&Reaction>,
        (outcome, killed_by): (Outcome, Option<KilledBy>),
        schedule: Option<&Schedule>,
    ) -> String {
        let grace_deadline = || deadline(schedule);
        let mut verdict = delivery.how.clone();
        let received = delivery.receives.unwrap_or(self.signal);
        let v = &mut verdict;
        let _ = match reaction {
            Some(Reaction::Handles) => write!(v, " and handles it"),
            Some(Reaction::Dies) if received == SIGKILL => write!(v, ", which ends it at once"),
            Some(Reaction::Dies) => write!(
                v,
                "; {received} at its default action terminates it at once, without cleanup"
            ),
            Some(Reaction::CannotAct(why)) => write!(v, ", but {why}"),
            Some(Reaction::Unknown(why)) => {
                write!(v, "; what it does with it is unknown ({why})")
            }
            None => Ok(()),
        };
        let got = reaction.is_some();
        let so = if got { ", so" } else { ";" };
        let _ = match (outcome, killed_by) {
            (Outcome::Graceful, Some(KilledBy::GraceDeadline)) => write!(
                v,
                ": it has until grace's {} deadline to finish",
                grace_deadline()
            ),
            (Outcome::Graceful, Some(KilledBy::StopTimeout(after))) => write!(
                v,
                ": it has until its {} stop timeout to finish",
                seconds(after)
            ),
            (Outcome::Sigkill, Some(KilledBy::StopTimeout(after))) => write!(
                v,
                "{} SIGKILL at its {} stop timeout",
                if got {
                    ", so it cannot stop gracefully:"
                } else {
                    ";"
                },
                seconds(after)
            ),
            (Outcome::Graceful, Some(KilledBy::RuntimeTimeout)) => write!(
                v,
                ": it has until the runtime's timeout to finish (docker stop: 10 s)"
            ),
            (Outcome::CutShort, _) => write!(
                v,
                ", but it will be SIGKILLed when PID 1 exits{}: it may be cut short mid-cleanup",
                self.when_init_exits()
            ),
            (Outcome::Sigkill, Some(KilledBy::GraceDeadline)) if got => write!(
                v,
                ", so it cannot stop gracefully: SIGKILL at grace's {} deadline",
                grace_deadline()
            ),
            (Outcome::Sigkill, Some(KilledBy::GraceDeadline)) => {
                write!(v, "; SIGKILL at grace's {} deadline", grace_deadline())
            }
            (Outcome::Sigkill, Some(KilledBy::InitExit)) => write!(
                v,
                "{so} it will be SIGKILLed when PID 1 exits{}",
                self.when_init_exits()
            ),
            (Outcome::Sigkill, Some(KilledBy::RuntimeTimeout)) if role == Role::Init => write!(
                v,
                ", so docker stop will wait its full timeout, then SIGKILL everything"
            ),
            (Outcome::Sigkill, Some(KilledBy::RuntimeTimeout)) => {
                write!(v, "{so} SIGKILL at the runtime's timeout")
            }
            (Outcome::Survives, _) => write!(v, "; it is left running"),
            _ => Ok(()),
        };
        if p.state == 'T' && delivery.continued && reaction.is_some() {
            verdict.push_str(" (it is stopped; grace's SIGCONT lets it act)");
        }
        if p.state == 'D' {
            verdict.push_str(
                "; it is in uninterruptible sleep and acts on signals only once it leaves it",
            );
        }
        verdict
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
    pub(super) fn zombie_verdict(&self, p: &Process) -> String {
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

    /// The tree's verdict: what PID 1 does, how many fare how, and what
    /// the stop's length depends on.
    pub(super) fn summary(
        &self,
        predictions: &[Prediction],
        stop_ends: StopEnds,
        schedule: Option<&Schedule>,
    ) -> Vec<String> {
        let mut lines = vec![self.headline(predictions, schedule)];
        let count = |outcome: Outcome| predictions.iter().filter(|p| p.outcome == outcome).count();
        let mut parts = Vec::new();
        for outcome in Outcome::ALL {
            let n = count(outcome);
            let (one, many) = outcome.counted();
            if n != 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
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
            let mut named = Vec::new();
            for (prediction, p) in predictions.iter().zip(self.processes) {
                if filter(prediction) {
                    named.push(label(p));
                }
            }
            named
        };
        match stop_ends {
            StopEnds::GraceDeadline => {
                let late = self.late(predictions, |k| k == KilledBy::GraceDeadline);
                lines.push(format!(
                    "The stop will last until grace's {} deadline, because {} cannot stop gracefully: {}.",
                    deadline(schedule),
                    if late.len() == 1 { "1 process" } else { "these processes" },
                    late.join("; ")
                ));
            }
            StopEnds::StopTimeout => {
                let late = self.late(predictions, |k| matches!(k, KilledBy::StopTimeout(_)));
                lines.push(format!(
                    "The stop will last until their services' stop timeouts, because {} cannot stop gracefully: {}.",
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

    /// The processes SIGKILLed by what `killed_by` accepts, each with why
    /// it cannot stop gracefully.
    fn late(&self, predictions: &[Prediction], killed_by: fn(KilledBy) -> bool) -> Vec<String> {
        let mut late = Vec::new();
        for (prediction, p) in predictions.iter().zip(self.processes) {
            if prediction.outcome != Outcome::Sigkill
                || !prediction.killed_by.is_some_and(killed_by)
            {
                continue;
            }
            let why = match prediction.receives.map(|s| react(p, s, true)) {
                Some(Reaction::CannotAct(why)) => why,
                _ => "gets no stop signal".into(),
            };
            late.push(format!("{} {why}", label(p)));
        }
        late
    }

    fn headline(&self, predictions: &[Prediction], schedule: Option<&Schedule>) -> String {
        let top = self.top();
        let signal = self.signal;
        let others = predictions
            .iter()
            .enumerate()
            .filter(|(index, p)| {
                *index != self.init.index
                    && Some(*index) != self.init.main
                    && self.init.service_of.get(*index).is_none_or(Option::is_none)
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
                services,
                ..
            } if signal != SIGSTOP => {
                let mut assumed = if *from_cmdline {
                    String::new()
                } else {
                    " (its options could not be read; defaults assumed)".into()
                };
                if let Some(Err(why)) = services {
                    let _ = write!(
                        assumed,
                        " (its services file cannot be read, so its services are left out: {why})"
                    );
                }
                let Some(schedule) = schedule.filter(|s| matches!(s.start, Start::Signal { .. }))
                else {
                    return format!(
                        "{who} is grace{assumed}: {}",
                        predictions[self.init.index]
                            .verdict
                            .split_once(": ")
                            .map_or("", |(_, rest)| rest)
                    );
                };
                // The steps before the deadline's, each written after
                // ", then " but the first.
                let mut steps = String::new();
                if !schedule.delay.is_zero() {
                    then(
                        &mut steps,
                        format_args!("waits {} (--stop-delay)", seconds(schedule.delay)),
                    );
                }
                if let (Some(bound), Some(command)) = (schedule.pre_stop, &config.pre_stop) {
                    then(
                        &mut steps,
                        format_args!(
                            "runs the pre-stop command {} (for at most {})",
                            crate::base::quoted::Quoted(&String::from_utf8_lossy(command)),
                            seconds(bound)
                        ),
                    );
                }
                let main = match self.main() {
                    Some(m) => format!("the main process {}", label(m)),
                    None => "the main process".into(),
                };
                let others_text = schedule.others.map(|others_signal| {
                    format!(
                        "{others_signal} then SIGCONT to the {others} other {}",
                        if others == 1 { "process" } else { "processes" }
                    )
                });
                let others_text = others_text.unwrap_or_else(|| "nothing to the others".into());
                if !schedule.services.is_empty() {
                    let in_turn = self.services_in_turn(schedule);
                    match schedule.main {
                        Some(main_signal) => {
                            then(&mut steps, format_args!("sends {main_signal} to {main}"));
                            then(
                                &mut steps,
                                format_args!(
                                    "once it has exited, stops the services in turn: {in_turn}"
                                ),
                            );
                        }
                        None => then(
                            &mut steps,
                            format_args!("stops the services in turn: {in_turn}"),
                        ),
                    }
                    then(&mut steps, format_args!("sends {others_text}"));
                } else if let Some(main_signal) = schedule.main {
                    if schedule.together {
                        then(
                            &mut steps,
                            format_args!("sends {main_signal} to {main} and {others_text} at once"),
                        );
                    } else {
                        let when = match (schedule.others_follow_main, schedule.others_at) {
                            _ if !schedule.ordered.is_empty() => format!(
                                "in the order their work depends on (each once those it waits for have exited), all by {}",
                                seconds(schedule.others_at.unwrap_or_default())
                            ),
                            (true, Some(at)) => format!("once it has exited or at {}", seconds(at)),
                            (true, None) => "once it has exited".into(),
                            (false, Some(at)) => format!("at {}", seconds(at)),
                            (false, None) => "later".into(),
                        };
                        then(
                            &mut steps,
                            format_args!(
                                "sends {main_signal} to {main} first, and {others_text} {when}"
                            ),
                        );
                    }
                }
                format!(
                    "{who} is grace{assumed} and stops on {signal}: it {steps}, then SIGKILLs any left at its {} deadline.",
                    seconds(schedule.deadline)
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

/// Adds `step` to the steps of a stop, after ", then " but the first.
fn then(steps: &mut String, step: core::fmt::Arguments<'_>) {
    if !steps.is_empty() {
        steps.push_str(", then ");
    }
    let _ = steps.write_fmt(step);
}

/// grace's deadline, in words.
fn deadline(schedule: Option<&Schedule>) -> String {
    schedule.map_or_else(|| "?".into(), |schedule| seconds(schedule.deadline))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::fixtures::*;

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
}
