//! The plan: applied to the tree, what the target's behaviour (`inits`)
//! means for each process, its `Delivery`: which signal it receives,
//! whether SIGCONT comes with it, and which SIGKILL ends it if it is still
//! running (grace's deadline, a service's stop timeout, the kernel's when
//! PID 1 exits, the runtime's timeout). For grace, all of that is read off
//! the `Schedule` its own machines carried out; nothing here decides it.
//! The plan also words how each process is reached, which starts its
//! verdict, and, where the init's own fate follows from the plan alone,
//! gives it.

use core::fmt::Write;

use crate::base::prelude::*;

use crate::base::signals::{SIGKILL, Signal};
use crate::cli::{Config, ForwardTo};

use super::classify::{Forwarder, Kind, Role, Scenario};
use super::fate::{KilledBy, Outcome, Prediction, react};
use super::inits::Behaviour;
use super::schedule::{Ordered, Schedule, Start, Tree};
use super::words::{label, seconds, signal_list};
use crate::init::order;

/// How one process is reached by the stop.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    pub(super) receives: Option<Signal>,
    /// Also sent SIGCONT.
    pub(super) continued: bool,
    /// The SIGKILL it faces if it is still running.
    pub(super) backstop: Option<KilledBy>,
    /// How it gets the signal, or why it gets none; starts the verdict.
    pub(super) how: String,
}

impl Delivery {
    fn none(backstop: Option<KilledBy>, how: String) -> Self {
        Delivery {
            receives: None,
            continued: false,
            backstop,
            how,
        }
    }
}

/// The SIGKILL that backs up whatever grace sends.
const DEADLINE: Option<KilledBy> = Some(KilledBy::GraceDeadline);

/// Each process's delivery, in the processes' order, and the init's own
/// prediction when the plan settles it.
pub(super) type Plan = (Vec<Delivery>, Option<Prediction>);

impl Scenario<'_> {
    /// Who the stop reaches, with what; and for grace, the stop its
    /// machines carry out.
    pub(super) fn plan(&self) -> (Plan, Option<Schedule>) {
        match self.behaviour() {
            Behaviour::Dies => (self.plan_sigkill(), None),
            Behaviour::Alone { shell } => (self.plan_plain(shell), None),
            Behaviour::Forwards { init, group } => (self.plan_forwarder(init, group), None),
            Behaviour::GraceStops {
                config,
                main_signal,
            } => {
                let schedule = self.schedule(
                    config,
                    Start::Signal {
                        signal: self.signal,
                        main_signal,
                    },
                );
                (self.plan_grace_stop(&schedule), Some(schedule))
            }
            Behaviour::GracePasses {
                config,
                forward,
                dropped,
            } => self.plan_grace_pass(config, forward, dropped),
        }
    }

    /// Each process's delivery, in the processes' order: one loop for
    /// every plan, not one per plan.
    fn each(&self, delivery: &dyn Fn(usize) -> Delivery) -> Vec<Delivery> {
        let mut deliveries = Vec::with_capacity(self.processes.len());
        for index in 0..self.processes.len() {
            deliveries.push(delivery(index));
        }
        deliveries
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
        let deliveries = self.each(&|index| {
            if index == top {
                Delivery {
                    receives: Some(SIGKILL),
                    continued: false,
                    backstop: None,
                    how: "gets SIGKILL".into(),
                }
            } else if self.init.namespace_init {
                Delivery::none(Some(KilledBy::InitExit), "gets no signal of its own".into())
            } else {
                Delivery::none(
                    None,
                    format!("gets no signal (only {} does)", label(self.top())),
                )
            }
        });
        (deliveries, None)
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
        let deliveries = self.each(&|index| {
            if index == self.init.index {
                let how = match (self.init.namespace_init, shell) {
                    (true, true) => "PID 1, a shell: gets {signal}",
                    (true, false) => "PID 1: gets {signal}",
                    (false, _) => "gets {signal}",
                };
                Delivery {
                    receives: Some(self.signal),
                    continued: false,
                    backstop: self.after_init(false),
                    how: how.replace("{signal}", &self.signal.to_string()),
                }
            } else {
                Delivery::none(after, why_not.clone())
            }
        });
        (deliveries, None)
    }

    fn plan_forwarder(&self, init: Forwarder, group: bool) -> Plan {
        let name = init.name();
        let signal = self.signal;
        let main = self.main();
        let main_exits = main.is_some_and(|m| react(m, signal, false).exits());
        let after = self.after_init(main_exits);
        let deliveries = self.each(&|index| {
                let p = &self.processes[index];
                match main {
                    _ if index == self.init.index => Delivery::none(None, String::new()),
                    Some(m) if m.pid == p.pid => Delivery {
                        receives: Some(signal),
                        continued: false,
                        backstop: self.after_init(false),
                        how: format!("main process: gets {signal} from {name}"),
                    },
                    Some(m) if group && p.pgid == m.pid => Delivery {
                        receives: Some(signal),
                        continued: false,
                        backstop: after,
                        how: format!(
                            "gets {signal} ({name} forwards it to process group {})",
                            m.pid
                        ),
                    },
                    Some(m) if group => Delivery::none(
                        after,
                        format!(
                            "gets no signal: it is outside process group {}, the only one {name} forwards {signal} to{}",
                            m.pid,
                            if p.sid == p.pid { " (it called setsid)" } else { "" }
                        ),
                    ),
                    Some(m) => Delivery::none(
                        after,
                        format!(
                            "gets no signal: {name} forwards {signal} to its child {} only",
                            m.pid
                        ),
                    ),
                    None => Delivery::none(
                        after,
                        format!("gets no signal: {name} has no child to forward {signal} to"),
                    ),
                }
            });
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
        (deliveries, Some(prediction))
    }

    /// Whether grace reaches each process: as PID 1, everyone; as a
    /// subreaper, what is below it.
    fn in_reach(&self) -> Vec<bool> {
        if self.init.namespace_init {
            vec![true; self.processes.len()]
        } else {
            self.descendants()
        }
    }

    fn grace_as_what(&self) -> &'static str {
        if self.init.namespace_init {
            "grace as PID 1"
        } else {
            "grace as subreaper (not PID 1)"
        }
    }

    /// The stop `start` begins, as the grace's own machines carry it out.
    pub(super) fn schedule(&self, config: &Config, start: Start) -> Schedule {
        let services = match &self.init.kind {
            Kind::Grace {
                services: Some(Ok(services)),
                ..
            } => Some(&**services),
            _ => None,
        };
        let mut lingering = Vec::new();
        for service in 0..services.map_or(0, |s| s.services.len()) {
            if self.service_process(service).is_some_and(|owner| {
                let group = self.processes[owner].pid;
                self.processes
                    .iter()
                    .any(|p| p.pid != group && p.pgid == group)
            }) {
                lingering.push(service);
            }
        }
        Schedule::of(config, services, start, &lingering, &self.tree())
    }

    /// What an ordered stop would list: the processes in reach but grace,
    /// zombies and kernel threads, and the connections among them.
    fn tree(&self) -> Tree {
        let in_reach = self.in_reach();
        let mut processes = Vec::new();
        for (index, p) in self.processes.iter().enumerate() {
            if in_reach[index] && index != self.init.index && p.state != 'Z' && !p.kernel_thread {
                processes.push(order::Process {
                    pid: p.pid,
                    ppid: p.ppid,
                });
            }
        }
        Tree {
            grace: self.top().pid,
            main: self.main().map(|m| m.pid),
            processes,
            connections: self.connections.to_vec(),
        }
    }

    /// When the ordered stop signals a process, in words: ` once 7 (main),
    /// its parent, has exited (at 4.5 s at the latest)`.
    fn ordered_when(&self, ordered: &Ordered) -> String {
        if ordered.after.is_empty() {
            return String::new();
        }
        let mut text = String::from(" once ");
        for (n, after) in ordered.after.iter().enumerate() {
            if n > 0 {
                text.push_str(" and ");
            }
            match self.processes.iter().find(|p| p.pid == after.pid) {
                Some(p) => text.push_str(&label(p)),
                None => {
                    let _ = write!(text, "{}", after.pid);
                }
            }
            let _ = write!(text, ", {},", after.reason.words());
        }
        text.push_str(if ordered.after.len() == 1 {
            " has exited"
        } else {
            " have exited"
        });
        if let Some(at) = ordered.at_latest {
            let _ = write!(text, " (at {} at the latest)", seconds(at));
        }
        text
    }

    /// The process of a service: grace's child in it.
    fn service_process(&self, service: usize) -> Option<usize> {
        let top = self.top().pid;
        (0..self.processes.len()).find(|&index| {
            self.init.service_of.get(index) == Some(&Some(service))
                && self.processes[index].ppid == top
        })
    }

    /// A service by its name, for verdicts.
    pub(super) fn service_name(&self, service: usize) -> String {
        match &self.init.kind {
            Kind::Grace {
                services: Some(Ok(services)),
                ..
            } => services.services[service].name.clone(),
            _ => service.to_string(),
        }
    }

    /// When the others get the stop signal, in words.
    fn others_when(&self, schedule: &Schedule) -> String {
        if !schedule.services.is_empty() {
            return " once the services have stopped".into();
        }
        match (schedule.start, schedule.together) {
            (Start::MainExit, _) => " once the main process has exited".into(),
            (_, true) => String::new(),
            _ => match (schedule.others_follow_main, schedule.others_at) {
                (true, Some(at)) => format!(
                    " once the main process has exited (at {} at the latest)",
                    seconds(at)
                ),
                (true, None) => " once the main process has exited".into(),
                (false, Some(at)) => format!(" at {}", seconds(at)),
                (false, None) => String::new(),
            },
        }
    }

    /// When a service gets its stop signal, in words.
    fn service_when(&self, schedule: &Schedule, batch: usize) -> String {
        if batch == 0 {
            return if schedule.main.is_some() || schedule.start == Start::MainExit {
                " once the main process has exited".into()
            } else {
                String::new()
            };
        }
        let before = &schedule.services[batch - 1];
        let mut text = String::from(if before.len() == 1 {
            " once service "
        } else {
            " once services "
        });
        for (n, stop) in before.iter().enumerate() {
            if n > 0 {
                text.push_str(" and ");
            }
            text.push_str(&self.service_name(stop.index));
        }
        text.push_str(if before.len() == 1 {
            " has stopped"
        } else {
            " have stopped"
        });
        text
    }

    /// How grace's stop reaches a process other than the init and the
    /// main process: as a service's, or with the others.
    fn grace_delivery(&self, index: usize, schedule: &Schedule, in_reach: bool) -> Delivery {
        let p = &self.processes[index];
        let stop = self
            .init
            .service_of
            .get(index)
            .copied()
            .flatten()
            .and_then(|service| {
                schedule
                    .services
                    .iter()
                    .enumerate()
                    .find_map(|(batch, stops)| {
                        Some((batch, *stops.iter().find(|s| s.index == service)?))
                    })
            });
        if let Some((batch, stop)) = stop {
            let backstop = Some(
                stop.kill_after
                    .map_or(KilledBy::GraceDeadline, KilledBy::StopTimeout),
            );
            let name = self.service_name(stop.index);
            let owner = self.service_process(stop.index);
            if owner == Some(index) && stop.command {
                return Delivery::none(
                    backstop,
                    format!(
                        "service {name}: gets no signal: grace runs its stop_command{}",
                        self.service_when(schedule, batch)
                    ),
                );
            }
            if owner == Some(index) {
                return Delivery {
                    receives: Some(stop.signal),
                    continued: true,
                    backstop,
                    how: format!(
                        "service {name}: gets {} and SIGCONT from grace{}",
                        stop.signal,
                        self.service_when(schedule, batch)
                    ),
                };
            }
            if let (Some(owner), Some(signal)) = (owner, stop.group_signal)
                && p.pgid == self.processes[owner].pid
            {
                // The group gets the signal only once its process has
                // exited: before the kill, if that process acts on its own.
                let owner = &self.processes[owner];
                if !react(owner, stop.signal, true).exits() {
                    return Delivery::none(
                        backstop,
                        format!(
                            "in service {name}'s process group: gets no signal, since {} does not exit on {}",
                            label(owner),
                            stop.signal
                        ),
                    );
                }
                return Delivery {
                    receives: Some(signal),
                    continued: true,
                    backstop,
                    how: format!(
                        "in service {name}'s process group: gets {signal} and SIGCONT from grace once {} has exited",
                        label(owner)
                    ),
                };
            }
        }
        if !in_reach {
            return Delivery::none(None, "gets no signal: it is not below grace".into());
        }
        let ordered = schedule.ordered(p.pid);
        let Some(signal) = ordered.map(|o| o.signal).or(schedule.others) else {
            return Delivery::none(
                DEADLINE,
                "gets no signal from grace before its deadline".into(),
            );
        };
        // After the services, or the main process's own exit, those say
        // when, unless the order adds a wait of its own.
        let when = match ordered {
            Some(ordered)
                if schedule.services.is_empty()
                    && (schedule.start != Start::MainExit || !ordered.after.is_empty()) =>
            {
                self.ordered_when(ordered)
            }
            _ => self.others_when(schedule),
        };
        let how = if self.role(index) == Role::Entered {
            // Not grace's children, but watched through pidfds: grace
            // waits for them like for any other.
            format!(
                "entered from outside (docker exec): gets {signal} and SIGCONT from grace{when}"
            )
        } else {
            format!("gets {signal} and SIGCONT from grace{when}")
        };
        Delivery {
            receives: Some(signal),
            continued: true,
            backstop: DEADLINE,
            how,
        }
    }

    fn plan_grace_stop(&self, schedule: &Schedule) -> Plan {
        let signal = self.signal;
        let main = self.main();
        let in_reach = self.in_reach();
        let deliveries = self.each(&|index| {
            let p = &self.processes[index];
            if index == self.init.index {
                Delivery::none(None, String::new())
            } else if let Some(main_signal) = schedule.main
                && main.is_some_and(|m| m.pid == p.pid)
            {
                Delivery {
                    receives: Some(main_signal),
                    continued: true,
                    backstop: DEADLINE,
                    how: format!("main process: gets {main_signal} from grace"),
                }
            } else {
                self.grace_delivery(index, schedule, in_reach[index])
            }
        });
        let as_what = self.grace_as_what();
        let prediction = Prediction {
            role: Role::Init,
            receives: Some(signal),
            outcome: Outcome::Graceful,
            killed_by: None,
            verdict: if schedule.main.is_none()
                && schedule.others.is_none()
                && schedule.services.is_empty()
            {
                format!(
                    "{as_what}, stopping on {signal}: signals nobody before its {} deadline, then SIGKILLs any left and exits",
                    seconds(schedule.deadline)
                )
            } else {
                format!(
                    "{as_what}, stopping on {signal}: signals every process{}, waits for them, SIGKILLs any left at its {} deadline, then exits",
                    if self.init.namespace_init {
                        ""
                    } else {
                        " below it"
                    },
                    seconds(schedule.deadline)
                )
            },
        };
        (deliveries, Some(prediction))
    }

    fn plan_grace_pass(
        &self,
        config: &Config,
        forward: Option<(Signal, ForwardTo)>,
        dropped: bool,
    ) -> (Plan, Option<Schedule>) {
        let signal = self.signal;
        let main = self.main();
        let in_reach = self.in_reach();
        // Not a stop signal for grace: at most forwarded to the main
        // process, possibly as another signal.
        let forwarded = forward.is_some();
        let outgoing = forward.map_or(signal, |(outgoing, _)| outgoing);
        let group = forward.is_some_and(|(_, to)| to == ForwardTo::Group);
        let main_exits = forwarded && main.is_some_and(|m| react(m, outgoing, false).exits());
        // What follows once the main process has exited.
        let schedule = main_exits.then(|| self.schedule(config, Start::MainExit));
        let stop_on = signal_list(config.stop_on);
        let why_not = if dropped {
            format!("grace drops {signal} (--rewrite {signal}:0)")
        } else {
            format!("grace does not stop on {signal} (--stop-on {stop_on})")
        };
        let deliveries = self.each(&|index| {
            let p = &self.processes[index];
            let is_main = main.is_some_and(|m| m.pid == p.pid);
            let in_group = group && main.is_some_and(|m| m.pid == p.pgid);
            if index == self.init.index {
                Delivery::none(None, String::new())
            } else if forwarded && (is_main || in_group) {
                Delivery {
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
            } else if let Some(schedule) = &schedule {
                self.grace_delivery(index, schedule, in_reach[index])
            } else if !in_reach[index] {
                Delivery::none(None, "gets no signal: it is not below grace".into())
            } else {
                Delivery::none(self.after_init(false), format!("gets no signal: {why_not}"))
            }
        });
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
        let (outcome, killed_by, consequence) = match &schedule {
            Some(schedule) => (
                Outcome::Graceful,
                None,
                format!(
                    "; when the main process exits, grace stops {}, SIGKILLs any left at its {} deadline, then exits",
                    self.the_rest(schedule),
                    seconds(schedule.deadline)
                ),
            ),
            None if self.init.namespace_init => (
                Outcome::Sigkill,
                Some(KilledBy::RuntimeTimeout),
                ", so docker stop will wait its full timeout, then SIGKILL everything".into(),
            ),
            None => (Outcome::Survives, None, "; it is left running".into()),
        };
        let prediction = Prediction {
            role: Role::Init,
            receives: Some(signal),
            outcome,
            killed_by,
            verdict: format!("{}: {what}{consequence}", self.grace_as_what()),
        };
        ((deliveries, Some(prediction)), schedule)
    }

    /// Whom the stop signals after the main process, in words: the
    /// services in their order, then the others.
    pub(super) fn the_rest(&self, schedule: &Schedule) -> String {
        let others = schedule
            .others
            .map(|signal| format!("the others with {signal}"));
        if schedule.services.is_empty() {
            return others.unwrap_or_else(|| "nobody else".into());
        }
        let mut text = format!("the services in turn: {}", self.services_in_turn(schedule));
        if let Some(others) = others {
            let _ = write!(text, ", then {others}");
        }
        text
    }

    /// `c (SIGINT, SIGKILL after 5 s), then b (SIGTERM)`.
    pub(super) fn services_in_turn(&self, schedule: &Schedule) -> String {
        // Written into one string, not joined from lists of strings.
        let mut text = String::new();
        for (n, batch) in schedule.services.iter().enumerate() {
            if n > 0 {
                text.push_str(", then ");
            }
            for (m, stop) in batch.iter().enumerate() {
                if m > 0 {
                    text.push_str(" and ");
                }
                let _ = write!(text, "{} (", self.service_name(stop.index));
                if stop.command {
                    text.push_str("stop_command");
                } else {
                    let _ = write!(text, "{}", stop.signal);
                }
                if let Some(after) = stop.kill_after {
                    let _ = write!(text, ", SIGKILL after {}", seconds(after));
                }
                text.push(')');
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::classify::Kind;
    use crate::inspect::fate::StopEnds;
    use crate::inspect::fixtures::*;

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
        let tree = grace_tree(&["--stop-order", "all", "--grace-period", "3s"]);
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
        let tree = grace_tree(&DELAY_PRE_STOP_MAIN_FIRST);
        let report = run(&tree, SIGTERM);
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (grace), is grace and stops on SIGTERM: it waits 2 s (--stop-delay), then \
             runs the pre-stop command \"nginx -s quit\" (for at most 3.5 s), then sends SIGTERM \
             to the main process 7 (main) first, and SIGUSR2 then SIGCONT to the 7 other processes \
             once it has exited or at 5.5 s, then SIGKILLs any left at its 9 s deadline."
        );
        // The others get the stop signal, SIGUSR2, which they leave at its
        // default action.
        assert_eq!(report.predictions[2].receives, Some(signal(12)));
        assert_eq!(
            verdict(&report, 2),
            "gets SIGUSR2 and SIGCONT from grace once the main process has exited (at 5.5 s at \
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

    /// What `grace inspect` says of the main process and in its headline,
    /// for a grace run with `options` sent SIGTERM.
    fn on_term(options: &[&str]) -> (Option<Signal>, String) {
        let report = run(&grace_tree(options), SIGTERM);
        (report.predictions[1].receives, report.summary[0].clone())
    }

    #[test]
    fn the_headline_names_what_the_main_process_gets_as_the_policy_decides() {
        let (receives, headline) = on_term(&["--stop-order", "all", "--rewrite", "15:3"]);
        assert_eq!(receives, Some(signal(3)));
        assert!(
            headline
                .contains("it sends SIGQUIT to the main process 7 (main) and SIGTERM then SIGCONT"),
            "{headline}"
        );
        // The default order: the main process first.
        let (_, headline) = on_term(&["--rewrite", "15:3"]);
        assert!(
            headline.contains(
                "it sends SIGQUIT to the main process 7 (main) first, and SIGTERM then SIGCONT"
            ),
            "{headline}"
        );
        let (receives, headline) = on_term(&["--rewrite", "TERM:0"]);
        assert_eq!(receives, None);
        assert_eq!(
            headline,
            "PID 1, 1 (grace), is grace: drops SIGTERM (--rewrite SIGTERM:0), so docker stop will \
             wait its full timeout, then SIGKILL everything"
        );
        // dumb-init's -r 15:3, read by grace linked as dumb-init.
        let mut tree = grace_tree(&[]);
        tree[0].args = ["dumb-init", "-r", "15:3", "main"]
            .map(String::from)
            .to_vec();
        let report = run(&tree, SIGTERM);
        assert_eq!(report.predictions[1].receives, Some(signal(3)));
        assert!(
            report.summary[0].contains("it sends SIGQUIT to the main process"),
            "{}",
            report.summary[0]
        );
    }

    #[test]
    fn a_services_stop_goes_main_then_services_in_reverse_order_then_the_sweep() {
        use crate::inspect::classify::Init;
        use crate::inspect::corpus::{CHAIN, services_tree};
        use crate::inspect::judge::predict;
        let tree = services_tree(&[]);
        let names: Vec<Option<String>> = tree
            .iter()
            .map(|p| {
                p.init_env
                    .iter()
                    .find(|(name, _)| name == b"GRACE_SERVICE")
                    .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
            })
            .collect();
        let read = |path: &str| match path {
            "/etc/grace/services.toml" => Ok(CHAIN.as_bytes().to_vec()),
            _ => no_file(path),
        };
        let init = Init::identify(&tree, 0, &names, &read);
        // The main command, not the first service, is the main process.
        assert_eq!(init.main, Some(1));
        let report = predict(&tree, &[], Some(init), SIGTERM);
        assert_eq!(
            report.summary[0],
            "PID 1, 1 (grace), is grace and stops on SIGTERM: it sends SIGTERM to the main process \
             7 (main), then once it has exited, stops the services in turn: c (SIGINT, SIGKILL \
             after 5 s), then b (SIGTERM, SIGKILL after 2 s), then a (SIGQUIT), then sends SIGTERM \
             then SIGCONT to the 1 other process, then SIGKILLs any left at its 9 s deadline."
        );
        let receives: Vec<Option<Signal>> = report.predictions.iter().map(|p| p.receives).collect();
        assert_eq!(
            receives,
            [
                Some(SIGTERM),
                Some(SIGTERM),
                Some(signal(3)),
                Some(SIGTERM),
                Some(signal(2)),
                // c ignores SIGINT: its group is SIGKILLed at its timeout
                // before anyone else in it is signalled.
                None,
                Some(SIGTERM)
            ]
        );
        assert_eq!(
            verdict(&report, 4),
            "service c: gets SIGINT and SIGCONT from grace once the main process has exited, but \
             ignores SIGINT, so it cannot stop gracefully: SIGKILL at its 5 s stop timeout"
        );
        assert_eq!(
            report.predictions[3].killed_by,
            Some(KilledBy::StopTimeout(core::time::Duration::from_secs(2)))
        );
        assert_eq!(
            verdict(&report, 2),
            "service a: gets SIGQUIT and SIGCONT from grace once service b has stopped and handles \
             it: it has until grace's 9 s deadline to finish"
        );
        // A c that exits on SIGINT leaves its worker to get SIGINT then.
        let mut tree = tree;
        tree[4] = handling(tree[4].clone(), &[2]);
        tree[4].dispositions.as_mut().unwrap().ignored = 0;
        let init = Init::identify(&tree, 0, &names, &read);
        let report = predict(&tree, &[], Some(init), SIGTERM);
        assert_eq!(report.predictions[5].receives, Some(signal(2)));
        assert_eq!(
            verdict(&report, 5),
            "in service c's process group: gets SIGINT and SIGCONT from grace once 22 (c) has \
             exited and handles it: it has until its 5 s stop timeout to finish"
        );
    }
}
