//! The model of each kind of init: what the process a stop is sent to does
//! with the signal, whatever the tree below it. For grace this is asked of
//! `policy::decide`, the very function a running grace obeys, with the
//! options read from its command line; for tini, dumb-init and catatonit,
//! shells and applications it is what they are known to do. Who in the
//! tree then receives what is `plan`'s.

use crate::base::signals::{SIGKILL, SIGSTOP, Signal};
use crate::cli::{Config, ForwardTo};
use crate::init::policy::{self, Action};

use super::classify::{Forwarder, Kind, Scenario};

/// What the target does with the signal it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour<'a> {
    /// The signal is SIGKILL: the target dies at once, and as a namespace's
    /// init takes every other process with it.
    Dies,
    /// It acts on the signal itself and passes it to nobody: an
    /// application, a shell, or any process sent SIGSTOP, which none can
    /// catch.
    Alone { shell: bool },
    /// Passes the signal on unchanged to its main child, or that child's
    /// process group, and exits as soon as that child exits.
    Forwards { init: Forwarder, group: bool },
    /// grace starts a stop: `main_signal` to the main process, its stop
    /// signal and SIGCONT to every other process it reaches, SIGKILL to
    /// those left at its deadline.
    GraceStops {
        config: &'a Config,
        main_signal: Signal,
    },
    /// grace does not stop on the signal: it forwards it to the main
    /// process (as another signal, if rewritten), drops it, or keeps it,
    /// and stops the others only once the main process has exited.
    GracePasses {
        config: &'a Config,
        /// The signal the main process gets, and to whom it goes.
        forward: Option<(Signal, ForwardTo)>,
        /// Rewritten to 0 (`--rewrite SIG:0`).
        dropped: bool,
    },
}

impl<'a> Scenario<'a> {
    /// What the target does with the stop's signal.
    pub(super) fn behaviour(&self) -> Behaviour<'a> {
        let signal = self.signal;
        if signal == SIGKILL {
            return Behaviour::Dies;
        }
        if signal == SIGSTOP {
            return Behaviour::Alone { shell: false };
        }
        match &self.init.kind {
            Kind::Grace { config, .. } => {
                // What the grace being read will do, asked of the very
                // function it obeys.
                let decision = policy::decide(
                    config,
                    policy::Phase::Running,
                    signal,
                    self.init.namespace_init,
                );
                match decision.action {
                    Action::Stop { main_signal } => Behaviour::GraceStops {
                        config,
                        main_signal,
                    },
                    action => Behaviour::GracePasses {
                        config,
                        forward: match action {
                            Action::Forward { signal, to } => Some((signal, to)),
                            _ => None,
                        },
                        dropped: action == Action::Drop,
                    },
                }
            }
            Kind::Forwarder { init, group } => Behaviour::Forwards {
                init: *init,
                group: *group,
            },
            Kind::Shell => Behaviour::Alone { shell: true },
            Kind::Other => Behaviour::Alone { shell: false },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::inspect::classify::Init;
    use crate::inspect::collect::Process;
    use crate::inspect::fixtures::*;

    /// Whether the first process of `tree`, sent `signal`, behaves as
    /// `expected` says.
    fn behaves(tree: &[Process], signal: Signal, expected: impl Fn(Behaviour) -> bool) -> bool {
        let init = Init::identify(tree, 0, &[], &no_file);
        let stop = Scenario {
            processes: tree,
            init: &init,
            signal,
            connections: &[],
        };
        expected(stop.behaviour())
    }

    #[test]
    fn grace_behaves_as_its_policy_decides() {
        let quit = signal(3);
        assert!(behaves(&grace_tree(&[]), SIGTERM, |b| matches!(
            b,
            Behaviour::GraceStops { main_signal, .. } if main_signal == SIGTERM
        )));
        assert!(behaves(
            &grace_tree(&["--rewrite", "15:3"]),
            SIGTERM,
            |b| matches!(b, Behaviour::GraceStops { main_signal, .. } if main_signal == quit)
        ));
        assert!(behaves(
            &grace_tree(&["--rewrite", "TERM:0"]),
            SIGTERM,
            |b| matches!(
                b,
                Behaviour::GracePasses {
                    forward: None,
                    dropped: true,
                    ..
                }
            )
        ));
        assert!(behaves(&grace_tree(&[]), quit, |b| matches!(
            b,
            Behaviour::GracePasses {
                forward: Some((forwarded, ForwardTo::Child)),
                dropped: false,
                ..
            } if forwarded == quit
        )));
        // Whatever the init: SIGKILL kills it, SIGSTOP it cannot catch.
        assert!(behaves(&grace_tree(&[]), SIGKILL, |b| b == Behaviour::Dies));
        assert!(behaves(&grace_tree(&[]), SIGSTOP, |b| b
            == Behaviour::Alone { shell: false }));
    }

    #[test]
    fn other_inits_behave_as_they_are_known_to() {
        assert!(behaves(
            &forwarder_tree(&["tini", "-g", "--", "main"]),
            SIGTERM,
            |b| b
                == Behaviour::Forwards {
                    init: Forwarder::Tini,
                    group: true
                }
        ));
        assert!(behaves(
            &forwarder_tree(&["sh", "-c", "main"]),
            SIGTERM,
            |b| b == Behaviour::Alone { shell: true }
        ));
        assert!(behaves(&forwarder_tree(&["app"]), SIGTERM, |b| b
            == Behaviour::Alone { shell: false }));
    }
}
