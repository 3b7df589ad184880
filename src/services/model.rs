//! The services file, validated: what the runtime is handed. Every value
//! here has been checked (durations, signals, names, programs found), so
//! that nothing can fail on its account once services have started.

use core::fmt;
use core::net::IpAddr;
use core::time::Duration;

use crate::base::prelude::*;

use crate::base::signals::Signal;
use crate::process::reap::WaitStatus;
use crate::process::user::{Credentials, UserSpec};

/// `start_timeout` when none is given.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// `max_restarts` when none is given (within a minute).
pub const DEFAULT_MAX_RESTARTS: u32 = 10;

/// `restart_delay` when none is given: the first wait before a restart.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);

/// `restart_max_delay` when none is given: the longest wait.
pub const DEFAULT_RESTART_MAX_DELAY: Duration = Duration::from_secs(30);

/// How often an `exec` probe runs when no `interval` is given.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(200);

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    /// `grace_period`, as --grace-period (which wins when both are given).
    pub grace_period: Option<Duration>,
    /// In start order: every service comes after each service it starts
    /// `after`; services that do not depend on each other keep the file's
    /// order. The stop goes the other way.
    pub services: Vec<Service>,
}

/// One `[service.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// The argv, as written (argv[0] included). Never empty, no NUL byte.
    pub command: Vec<String>,
    /// argv[0] found as execvp(3) would find it (through PATH, or relative
    /// to `working_directory`), absolute unless grace's own working
    /// directory has no name: what to execute, so that the program run is
    /// the one that was checked, wherever it runs.
    pub executable: String,
    pub ready: Ready,
    pub stop_signal: Signal,
    /// None: what remains of the grace period.
    pub stop_timeout: Option<Duration>,
    /// `type`: a longrun runs until stopped, a oneshot until it is done.
    pub kind: Kind,
    /// Run at the stop instead of sending `stop_signal` (a longrun), or as
    /// the oneshot's undoing, in reverse order.
    pub stop_command: Option<Command>,
    pub start_timeout: Duration,
    /// The services this one starts after, as indices into
    /// `Services::services` (each one smaller than this service's own),
    /// ascending.
    pub after: Vec<usize>,
    /// The services that start after this one, the ones to wait for before
    /// it is stopped: indices into `Services::services`, ascending.
    pub dependents: Vec<usize>,
    pub restart: Restart,
    pub max_restarts: u32,
    /// `essential`, `restart_delay`, `restart_max_delay`,
    /// `success_exit_codes`.
    pub ending: Ending,
    /// As --user, resolved once when the file was read: no start reads
    /// the user database again.
    pub user: Option<User>,
    /// Added to the environment grace was given, in the file's key order.
    pub environment: Vec<(String, String)>,
    /// Where it runs, as an absolute path (a relative one was resolved from
    /// grace's working directory when the file was read); None: where grace
    /// runs.
    pub working_directory: Option<String>,
}

/// A service's `user`: as written, and who that is in the container's
/// user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub spec: UserSpec,
    pub credentials: Credentials,
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

/// When a service counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// No `ready`: once it has been spawned.
    Spawned,
    /// `{ fd = N }`: once it writes a newline to descriptor N (3 or more).
    Fd(i32),
    /// `{ exec = [...] }`: once the probe exits 0.
    Exec(Probe),
    /// `{ tcp = "HOST:PORT" }`: once a connection succeeds.
    Tcp(TcpAddress),
    /// `"notify"`: READY=1 on the NOTIFY_SOCKET grace creates.
    Notify,
}

/// A service's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Runs until it is stopped; ready as `ready` says.
    #[default]
    Longrun,
    /// Runs once: done, and ready, once it exits 0.
    Oneshot,
}

/// A command beside the service's own (`stop_command`): run with the
/// service's environment, user and directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub command: Vec<String>,
    /// As `Service::executable`.
    pub executable: String,
}

/// A readiness command, run every `interval` until it exits 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub command: Vec<String>,
    /// As `Service::executable`.
    pub executable: String,
    pub interval: Duration,
}

/// Where a `tcp` readiness check connects: an address, never a name to
/// look up (PID 1 does not wait on DNS); `localhost` is 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpAddress {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for TcpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// What happens when a service exits by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// The service is essential: its exit stops everything.
    #[default]
    No,
    /// Restarted after a non-zero exit or a signal.
    OnFailure,
    Always,
}

impl Restart {
    pub fn name(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
        }
    }
}

/// How a service's exits are judged and its restarts paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    /// false (`essential = false`, with `restart = "no"` only): its exit
    /// leaves the others running.
    pub essential: bool,
    /// The wait before the first restart in a row; it doubles with each
    /// failure in a row, up to `max_delay`.
    pub delay: Duration,
    pub max_delay: Duration,
    /// The exit codes that are a success (for `on-failure`, and for an
    /// `essential = false` service's end), one bit each (`codes`): never
    /// none.
    pub success: [u64; 4],
}

impl Default for Ending {
    fn default() -> Self {
        Ending {
            essential: true,
            delay: DEFAULT_RESTART_DELAY,
            max_delay: DEFAULT_RESTART_MAX_DELAY,
            // Exit code 0.
            success: [1, 0, 0, 0],
        }
    }
}

impl Ending {
    /// Whether a run that ended with `status` succeeded: an exit code
    /// counted as success; a signal never is.
    pub fn success(&self, status: WaitStatus) -> bool {
        matches!(status, WaitStatus::Exited(code)
            if self.success[usize::from(code / 64)] >> (code % 64) & 1 == 1)
    }

    /// `codes` as `success` holds them.
    pub fn codes(codes: impl IntoIterator<Item = u8>) -> [u64; 4] {
        let mut set = [0; 4];
        for code in codes {
            set[usize::from(code / 64)] |= 1 << (code % 64);
        }
        set
    }

    /// The wait before the restart that follows `failures` failures in a
    /// row.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX);
        self.delay.saturating_mul(factor).min(self.max_delay)
    }
}
