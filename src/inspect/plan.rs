//! The plan: applied to the tree, what the target's behaviour (`inits`)
//! means for each process: which signal it receives, whether SIGCONT
//! comes with it, and which SIGKILL ends it if it is still running (grace's
//! deadline, the kernel's when PID 1 exits, the runtime's timeout). The
//! plan also words how each process is reached, which starts its verdict,
//! and, where the init's own fate follows from the plan alone, gives it.

use crate::base::prelude::*;

use crate::base::signals::{SIGKILL, Signal};
use crate::cli::{Config, ForwardTo, StopOrder};

use super::classify::{Forwarder, Role, Stop};
use super::inits::Behaviour;
use super::judge::{KilledBy, Outcome, Prediction, react};
use super::verdict::{label, seconds, signal_list};

/// How one process is reached by the stop.
#[derive(Debug, Clone)]
pub(super) struct Reach {
    pub(super) receives: Option<Signal>,
    /// Also sent SIGCONT.
    pub(super) continued: bool,
    /// The SIGKILL it faces if it is still running.
    pub(super) backstop: Option<KilledBy>,
    /// How it gets the signal, or why it gets none; starts the verdict.
    pub(super) how: String,
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

/// The SIGKILL that backs up whatever grace sends.
const DEADLINE: Option<KilledBy> = Some(KilledBy::GraceDeadline);

/// Each process's reach, in the processes' order, and the init's own
/// prediction when the plan settles it.
pub(super) type Plan = (Vec<Reach>, Option<Prediction>);

impl Stop<'_> {
    /// Who the stop reaches, with what.
    pub(super) fn plan(&self) -> Plan {
        match self.behaviour() {
            Behaviour::Dies => self.plan_sigkill(),
            Behaviour::Alone { shell } => self.plan_plain(shell),
            Behaviour::Forwards { init, group } => self.plan_forwarder(init, group),
            Behaviour::GraceStops {
                config,
                main_signal,
            } => self.plan_grace_stop(config, main_signal),
            Behaviour::GracePasses {
                config,
                forward,
                dropped,
            } => self.plan_grace_pass(config, forward, dropped),
        }
    }

    /// The SIGKILL everyone but the init faces once the init exits (or
    /// does not).
    pub(super) fn after_init(&self, init_exits: bool) -> Option<KilledBy> {
        match (self.init.namespace_init, init_exits) {
            (true, true) => Some(KilledBy::InitExit),
            (true, false) => Some(KilledBy::RuntimeTimeout),
            (false, _) => None,
        }
    }

    /// SIGKILL as the stop signal: PID 1 dies at once, and with it, as
    /// a namespace's init, everyone.
    fn plan_sigkill(&self) -> Plan {
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
    fn plan_plain(&self, shell: bool) -> Plan {
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

    fn plan_forwarder(&self, init: Forwarder, group: bool) -> Plan {
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

    /// Whether grace reaches each process: as PID 1, everyone; as a
    /// subreaper, what is below it.
    fn in_reach(&self) -> Vec<bool> {
        if self.init.namespace_init {
            vec![true; self.processes.len()]
        } else {
            let below = self.descendants();
            self.processes
                .iter()
                .map(|p| below.contains(&p.pid))
                .collect()
        }
    }

    fn grace_as_what(&self) -> &'static str {
        if self.init.namespace_init {
            "grace as PID 1"
        } else {
            "grace as subreaper (not PID 1)"
        }
    }

    fn plan_grace_stop(&self, config: &Config, main_signal: Signal) -> Plan {
        let signal = self.signal;
        let main = self.main();
        let in_reach = self.in_reach();
        let stop_signal = config.stop_signal;
        // Not grace's children, but watched through pidfds: grace waits for
        // them like for any other.
        let entered_backstop = DEADLINE;
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
                if index == self.init.index {
                    Reach::none(None, String::new())
                } else if main.is_some_and(|m| m.pid == p.pid) {
                    Reach {
                        receives: Some(main_signal),
                        continued: true,
                        backstop: DEADLINE,
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
                        backstop: DEADLINE,
                        how: format!("gets {stop_signal} and SIGCONT from grace{when}"),
                    }
                }
            })
            .collect();
        let as_what = self.grace_as_what();
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
        (reaches, Some(prediction))
    }

    fn plan_grace_pass(
        &self,
        config: &Config,
        forward: Option<(Signal, ForwardTo)>,
        dropped: bool,
    ) -> Plan {
        let signal = self.signal;
        let main = self.main();
        let in_reach = self.in_reach();
        let stop_signal = config.stop_signal;
        // Not a stop signal for grace: at most forwarded to the main
        // process, possibly as another signal.
        let forwarded = forward.is_some();
        let outgoing = forward.map_or(signal, |(outgoing, _)| outgoing);
        let group = forward.is_some_and(|(_, to)| to == ForwardTo::Group);
        let main_exits = forwarded && main.is_some_and(|m| react(m, outgoing, false).exits());
        let stop_on = signal_list(config.stop_on);
        let reaches = (0..self.processes.len())
            .map(|index| {
                let p = &self.processes[index];
                let is_main = main.is_some_and(|m| m.pid == p.pid);
                let in_group = group && main.is_some_and(|m| m.pid == p.pgid);
                if index == self.init.index {
                    Reach::none(None, String::new())
                } else if forwarded && (is_main || in_group) {
                    Reach {
                        receives: Some(outgoing),
                        continued: false,
                        backstop: if main_exits {
                            DEADLINE
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
                        backstop: DEADLINE,
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
        let what = if dropped {
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
            verdict: format!("{}: {what}{consequence}", self.grace_as_what()),
        };
        (reaches, Some(prediction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::classify::Kind;
    use crate::inspect::fixtures::*;
    use crate::inspect::judge::StopEnds;

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
        assert_eq!(fates(&report), [("sigkill", Some("runtime-timeout")); 2]);
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
        assert_eq!(fates(&report), HANDLED_THEN_KERNEL_KILLS);
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
        assert_eq!(fates(&report), [("sigkill", Some("runtime-timeout")); 4]);
        assert_eq!(report.stop_ends, StopEnds::RuntimeTimeout);
        assert!(verdict(&report, 0).ends_with(
            "; its child cannot act on it, so docker stop will wait its full timeout, then SIGKILL everything"
        ));
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
}
