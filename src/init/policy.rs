//! What grace does with a signal it receives: the one place that decides.
//!
//! The supervisor obeys `decide`, and `grace inspect` asks it what a grace
//! it reads from /proc would do, so the prediction cannot drift from the
//! behaviour: every option that bears on signals (`--rewrite`,
//! `--stop-on`, `--forward-to`, the dumb-init personality's job control)
//! is weighed here and nowhere else.

use crate::base::signals::{self, SIGCHLD, Signal};
use crate::cli::{Config, ForwardTo};

/// What grace is doing when the signal arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Stopping,
}

/// What becomes of one received signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGCHLD: a child exited; reap.
    Reap,
    /// Start the stop; the main process gets `main_signal` (the received
    /// signal, unless rewritten), everyone else the stop signal.
    Stop { main_signal: Signal },
    /// A stop already runs: skip what is left of the delay and the
    /// pre-stop command, and signal everyone still running again.
    StopAgain { main_signal: Signal },
    /// Pass `signal` on to the main process, or to its process group.
    Forward { signal: Signal, to: ForwardTo },
    /// Rewritten to 0 (`--rewrite SIG:0`): dropped, as dumb-init does.
    Drop,
    /// One of the signals grace keeps for itself (the terminal stops,
    /// unless job control or a rewrite passes them on).
    Keep,
}

/// grace's answer to `signal`, and whether it then suspends itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// dumb-init's job control: after a terminal stop signal grace stops
    /// itself, so that the shell sees the whole job stopped. Never as PID
    /// 1 (the kernel would ignore it) nor during a stop.
    pub suspend: bool,
}

pub fn decide(config: &Config, phase: Phase, signal: Signal, as_pid1: bool) -> Decision {
    let terminal_stop = signals::is_terminal_stop(signal);
    let suspend = config.job_control && terminal_stop && phase == Phase::Running && !as_pid1;
    let action = if signal == SIGCHLD {
        Action::Reap
    } else {
        match config.rewrite(signal) {
            Some(None) => Action::Drop,
            rule => {
                let outgoing = rule.flatten().unwrap_or(signal);
                if config.stop_on.contains(signal) {
                    match phase {
                        Phase::Running => Action::Stop {
                            main_signal: outgoing,
                        },
                        Phase::Stopping => Action::StopAgain {
                            main_signal: outgoing,
                        },
                    }
                } else if signals::is_forwarded(signal)
                    || rule.is_some()
                    || (config.job_control && terminal_stop)
                {
                    Action::Forward {
                        signal: outgoing,
                        to: config.forward_to,
                    }
                } else {
                    Action::Keep
                }
            }
        }
    };
    Decision { action, suspend }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::{SIGHUP, SIGINT, SIGKILL, SIGSTOP, SIGTERM, SIGTSTP};
    use crate::cli::Personality;

    fn signal(number: i32) -> Signal {
        Signal::new(number).unwrap()
    }

    fn config(personality: Personality, args: &[&str]) -> Config {
        let mut words: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        words.push(b"cmd".to_vec());
        match crate::cli::parse_with(personality, words, &[]) {
            Ok(parsed) => match parsed.invocation {
                crate::cli::Invocation::Init(config) => *config,
                other => panic!("{other:?}"),
            },
            Err(error) => panic!("{error}"),
        }
    }

    fn grace(args: &[&str]) -> Config {
        config(Personality::Grace, args)
    }

    fn action(config: &Config, phase: Phase, signal: Signal) -> Action {
        decide(config, phase, signal, true).action
    }

    const CHILD: ForwardTo = ForwardTo::Child;

    /// One row per option that bears on signals: the configuration, the
    /// phase, the signal received, and what grace must do.
    #[test]
    fn every_option_that_bears_on_signals() {
        use Action::*;
        use Phase::*;
        let table: &[(Config, Phase, Signal, Action)] = &[
            // Defaults: TERM and INT stop, everything else is forwarded.
            (
                grace(&[]),
                Running,
                SIGTERM,
                Stop {
                    main_signal: SIGTERM,
                },
            ),
            (
                grace(&[]),
                Running,
                SIGINT,
                Stop {
                    main_signal: SIGINT,
                },
            ),
            (
                grace(&[]),
                Stopping,
                SIGTERM,
                StopAgain {
                    main_signal: SIGTERM,
                },
            ),
            (
                grace(&[]),
                Running,
                SIGHUP,
                Forward {
                    signal: SIGHUP,
                    to: CHILD,
                },
            ),
            (
                grace(&[]),
                Stopping,
                signal(10),
                Forward {
                    signal: signal(10),
                    to: CHILD,
                },
            ),
            (grace(&[]), Running, SIGCHLD, Reap),
            (grace(&[]), Running, SIGTSTP, Keep),
            (grace(&[]), Running, SIGKILL, Keep),
            // --stop-on replaces the list.
            (
                grace(&["--stop-on", "HUP"]),
                Running,
                SIGHUP,
                Stop {
                    main_signal: SIGHUP,
                },
            ),
            (
                grace(&["--stop-on", "HUP"]),
                Running,
                SIGTERM,
                Forward {
                    signal: SIGTERM,
                    to: CHILD,
                },
            ),
            // --stop-signal is what the others get, not what decides.
            (
                grace(&["--stop-signal", "QUIT"]),
                Running,
                SIGTERM,
                Stop {
                    main_signal: SIGTERM,
                },
            ),
            // --rewrite: the main process gets the rewritten signal; 0 drops.
            (
                grace(&["--rewrite", "TERM:QUIT"]),
                Running,
                SIGTERM,
                Stop {
                    main_signal: signal(3),
                },
            ),
            (grace(&["--rewrite", "TERM:0"]), Running, SIGTERM, Drop),
            (
                grace(&["--rewrite", "HUP:USR1"]),
                Running,
                SIGHUP,
                Forward {
                    signal: signal(10),
                    to: CHILD,
                },
            ),
            (
                grace(&["--rewrite", "TSTP:USR1"]),
                Running,
                SIGTSTP,
                Forward {
                    signal: signal(10),
                    to: CHILD,
                },
            ),
            // --forward-to group.
            (
                grace(&["--forward-to", "group"]),
                Running,
                SIGHUP,
                Forward {
                    signal: SIGHUP,
                    to: ForwardTo::Group,
                },
            ),
            // dumb-init: the group by default, -r as --rewrite, job control.
            (
                config(Personality::DumbInit, &[]),
                Running,
                SIGHUP,
                Forward {
                    signal: SIGHUP,
                    to: ForwardTo::Group,
                },
            ),
            (
                config(Personality::DumbInit, &["-r", "15:3"]),
                Running,
                SIGTERM,
                Stop {
                    main_signal: signal(3),
                },
            ),
            // dumb-init's own translation: the terminal stops become SIGSTOP.
            (
                config(Personality::DumbInit, &[]),
                Running,
                SIGTSTP,
                Forward {
                    signal: SIGSTOP,
                    to: ForwardTo::Group,
                },
            ),
            (
                config(Personality::DumbInit, &["-r", "20:0"]),
                Running,
                SIGTSTP,
                Drop,
            ),
            // tini: forwards to the child.
            (
                config(Personality::Tini, &[]),
                Running,
                SIGHUP,
                Forward {
                    signal: SIGHUP,
                    to: CHILD,
                },
            ),
            (
                config(Personality::Tini, &["-g"]),
                Running,
                SIGHUP,
                Forward {
                    signal: SIGHUP,
                    to: ForwardTo::Group,
                },
            ),
        ];
        for (index, (config, phase, signal, expected)) in table.iter().enumerate() {
            assert_eq!(
                action(config, *phase, *signal),
                *expected,
                "row {index}: {signal} while {phase:?}"
            );
        }
    }

    #[test]
    fn job_control_suspends_grace_only_while_running_and_not_as_pid1() {
        let dumb_init = config(Personality::DumbInit, &[]);
        assert!(decide(&dumb_init, Phase::Running, SIGTSTP, false).suspend);
        assert!(!decide(&dumb_init, Phase::Running, SIGTSTP, true).suspend);
        assert!(!decide(&dumb_init, Phase::Stopping, SIGTSTP, false).suspend);
        assert!(!decide(&dumb_init, Phase::Running, SIGHUP, false).suspend);
        // Dropped by a rewrite, the stop still suspends, as dumb-init does.
        let dropped = config(Personality::DumbInit, &["-r", "20:0"]);
        assert!(decide(&dropped, Phase::Running, SIGTSTP, false).suspend);
        assert!(!decide(&grace(&[]), Phase::Running, SIGTSTP, false).suspend);
    }
}
