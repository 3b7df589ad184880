//! Judging: each process's outcome and the SIGKILL that ends it, if any,
//! from what the plan sends it and how it reacts (`fate`); then when the
//! whole stop ends. `predict` runs the stages in order (plan, judge, word
//! the verdicts) and gives the report that `render` prints.

use crate::base::prelude::*;

use crate::base::signals::{SIGKILL, Signal};

use super::classify::{Init, Role, Scenario};
use super::collect::Process;
use super::fate::{KilledBy, Outcome, Prediction, Reaction, StopEnds, react};
use super::plan::Delivery;
use super::schedule::Schedule;
use crate::process::sockets::Connection;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Report {
    pub(super) signal: Signal,
    pub(super) init: Option<Init>,
    /// One per process, in the same order.
    pub(super) predictions: Vec<Prediction>,
    pub(super) stop_ends: StopEnds,
    /// The whole tree's verdict, sentence by sentence.
    pub(super) summary: Vec<String>,
    /// grace's stop, as its machines carried it out (None: not grace's).
    pub(super) schedule: Option<Schedule>,
}

/// Predicts what a stop signal `signal` sent to the process `init` is does
/// to every process. `init` is None when PID 1 is not visible.
pub(super) fn predict(
    processes: &[Process],
    connections: &[Connection],
    init: Option<Init>,
    signal: Signal,
) -> Report {
    let (init, (predictions, stop_ends, summary, schedule)) = match init {
        Some(init) if init.index < processes.len() => {
            let judged = Scenario {
                processes,
                init: &init,
                signal,
                connections,
            }
            .judge_all();
            (Some(init), judged)
        }
        _ => {
            let predictions = processes
                .iter()
                .map(|p| {
                    fixed(p).unwrap_or_else(|| Prediction {
                        role: Role::Other,
                        receives: None,
                        outcome: Outcome::Unknown,
                        killed_by: None,
                        verdict:
                            "PID 1 is not visible in /proc, so what a stop does cannot be told"
                                .into(),
                    })
                })
                .collect();
            let summary = vec![
                "PID 1 is not visible in /proc (mounted with hidepid, or another namespace's): \
                 the stop cannot be predicted."
                    .into(),
            ];
            (None, (predictions, StopEnds::Unknown, summary, None))
        }
    };
    Report {
        signal,
        init,
        predictions,
        stop_ends,
        summary,
        schedule,
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

impl Scenario<'_> {
    /// Every process's prediction, when the stop ends, and the summary.
    fn judge_all(&self) -> (Vec<Prediction>, StopEnds, Vec<String>, Option<Schedule>) {
        let init = self.init;
        let ((deliveries, init_prediction), schedule) = self.plan();
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
            predictions.push(self.judge(index, role, &deliveries[index], schedule.as_ref()));
        }
        let stop_ends = self.stop_ends(&predictions);
        let summary = self.summary(&predictions, stop_ends, schedule.as_ref());
        (predictions, stop_ends, summary, schedule)
    }

    /// A process's outcome and verdict from how the stop reaches it.
    fn judge(
        &self,
        index: usize,
        role: Role,
        delivery: &Delivery,
        schedule: Option<&Schedule>,
    ) -> Prediction {
        let p = &self.processes[index];
        let reaction = delivery
            .receives
            .map(|signal| react(p, signal, delivery.continued));
        let (outcome, killed_by) = match (&reaction, delivery.backstop) {
            (Some(Reaction::Dies), _) if delivery.receives == Some(SIGKILL) => {
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
        let verdict = self.verdict(
            p,
            role,
            delivery,
            reaction.as_ref(),
            (outcome, killed_by),
            schedule,
        );
        Prediction {
            role,
            receives: delivery.receives,
            outcome,
            killed_by,
            verdict,
        }
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
        } else if predictions.iter().any(|p| {
            p.outcome == Outcome::Sigkill && matches!(p.killed_by, Some(KilledBy::StopTimeout(_)))
        }) {
            StopEnds::StopTimeout
        } else if any(Outcome::Survives, None) {
            StopEnds::NotStopped
        } else if any(Outcome::Unknown, None) {
            StopEnds::Unknown
        } else {
            StopEnds::AllExit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::classify::Kind;
    use crate::inspect::fixtures::*;
    use crate::process::procfs::Dispositions;

    #[test]
    fn an_application_as_pid1_with_term_at_default_ignores_it() {
        let tree = [
            process(1, 0, "app"),
            handling(process(7, 1, "worker"), &[15]),
        ];
        let report = run(&tree, SIGTERM);
        assert_eq!(report.init.as_ref().unwrap().kind, Kind::Other);
        assert_eq!(fates(&report), [("sigkill", Some("runtime-timeout")); 2]);
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
        assert_eq!(fates(&report), HANDLED_THEN_KERNEL_KILLS);
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
        let report = at(&tree, Some(2), SIGTERM);
        assert_eq!(report.predictions[2].outcome, Outcome::Unknown);
        assert!(
            verdict(&report, 2).contains("unknown (cannot read /proc/8/status: Permission denied"),
            "{}",
            verdict(&report, 2)
        );
        let report = at(&tree, None, SIGTERM);
        assert!(report.init.is_none());
        assert_eq!(report.stop_ends, StopEnds::Unknown);
        assert_eq!(report.predictions[1].outcome, Outcome::KernelThread);
        assert_eq!(report.predictions[2].outcome, Outcome::Unknown);
    }
}
