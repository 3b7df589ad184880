//! Controlling one service while the container runs: `grace restart`,
//! `stop`, `start` and `signal` (docs/services.md), both ends.
//!
//! The way in is a UNIX datagram socket, `RUN_DIR/control`, rather than
//! s6-supervise's FIFO: the kernel attaches to each datagram who sent it
//! (SO_PASSCRED: pid and uid, which the sender cannot forge), so that PID
//! 1 logs every command with who asked and refuses other users without
//! trusting what a client says of itself; a FIFO carries no credentials.
//! Like s6's FIFO it is only a descriptor in the loop's one wait: no
//! server, no connection, no system call while nothing is sent. It is
//! grace's user's, mode 0600, in a run directory nobody else may write
//! to: another user's `sendto` fails with EACCES (root's passes, as root
//! may signal grace anyway).
//!
//! PID 1 answers nothing: a command's answer is the state it publishes
//! (`published`), which the command waits for by inotify on the run
//! directory (the state file is replaced by rename), bounded by its
//! timeout. Every command bumps the fleet's generation, so that even one
//! that changes nothing is followed by a publish.
//!
//! What a command does to the services is the fleet's decision
//! (`Fleet::commanded`): the runtime hands it in as `Report::Command`.

use crate::base::prelude::*;

use super::published::{self, Published, State};
use super::rundir::RunDir;
use crate::base::signals::Signal;
use crate::base::time::{Instant, decimal_seconds};
pub use crate::cli::ControlCommand as Command;
use crate::cli::ControlOptions;
use crate::sys::{self, Fd};
use crate::{error, notice, warn};

/// The socket's name in the run directory.
pub const SOCKET: &str = "control";

/// A command goes as one datagram: `VERB\tSERVICE`, or
/// `signal\tSERVICE\tNUMBER`.
fn encode(command: Command, service: &str) -> String {
    match command {
        Command::Start => format!("start\t{service}"),
        Command::Stop => format!("stop\t{service}"),
        Command::Restart { dependents: false } => format!("restart\t{service}"),
        Command::Restart { dependents: true } => format!("restart-all\t{service}"),
        Command::Signal(signal) => format!("signal\t{service}\t{}", signal.number()),
    }
}

fn decode(datagram: &[u8]) -> Option<(Command, &str)> {
    let text = core::str::from_utf8(datagram).ok()?;
    let mut fields = text.split('\t');
    let (verb, service) = (fields.next()?, fields.next()?);
    let command = match (verb, fields.next()) {
        ("start", None) => Command::Start,
        ("stop", None) => Command::Stop,
        ("restart", None) => Command::Restart { dependents: false },
        ("restart-all", None) => Command::Restart { dependents: true },
        ("signal", Some(number)) => Command::Signal(Signal::new(number.parse().ok()?)?),
        _ => return None,
    };
    (fields.next().is_none()).then_some((command, service))
}

/// The command as the log says it.
fn words(command: Command) -> String {
    match command {
        Command::Start => "start".into(),
        Command::Stop => "stop".into(),
        Command::Restart { dependents: false } => "restart".into(),
        Command::Restart { dependents: true } => "restart --with-dependents".into(),
        Command::Signal(signal) => format!("signal {signal}"),
    }
}

/// PID 1's end: the socket, in the loop's wait.
pub struct Control {
    socket: Fd,
    path: String,
}

impl Control {
    /// `RUN_DIR/control`, grace's user's, mode 0600: made under another
    /// name and renamed, so that at its name it never has another mode.
    pub fn open(run_dir: &RunDir) -> Result<Control, String> {
        let path = format!("{}/{SOCKET}", run_dir.path);
        let making = format!("{}/.{SOCKET}", run_dir.path);
        let socket = sys::notify_socket(&making)
            .map_err(|error| format!("cannot create {making}: {error}"))?;
        sys::give_socket(&making, None, 0o600)
            .and_then(|()| sys::rename(&making, &path))
            .map_err(|error| format!("cannot make {path}: {error}"))?;
        Ok(Control { socket, path })
    }

    pub fn fd(&self) -> i32 {
        self.socket.raw()
    }

    /// Every command waiting: each logged with who asked, and those of
    /// grace's user (or root) for a service of `names` handed to `take`
    /// with the service's index.
    pub fn receive(&self, names: &[&str], mut take: impl FnMut(usize, Command)) {
        let own = sys::effective_uid();
        let mut buffer = [0u8; 256];
        while let Ok(Some((count, sender))) = sys::receive_with_sender(&self.socket, &mut buffer) {
            let Some((command, name)) = decode(&buffer[..count]) else {
                warn!(
                    "control_refused",
                    [uid = sender.uid, pid = sender.pid],
                    "control: a malformed command from uid {} (pid {}), dropped",
                    sender.uid,
                    sender.pid
                );
                continue;
            };
            let said = words(command);
            let service = names.iter().position(|&known| known == name);
            let why = if sender.uid != own && sender.uid != 0 {
                "refused: not grace's user"
            } else if service.is_none() {
                "refused: no such service"
            } else {
                ""
            };
            notice!(
                "control",
                [
                    command = said,
                    service = name,
                    uid = sender.uid,
                    pid = sender.pid
                ],
                "control: {said} {name}, asked by uid {} (pid {}){}{why}",
                sender.uid,
                sender.pid,
                if why.is_empty() { "" } else { ": " }
            );
            if let (Some(service), "") = (service, why) {
                take(service, command);
            }
        }
    }

    /// At grace's exit: nobody is listening any more.
    pub fn close(&self) {
        let _ = sys::unlink(&self.path);
    }
}

/// Not done, with the reason.
const EXIT_FAILED: i32 = 1;

/// Runs a control command and returns its exit code. `environment` is
/// grace's own, as (name, value): GRACE_RUN_DIR applies as for `status`.
pub fn run(options: &ControlOptions, environment: &[(Vec<u8>, Vec<u8>)]) -> i32 {
    match command(options, environment) {
        Ok(()) => 0,
        Err(why) => {
            error!("control", [service = options.service], "{why}");
            EXIT_FAILED
        }
    }
}

fn command(options: &ControlOptions, environment: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
    let (path, before) = published::find_for_reader(options.run_dir.as_deref(), environment)?;
    let uids = published::trusted_users();
    if !published::publisher_runs(&before) {
        return Err(format!("{path}: the grace that wrote it no longer runs"));
    }
    let dir = path
        .rsplit_once('/')
        .map_or(".", |(dir, _)| dir)
        .to_string();
    let service = &options.service;
    if !before.services.iter().any(|(s, _)| &s.name == service) {
        return Err(format!(
            "unknown service {service}: grace runs no such service"
        ));
    }
    // Set before the command goes, so that no publish is missed.
    let watch = sys::watch_renames(&dir).map_err(|error| format!("cannot watch {dir}: {error}"))?;
    let sent = Instant::now();
    let socket = format!("{dir}/{SOCKET}");
    sys::send_datagram(&socket, encode(options.command, service).as_bytes()).map_err(|error| {
        match error.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => {
                format!("refused: only grace's user may control its services ({socket}: {error})")
            }
            _ => format!("cannot reach grace through {socket}: {error}"),
        }
    })?;
    let mut published = before;
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(result) = answered(options.command, service, &published, sent) {
            return result;
        }
        let left = options.timeout.saturating_sub(sent.elapsed());
        let mut pollfd = [libc::pollfd {
            fd: watch.raw(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if left.is_zero() || sys::poll(&mut pollfd, Some(left)).unwrap_or(0) == 0 {
            return Err(timed_out(options, service, &published));
        }
        while let Ok(Some(count)) = sys::read_some(watch.raw(), &mut buffer) {
            if count == 0 {
                break;
            }
        }
        // The same reading as the first, of that directory alone.
        if let Ok((_, now)) = published::find(Some(&dir), None, &uids) {
            published = now;
        }
    }
}

fn timed_out(options: &ControlOptions, service: &str, published: &Published) -> String {
    let state = published
        .services
        .iter()
        .find(|(s, _)| s.name == service)
        .map_or("unknown", |(s, _)| s.state.name());
    format!(
        "timed out after {} s: service {service} is {state}",
        decimal_seconds(options.timeout, 1)
    )
}

/// Whether `published` answers `command`, sent at `sent`: None, not yet.
/// A restart is done when the service runs again ready, started after
/// the command; with its dependents, when moreover every service is
/// ready, stopped or exited (its dependents were stopped before it, so
/// once it is ready none of them is the old run).
fn answered(
    command: Command,
    service: &str,
    published: &Published,
    sent: Instant,
) -> Option<Result<(), String>> {
    if published.published.as_millis() < sent.as_millis() {
        return None;
    }
    if published.stopping {
        return Some(Err(String::from("grace is stopping")));
    }
    let (status, _) = published.services.iter().find(|(s, _)| s.name == service)?;
    let anew = status.state == State::Ready && status.since.as_millis() >= sent.as_millis();
    let settled = || {
        published
            .services
            .iter()
            .all(|(s, _)| matches!(s.state, State::Ready | State::Stopped | State::Exited(_)))
    };
    let done = match command {
        Command::Signal(_) if status.state.running() => true,
        Command::Signal(_) => {
            return Some(Err(format!("service {service} is not running")));
        }
        Command::Stop => status.state == State::Stopped,
        Command::Start => status.state == State::Ready,
        Command::Restart { dependents: false } => anew,
        Command::Restart { dependents: true } => anew && settled(),
    };
    done.then_some(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::signals::SIGHUP;
    use crate::services::published::ServiceStatus;

    #[test]
    fn a_command_goes_as_one_datagram_and_nothing_else_is_read_as_one() {
        for command in [
            Command::Start,
            Command::Stop,
            Command::Restart { dependents: false },
            Command::Restart { dependents: true },
            Command::Signal(SIGHUP),
        ] {
            let datagram = encode(command, "app");
            assert_eq!(decode(datagram.as_bytes()), Some((command, "app")));
        }
        for bad in [
            &b""[..],
            b"stop",
            b"stop\tapp\tx",
            b"signal\tapp",
            b"signal\tapp\t0",
            b"reload\tapp",
            b"\xff\tapp",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    fn state(states: &[(&str, State, u64)], at: u64, stopping: bool) -> Published {
        Published {
            grace_pid: 1,
            grace_start: 0,
            published: Instant::from_millis(at),
            stopping,
            services: states
                .iter()
                .map(|&(name, state, since)| {
                    let status = ServiceStatus {
                        name: name.into(),
                        state,
                        pid: state.running().then_some(7),
                        restarts: 0,
                        since: Instant::from_millis(since),
                    };
                    (status, None)
                })
                .collect(),
        }
    }

    #[test]
    fn a_command_is_answered_by_a_state_published_after_it_that_shows_its_result() {
        let sent = Instant::from_millis(100);
        let restart = Command::Restart { dependents: false };
        let all = Command::Restart { dependents: true };
        let up = [("db", State::Ready, 100), ("app", State::Ready, 10)];
        // Published before the command: no answer, whatever it says.
        assert_eq!(
            answered(Command::Stop, "db", &state(&up, 99, false), sent),
            None
        );
        // A restart: ready again, started after the command.
        assert_eq!(
            answered(restart, "db", &state(&up, 120, false), sent),
            Some(Ok(()))
        );
        assert_eq!(
            answered(restart, "app", &state(&up, 120, false), sent),
            None
        );
        // With its dependents: once none is between states.
        let starting = [("db", State::Ready, 100), ("app", State::Starting, 110)];
        assert_eq!(
            answered(all, "db", &state(&starting, 120, false), sent),
            None
        );
        assert_eq!(
            answered(all, "db", &state(&up, 120, false), sent),
            Some(Ok(()))
        );
        // Stop and start.
        let stopped = [("db", State::Stopped, 0), ("app", State::Ready, 10)];
        assert_eq!(
            answered(Command::Stop, "db", &state(&stopped, 100, false), sent),
            Some(Ok(()))
        );
        assert_eq!(
            answered(Command::Start, "db", &state(&stopped, 100, false), sent),
            None
        );
        assert_eq!(
            answered(Command::Start, "app", &state(&stopped, 100, false), sent),
            Some(Ok(()))
        );
        // A signal: to a running service, answered by any later publish.
        let signal = Command::Signal(SIGHUP);
        assert_eq!(
            answered(signal, "app", &state(&stopped, 100, false), sent),
            Some(Ok(()))
        );
        assert!(matches!(
            answered(signal, "db", &state(&stopped, 100, false), sent),
            Some(Err(_))
        ));
        // A stop begun: the end, whatever was asked.
        assert!(matches!(
            answered(restart, "db", &state(&up, 100, true), sent),
            Some(Err(_))
        ));
    }
}
