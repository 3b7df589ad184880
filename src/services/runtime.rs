//! Where the fleet's decisions meet real processes: starting a service
//! (its environment, user, directory and descriptors), reading its
//! readiness (the fd pipe, the notify socket, a TCP connect, an `exec`
//! probe), signalling and killing it, starting the main command, finding
//! what a service's exit left running (its group, or a daemon that its
//! environment names) until that is gone, and the log lines of all of it.
//! What to do and when is decided in `fleet`.
//!
//! `Running` is the glue between the two: what the runtime learns (how a
//! start went, a readiness report, what an exit left of a process group)
//! goes back to the fleet as its events, in the order it was learned. It
//! is written against `World`, so that the tests below drive it with a
//! recording one.

use core::fmt::Write as _;
use core::net::SocketAddr;

use crate::base::prelude::*;

use super::control::Control;
use super::fleet::{self, Exit, Fleet, FleetEffects, Report, ServiceNote, Verdict};
use super::model::{Kind, Ready, Service, Services};
use super::output::{Output, Stream};
use super::published::{Publisher, ServiceStatus};
use crate::base::signals::{SIGKILL, Signal, SignalSet};
use crate::base::time::Instant;
use crate::cli::Config;
use crate::init::kill;
use crate::init::scope::{self, Sent};
use crate::process::procfs;
use crate::process::reap::WaitStatus;
use crate::process::spawn::{self, Inherited, Started};
use crate::process::user::Credentials;
use crate::sys::{self, Fd};
use crate::{base::log, debug, warn};

pub use crate::cli::SERVICE_VARIABLE;

/// A service's notify socket.
struct Notify {
    socket: Fd,
    path: String,
    /// The service's process (0 until started): only it and its
    /// descendants may speak for it.
    main: i32,
    /// The last sender dropped, so that one intruder is one warning.
    dropped: i32,
}

/// What a service's readiness is being read from right now.
enum Watch {
    Nothing,
    /// The read end of its notification fd.
    Pipe(Fd),
    /// The socket NOTIFY_SOCKET names.
    Notify(Notify),
    /// A TCP connect under way.
    Connecting(Fd),
    /// An `exec` probe running as this pid.
    Probe(i32),
}

pub struct Runtime<'a> {
    services: &'a Services,
    config: &'a Config,
    environment: &'a [Vec<u8>],
    inherited: Inherited,
    /// `--user`: who the main command runs as.
    main_credentials: Option<&'a Credentials>,
    watches: Vec<Watch>,
    /// What the fleet is yet to hear, in the order it was learned.
    reports: Vec<Report>,
    /// The main command, once started.
    pub main: Option<Started>,
    /// What the services' stop sent to whom, which the stop's record
    /// takes in before the deadline reads it.
    pub sent: Sent,
    /// For probes: their output goes nowhere.
    null: Option<Fd>,
    /// The services' stdout and stderr, a line at a time, on grace's.
    output: Output,
    /// Their state, for `grace status`, and what was last published.
    publisher: Publisher,
    published: Option<(u64, bool)>,
    /// Where `grace restart` and the others reach grace (control.rs).
    control: Option<Control>,
    /// Per service: what its last exit outside the stop left running,
    /// until that is gone.
    left: Vec<Vec<procfs::Stat>>,
}

/// The descriptors grace needs at once beside its services' own: the
/// signalfd, /dev/null for probes, its stdout and stderr reopened
/// non-blocking, the state file being replaced, /proc being read (a
/// directory and a file), a process being started (its exec-error pipe,
/// its two output pipes' and its readiness pipe's write ends) and a pidfd
/// of the stop's sweep; rounded up.
const OWN_DESCRIPTORS: usize = 16;

/// How many descriptors grace holds at most while `services` run, beside
/// those open when it starts: for each service, the read ends of its
/// stdout and stderr pipes and what its readiness is read from (the `fd`
/// pipe, the notify socket, a probe's TCP connect); and `OWN_DESCRIPTORS`.
pub fn descriptors_needed(services: &Services) -> usize {
    let readiness = |ready: &Ready| match ready {
        Ready::Fd(_) | Ready::Notify | Ready::Tcp(_) => 1,
        _ => 0,
    };
    services
        .services
        .iter()
        .map(|service| 2 + readiness(&service.ready))
        .sum::<usize>()
        + OWN_DESCRIPTORS
}

impl<'a> Runtime<'a> {
    pub fn new(
        services: &'a Services,
        config: &'a Config,
        environment: &'a [Vec<u8>],
        inherited: Inherited,
        main_credentials: Option<&'a Credentials>,
        run_dir: Option<&str>,
    ) -> Self {
        let runtime_dir = crate::base::environment::lookup_entry(
            environment.iter().map(Vec::as_slice),
            "XDG_RUNTIME_DIR",
        )
        .map(|value| String::from_utf8_lossy(value).into_owned());
        let publisher = Publisher::new(run_dir, runtime_dir.as_deref());
        let control = publisher.run_dir().and_then(|dir| {
            Control::open(dir)
                .map_err(|why| {
                    warn!(
                        "control",
                        "{why}: grace restart and the others will not work"
                    )
                })
                .ok()
        });
        Runtime {
            services,
            config,
            environment,
            inherited,
            main_credentials,
            watches: services.services.iter().map(|_| Watch::Nothing).collect(),
            reports: Vec::new(),
            main: None,
            sent: Sent::default(),
            null: None,
            output: Output::new(config.log_format),
            publisher,
            published: None,
            control,
            left: services.services.iter().map(|_| Vec::new()).collect(),
        }
    }

    pub fn name(&self, service: usize) -> &str {
        &self.services.services[service].name
    }

    fn oneshot(&self, service: usize) -> bool {
        self.services.services[service].kind == Kind::Oneshot
    }

    /// The descriptors to wait on, with the events wanted.
    pub fn watched(&self, out: &mut Vec<libc::pollfd>) {
        self.output.watches(out);
        if let Some(control) = &self.control {
            out.push(libc::pollfd {
                fd: control.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        for watch in &self.watches {
            let (fd, events) = match watch {
                Watch::Pipe(fd) | Watch::Notify(Notify { socket: fd, .. }) => {
                    (fd.raw(), libc::POLLIN)
                }
                Watch::Connecting(fd) => (fd.raw(), libc::POLLOUT),
                _ => continue,
            };
            out.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
        }
    }

    /// A descriptor `ppoll` reported: whether it was one of ours. What it
    /// meant is reported to the fleet.
    pub fn on_ready(&mut self, fd: i32, revents: i16) -> bool {
        if self.output.on_ready(fd) {
            return true;
        }
        if let Some(control) = self.control.as_ref().filter(|control| control.fd() == fd) {
            let names: Vec<&str> = self
                .services
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            let reports = &mut self.reports;
            control.receive(&names, |service, command| {
                reports.push(Report::Command { service, command })
            });
            return true;
        }
        let Some(service) = self.watches.iter().position(|watch| match watch {
            Watch::Pipe(own)
            | Watch::Notify(Notify { socket: own, .. })
            | Watch::Connecting(own) => own.raw() == fd,
            _ => false,
        }) else {
            return false;
        };
        let mut buffer = [0u8; 512];
        match &self.watches[service] {
            Watch::Pipe(pipe) => match sys::read_some(pipe.raw(), &mut buffer) {
                Ok(Some(count)) if buffer[..count].contains(&b'\n') => {
                    self.reports.push(Report::Ready { service });
                }
                Ok(None) => {}
                Ok(Some(count)) if count > 0 => {}
                // Closed without a newline: it never says it, and the start
                // timeout decides.
                Ok(Some(_)) | Err(_) => {
                    debug!(
                        "ready_fd_closed",
                        [service = self.name(service)],
                        "service {} closed its readiness fd without a newline",
                        self.name(service)
                    );
                    self.watches[service] = Watch::Nothing;
                }
            },
            Watch::Notify(notify) => {
                let main = notify.main;
                let mut intruders = Vec::new();
                while let Ok(Some((count, sys::Sender { pid: sender, .. }))) =
                    sys::receive_with_sender(&notify.socket, &mut buffer)
                {
                    if !sent_by_service(sender, main) {
                        intruders.push(sender);
                    } else if says_ready(&buffer[..count]) {
                        self.reports.push(Report::Ready { service });
                        break;
                    }
                }
                for sender in intruders {
                    self.dropped_notification(service, sender);
                }
            }
            Watch::Connecting(socket) => {
                let ok = revents & libc::POLLOUT != 0 && sys::connect_result(socket).is_ok();
                self.watches[service] = Watch::Nothing;
                self.reports.push(Report::Probe { service, ok });
            }
            _ => {}
        }
        true
    }

    fn environment_of(&self, service: &Service, extra: &[(&str, &str)]) -> Vec<Vec<u8>> {
        service_environment(self.environment, service, extra)
    }

    /// The notify socket of `service`, RUN_DIR/notify/NAME: made in a
    /// directory only grace's user may write to, and given to the user
    /// the service runs as, mode 0600, so that it and nobody else (root
    /// aside) may send to it.
    #[inline(never)]
    fn notify_socket(&self, service: &Service) -> Result<Notify, String> {
        let run_dir = self.publisher.run_dir().ok_or(
            "there is no run directory to make its socket in (the run_dir warning says why)",
        )?;
        let directory = run_dir
            .subdirectory("notify")
            .map_err(|why| format!("cannot use {}/notify for its socket: {why}", run_dir.path))?;
        let path = format!("{directory}/{}", service.name);
        // Made under another name and renamed once it is the service's:
        // at its name, it never has another owner or mode.
        let making = format!("{directory}/.{}", service.name);
        let socket = sys::notify_socket(&making)
            .map_err(|error| format!("cannot create {making}: {error}"))?;
        let owner = service
            .user
            .as_ref()
            .map(|user| (user.credentials.uid, user.credentials.gid));
        sys::give_socket(&making, owner, 0o600)
            .and_then(|()| sys::rename(&making, &path))
            .map_err(|error| format!("cannot give {path} to the service's user: {error}"))?;
        Ok(Notify {
            socket,
            path,
            main: 0,
            dropped: 0,
        })
    }

    /// A notification from a process that is not `service`'s: dropped,
    /// said once per intruder.
    #[inline(never)]
    fn dropped_notification(&mut self, service: usize, sender: i32) {
        let Watch::Notify(notify) = &mut self.watches[service] else {
            return;
        };
        if notify.dropped == sender {
            return;
        }
        notify.dropped = sender;
        let name = self.name(service);
        let from = match sender {
            0 => String::from("a process outside grace's PID namespace"),
            pid => format!("pid {pid}, which is not one of its processes"),
        };
        warn!(
            "notify_dropped",
            [service = name, pid = sender],
            "service {name}: dropped a notification from {from}"
        );
    }

    /// Starts `program` for `service` with `args`: the service itself, or
    /// its probe.
    fn launch(
        &self,
        service: &Service,
        program: &str,
        args: &[String],
        environment: &[Vec<u8>],
        descriptors: &[(i32, i32)],
    ) -> Result<i32, WaitStatus> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let options = spawn::Options {
            credentials: service.user.as_ref().map(|user| &user.credentials),
            no_new_privs: self.config.no_new_privs,
            descriptors,
            directory: service.working_directory.as_deref(),
            own_environment: true,
            ..Default::default()
        };
        match spawn::start(
            program.as_bytes(),
            &args,
            environment,
            self.inherited,
            options,
        ) {
            Ok(started) => Ok(started.pid),
            Err(error) => {
                failed(service, &error);
                Err(WaitStatus::Exited(error.exit_code() as u8))
            }
        }
    }

    fn null(&mut self) -> Option<i32> {
        if self.null.is_none() {
            self.null = sys::open_null().ok();
        }
        self.null.as_ref().map(Fd::raw)
    }

    /// At grace's exit: the notify sockets go, the ready file too, and the
    /// services' last lines out.
    pub fn finish(&mut self) {
        for service in 0..self.watches.len() {
            self.forget_readiness(service);
        }
        if let Some(control) = &self.control {
            control.close();
        }
        self.publisher.finish();
        self.output.finish(log::LAST_LINES);
    }
}

/// Whether the process `sender` (as the kernel vouched for it) is the
/// service whose process is `main`, or one of its descendants, as
/// systemd's NotifyAccess=all has it: by its parents, or by the process
/// group grace started the service in, which a daemon that forked away
/// from its parent keeps (only a process of the same session can join
/// it).
fn sent_by_service(sender: i32, main: i32) -> bool {
    if sender <= 0 || main <= 0 {
        return false;
    }
    let mut pid = sender;
    // A chain of parents is short; the bound only guards against a loop
    // from pid reuse during the walk.
    for _ in 0..64 {
        if pid == main {
            return true;
        }
        match procfs::read_stat(pid) {
            Ok(stat) if stat.pgrp == main => return true,
            Ok(stat) if stat.ppid > 1 => pid = stat.ppid,
            _ => return false,
        }
    }
    false
}

/// The environment a service (and its probe) gets: `inherited` (grace's
/// own), then the service's own variables on top, then GRACE_SERVICE and
/// `extra`, the variables grace sets; each name once, where it was last
/// set.
fn service_environment(
    inherited: &[Vec<u8>],
    service: &Service,
    extra: &[(&str, &str)],
) -> Vec<Vec<u8>> {
    let mut names: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut set = |name: &[u8], value: &[u8]| {
        names.retain(|(n, _)| n != name);
        names.push((name.to_vec(), value.to_vec()));
    };
    for entry in inherited {
        let Some(at) = entry.iter().skip(1).position(|&b| b == b'=') else {
            continue;
        };
        set(&entry[..at + 1], &entry[at + 2..]);
    }
    for (name, value) in &service.environment {
        set(name.as_bytes(), value.as_bytes());
    }
    set(SERVICE_VARIABLE.as_bytes(), service.name.as_bytes());
    for (name, value) in extra {
        set(name.as_bytes(), value.as_bytes());
    }
    names
        .into_iter()
        .map(|(mut name, value)| {
            name.push(b'=');
            name.extend_from_slice(&value);
            name
        })
        .collect()
}

/// Whether one sd_notify(3) datagram says the service is ready: its
/// newline-separated assignments hold `READY=1` exactly.
pub fn says_ready(datagram: &[u8]) -> bool {
    datagram
        .split(|&b| b == b'\n')
        .any(|line| line == b"READY=1")
}

/// Why a service (or its probe) could not be started.
fn failed(service: &Service, why: &dyn core::fmt::Display) {
    log::write_named(
        log::Level::Error,
        "service_failed,service",
        &[&service.name],
        format_args!("service {}: {why}", service.name),
    );
}

impl Runtime<'_> {
    /// Starts service `index`: its pid, or the status its failed start
    /// counts as.
    #[inline(never)]
    fn spawn(&mut self, index: usize) -> Result<i32, WaitStatus> {
        let service = &self.services.services[index];
        let mut descriptors = Vec::new();
        let mut extra: Vec<(&str, &str)> = Vec::new();
        let mut keep_until_started = Vec::new();
        self.output_pipes(service, &mut descriptors, &mut keep_until_started);
        let notify_path;
        match &service.ready {
            Ready::Fd(number) => match sys::pipe() {
                Ok((read, write)) => {
                    descriptors.push((write.raw(), *number));
                    keep_until_started.push(write);
                    self.watches[index] = Watch::Pipe(read);
                }
                Err(error) => warn!(
                    "ready_fd",
                    [service = service.name],
                    "service {}: cannot make its readiness pipe: {error}",
                    service.name
                ),
            },
            // Readiness that could never come fails now, not at the
            // start_timeout.
            Ready::Notify => match self.notify_socket(service) {
                Ok(notify) => {
                    notify_path = notify.path.clone();
                    extra.push(("NOTIFY_SOCKET", &notify_path));
                    self.watches[index] = Watch::Notify(notify);
                }
                Err(why) => {
                    failed(service, &format_args!("ready = \"notify\": {why}"));
                    return Err(WaitStatus::Exited(126));
                }
            },
            _ => {}
        }
        let environment = self.environment_of(service, &extra);
        let result = self.launch(
            service,
            &service.executable,
            &service.command[1..],
            &environment,
            &descriptors,
        );
        drop(keep_until_started);
        match (&result, &mut self.watches[index]) {
            (Ok(pid), Watch::Notify(notify)) => notify.main = *pid,
            (Err(_), _) => self.forget_readiness(index),
            _ => {}
        }
        result
    }

    /// The write ends of `service`'s stdout and stderr pipes, as its
    /// descriptors 1 and 2, kept open in `keep` until it has started.
    fn output_pipes(
        &mut self,
        service: &Service,
        descriptors: &mut Vec<(i32, i32)>,
        keep: &mut Vec<Fd>,
    ) {
        for (stream, number) in [(Stream::Stdout, 1), (Stream::Stderr, 2)] {
            match self.output.pipe_for(&service.name, stream) {
                Ok(write) => {
                    descriptors.push((write.raw(), number));
                    keep.push(write);
                }
                // It writes where grace does, unprefixed: better than not
                // at all.
                Err(error) => warn!(
                    "output",
                    [service = service.name],
                    "service {}: cannot make its output pipe: {error}",
                    service.name
                ),
            }
        }
    }

    /// Starts service `index`'s `stop_command`, its output as the
    /// service's: its pid.
    fn start_stop_command(&mut self, index: usize) -> Option<i32> {
        let service = &self.services.services[index];
        let command = service.stop_command.as_ref()?;
        let (mut descriptors, mut keep) = (Vec::new(), Vec::new());
        self.output_pipes(service, &mut descriptors, &mut keep);
        let environment = self.environment_of(service, &[]);
        let args = &command.command[1..];
        self.launch(
            service,
            &command.executable,
            args,
            &environment,
            &descriptors,
        )
        .ok()
    }

    /// Starts service `index`'s readiness check: whether it could.
    fn start_probe(&mut self, index: usize) -> bool {
        let service = &self.services.services[index];
        match &service.ready {
            Ready::Exec(probe) => {
                let Some(null) = self.null() else {
                    return false;
                };
                let environment = self.environment_of(service, &[]);
                let service = &self.services.services[index];
                match self.launch(
                    service,
                    &probe.executable,
                    &probe.command[1..],
                    &environment,
                    &[(null, 1), (null, 2)],
                ) {
                    Ok(pid) => {
                        self.watches[index] = Watch::Probe(pid);
                        true
                    }
                    Err(_) => false,
                }
            }
            Ready::Tcp(address) => {
                let report = |ok| Report::Probe { service: index, ok };
                match sys::connect(SocketAddr::new(address.ip, address.port)) {
                    Ok(sys::Connect::Done) => self.reports.push(report(true)),
                    Ok(sys::Connect::Pending(socket)) => {
                        self.watches[index] = Watch::Connecting(socket)
                    }
                    Ok(sys::Connect::Failed) | Err(_) => self.reports.push(report(false)),
                }
                true
            }
            _ => false,
        }
    }
}

impl FleetEffects for Runtime<'_> {
    fn start(&mut self, service: usize) {
        let report = match self.spawn(service) {
            Ok(pid) => Report::Started { service, pid },
            Err(status) => Report::StartFailed { service, status },
        };
        self.reports.push(report);
    }

    fn probe(&mut self, service: usize) {
        if !self.start_probe(service) {
            self.reports.push(Report::Probe { service, ok: false });
        }
    }

    fn stop_command(&mut self, service: usize) {
        let report = match self.start_stop_command(service) {
            Some(pid) => Report::CommandStarted { service, pid },
            None => Report::CommandFailed { service },
        };
        self.reports.push(report);
    }

    fn forget_readiness(&mut self, service: usize) {
        match core::mem::replace(&mut self.watches[service], Watch::Nothing) {
            Watch::Notify(notify) => {
                let _ = sys::unlink(&notify.path);
            }
            // A probe that hangs must not outlive its purpose.
            Watch::Probe(pid) => {
                let _ = sys::kill(-pid, SIGKILL.number());
            }
            _ => {}
        }
    }

    fn signal(&mut self, _service: usize, pid: i32, signal: Signal) {
        if let Some(to) = scope::send(pid, signal) {
            self.sent.record(to, signal);
        }
    }

    fn deliver(&mut self, _service: usize, pid: i32, signal: Signal) {
        let _ = sys::kill(pid, signal.number());
    }

    fn kill(&mut self, index: usize, group: i32) {
        let service = &self.services.services[index];
        let whom = kill::Whom::Group(group);
        let snapshot =
            kill::Snapshot::take(whom, SignalSet::EMPTY.with(service.stop_signal), false);
        kill::kill(whom);
        let why = kill::Why::StopTimeout {
            service: &service.name,
        };
        kill::name(&snapshot, why, service.stop_signal, None, &self.sent);
    }

    fn start_main(&mut self) {
        let report = match spawn::start_main(
            self.config,
            self.environment,
            self.inherited,
            self.main_credentials,
        ) {
            Ok(started) => {
                self.main = Some(started);
                Report::MainStarted
            }
            Err(code) => Report::MainFailed {
                status: WaitStatus::Exited(code as u8),
            },
        };
        self.reports.push(report);
    }

    fn note(&mut self, note: ServiceNote) {
        use log::Level::{Error, Info, Notice, Warn};
        let name = |service: usize| self.services.services[service].name.as_str();
        let done_or_ready = |service: usize| {
            if self.oneshot(service) {
                "done"
            } else {
                "ready"
            }
        };
        match note {
            ServiceNote::Started { service, pid } => {
                let name = name(service);
                log::write_named(
                    Info,
                    "service_started,service,pid",
                    &[&name, &pid],
                    format_args!("service {name} started as {pid}"),
                )
            }
            ServiceNote::Ready { service } => {
                let name = name(service);
                log::write_named(
                    Info,
                    "service_ready,service",
                    &[&name],
                    format_args!("service {name} is {}", done_or_ready(service)),
                )
            }
            ServiceNote::AllReady => log::write_named(
                Info,
                "services_ready",
                &[],
                format_args!("every service is ready"),
            ),
            ServiceNote::Exited {
                service,
                pid,
                status,
            } => {
                let name = name(service);
                let (code, signal) = status.log_fields();
                log::write_named(
                    Notice,
                    "service_exited,service,pid,exit_code,signal",
                    &[&name, &pid, &code, &signal],
                    format_args!("service {name} ({pid}) {}", status.describe()),
                )
            }
            ServiceNote::Restarting {
                service,
                after,
                restarts,
            } => {
                let name = name(service);
                let after = after.as_millis() as u64;
                log::write_named(
                    Notice,
                    "service_restart,service,after_ms,restarts",
                    &[&name, &after, &restarts],
                    format_args!(
                        "service {name} restarts in {after} ms (restart {})",
                        restarts + 1
                    ),
                )
            }
            ServiceNote::Ended { service } => {
                let name = name(service);
                log::write_named(
                    Notice,
                    "service_finished,service",
                    &[&name],
                    format_args!("service {name} is not restarted, and the others keep running"),
                )
            }
            ServiceNote::LeftBehind { service, restarts } => {
                let name = name(service);
                let mut pids = Vec::new();
                let mut named = String::new();
                for process in &self.left[service] {
                    pids.push(process.pid);
                    let _ = write!(named, "{} ({}) ", process.pid, process.comm);
                }
                log::write_named(
                    Warn,
                    "service_left,service,pids,restart_waits",
                    &[&name, &pids, &restarts],
                    format_args!(
                        "service {name} exited but left {named}running: it put itself in the \
                         background; run it in the foreground (nginx: daemon off;, most daemons: \
                         a flag such as -f, -D or --foreground){}",
                        if restarts {
                            "; it restarts once they are gone"
                        } else {
                            ""
                        }
                    ),
                )
            }
            ServiceNote::Essential { service, status } => {
                let name = name(service);
                log::write_named(
                    Warn,
                    "service_essential,service",
                    &[&name],
                    format_args!(
                        "service {name} {}: {}, so everything stops",
                        status.describe(),
                        if self.oneshot(service) {
                            "a oneshot must exit 0"
                        } else {
                            "it is not restarted (restart = \"no\")"
                        }
                    ),
                )
            }
            ServiceNote::GaveUp { service, restarts } => {
                let name = name(service);
                log::write_named(
                    Warn,
                    "service_gave_up,service,restarts",
                    &[&name, &restarts],
                    format_args!(
                        "service {name} failed again after {restarts} restarts within {} s \
                         (max_restarts): everything stops",
                        fleet::RESTART_WINDOW.as_secs()
                    ),
                )
            }
            ServiceNote::NotReady { service, waited } => {
                let name = name(service);
                log::write_named(
                    Error,
                    "service_not_ready,service",
                    &[&name],
                    format_args!(
                        "service {name} is not {} after {} ms (start_timeout): everything stops",
                        done_or_ready(service),
                        waited.as_millis() as u64
                    ),
                )
            }
            ServiceNote::Stopping {
                service,
                pid,
                signal,
            } => {
                let name = name(service);
                log::write_named(
                    Info,
                    "service_stop,service,pid,signal",
                    &[&name, &pid, &signal],
                    format_args!("stop: sent {signal} to service {name} ({pid})"),
                )
            }
            ServiceNote::StopCommand { service, pid } => {
                let name = name(service);
                log::write_named(
                    Info,
                    "service_stop_command,service,pid",
                    &[&name, &pid],
                    format_args!("stop: ran stop_command of service {name} as {pid}"),
                )
            }
            ServiceNote::CommandExited {
                service,
                pid,
                status,
            } => {
                let name = name(service);
                let (code, signal) = status.log_fields();
                // Its failure is worth seeing: the service may not have
                // been told to stop.
                let level = if status == WaitStatus::Exited(0) {
                    Info
                } else {
                    Warn
                };
                // Written whatever the threshold, as it always was.
                log::write_always(
                    level,
                    "stop_command_exited,service,pid,exit_code,signal",
                    &[&name, &pid, &code, &signal],
                    format_args!(
                        "stop: stop_command of service {name} ({pid}) {}",
                        status.describe()
                    ),
                )
            }
            ServiceNote::MainFailed { .. } => {}
        }
    }
}

/// What the glue needs of the world beside the fleet's effects: what it
/// has learned for the fleet, and what an exit left.
pub trait World: FleetEffects {
    /// The reports the fleet has not heard yet, oldest first.
    fn take_reports(&mut self) -> Vec<Report>;
    /// Whether `pid` was a readiness probe; its answer is then a report.
    fn probe_exited(&mut self, pid: i32, status: WaitStatus) -> bool;
    /// Whether any process is left in process group `group`.
    fn group_left(&self, group: i32) -> bool;
    /// Whether the exit of `service`'s process, which led `group`, left
    /// any of its processes: in the group, or with `wide` (outside the
    /// stop) anywhere its environment names the service.
    fn left_behind(&mut self, _service: usize, group: i32, _wide: bool) -> bool {
        self.group_left(group)
    }
    /// Whether what `left_behind` found still runs.
    fn still_left(&mut self, _service: usize, group: i32) -> bool {
        self.group_left(group)
    }
}

impl World for Runtime<'_> {
    fn take_reports(&mut self) -> Vec<Report> {
        core::mem::take(&mut self.reports)
    }

    fn probe_exited(&mut self, pid: i32, status: WaitStatus) -> bool {
        let Some(service) = self
            .watches
            .iter()
            .position(|watch| matches!(watch, Watch::Probe(own) if *own == pid))
        else {
            return false;
        };
        self.watches[service] = Watch::Nothing;
        let ok = status == WaitStatus::Exited(0);
        self.reports.push(Report::Probe { service, ok });
        true
    }

    fn group_left(&self, group: i32) -> bool {
        sys::kill(-group, 0).is_ok()
    }

    fn left_behind(&mut self, service: usize, group: i32, wide: bool) -> bool {
        self.left[service].clear();
        if !wide {
            return self.group_left(group);
        }
        let name = &self.services.services[service].name;
        // Its probe has the service's environment too, and is no leftover.
        let probe = match self.watches[service] {
            Watch::Probe(pid) => pid,
            _ => 0,
        };
        let own = sys::getpid();
        let Ok(mut members) = scope::members(scope::Scope::for_pid(own), own, None) else {
            return self.group_left(group);
        };
        members.retain(|stat| {
            stat.state != 'Z'
                && stat.pgrp != probe
                && (stat.pgrp == group
                    || procfs::read_service(stat.pid).as_deref() == Some(name.as_str()))
        });
        let found = !members.is_empty();
        self.left[service] = members;
        found
    }

    fn still_left(&mut self, service: usize, group: i32) -> bool {
        let left = &mut self.left[service];
        if left.is_empty() {
            return self.group_left(group);
        }
        // A pid is the same process only with the same start time.
        left.retain(|left| {
            procfs::read_stat(left.pid)
                .is_ok_and(|now| now.start_time == left.start_time && now.state != 'Z')
        });
        !left.is_empty()
    }
}

/// The fleet and the world it acts on.
pub struct Driver<W> {
    pub fleet: Fleet,
    pub runtime: W,
}

/// The services as the supervisor holds them.
pub type Running<'a> = Driver<Runtime<'a>>;

impl<W: World> Driver<W> {
    /// Hands what the world learned to the fleet, oldest first, until
    /// nothing is left; each event's verdict goes to `verdicts`.
    pub fn settle(&mut self, now: Instant, verdicts: &mut Vec<Verdict>) {
        // What the fleet's answers to one batch bring is the next batch:
        // oldest first, as one queue would have it.
        loop {
            let reports = self.runtime.take_reports();
            if reports.is_empty() {
                return;
            }
            for report in reports {
                verdicts.push(self.fleet.on_report(now, report, &mut self.runtime));
            }
        }
    }

    /// A reaped process: None if it was neither a service's nor a probe's.
    #[inline(never)]
    pub fn on_exit(&mut self, now: Instant, pid: i32, status: WaitStatus) -> Option<Verdict> {
        if self.runtime.probe_exited(pid, status) {
            return Some(Verdict::Nothing);
        }
        // A service's process leads its group: what remains of it is
        // looked at now, once.
        let wide = !self.fleet.is_stopping();
        let group_left = self
            .fleet
            .service_of(pid)
            .is_some_and(|service| self.runtime.left_behind(service, pid, wide));
        let exit = Exit {
            pid,
            status,
            group_left,
        };
        self.fleet.on_exit(now, exit, &mut self.runtime)
    }

    /// After a reaping pass: a service whose process was gone before its
    /// group is gone once the group is.
    pub fn after_reap(&mut self, now: Instant) -> Verdict {
        let emptied: Vec<usize> = self
            .fleet
            .lingering()
            .filter(|&(service, group)| !self.runtime.still_left(service, group))
            .map(|(service, _)| service)
            .collect();
        let mut verdict = Verdict::Nothing;
        for service in emptied {
            verdict = verdict.or(self.fleet.on_group_gone(now, service, &mut self.runtime));
        }
        verdict
    }
}

impl Running<'_> {
    /// At the deadline, before its kill: one line naming the services not
    /// gone, whose processes the kill ends. grace's exit status stays
    /// what it would be (the main command's, or the service's that ended
    /// the container): an orchestrator reads it as how the work ended, and
    /// a stop it asked for must not read as a failure.
    pub fn unstopped_at_deadline(&self) {
        let mut names = String::new();
        let fleet = &self.fleet;
        for (service, _) in fleet.running().chain(fleet.lingering()) {
            if !names.is_empty() {
                names.push_str(", ");
            }
            names.push_str(self.runtime.name(service));
        }
        if !names.is_empty() {
            warn!(
                "services_killed",
                [services = names],
                "deadline: not stopped, SIGKILLed: service {names}"
            );
        }
    }

    /// The state for `grace status`, written out when it changed since the
    /// last time (a change of the fleet's, or the stop's beginning).
    pub fn publish(&mut self, stopping: bool) {
        let now = (self.fleet.generation, stopping);
        if self.runtime.published == Some(now) {
            return;
        }
        self.runtime.published = Some(now);
        let started = Instant::now();
        let services: Vec<ServiceStatus> = self
            .runtime
            .services
            .services
            .iter()
            .enumerate()
            .map(|(index, service)| {
                let view = self.fleet.view(index);
                ServiceStatus {
                    name: service.name.clone(),
                    state: view.state,
                    pid: view.pid,
                    restarts: view.restarts,
                    since: view.since.unwrap_or(started),
                }
            })
            .collect();
        self.runtime.publisher.publish(&services, stopping);
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;
    use crate::base::signals::SIGTERM;
    use crate::services::fleet::State;
    use crate::services::model::Restart;

    fn service(name: &str, after: &[usize], dependents: &[usize]) -> Service {
        Service {
            name: name.into(),
            command: vec![format!("/bin/{name}")],
            executable: format!("/bin/{name}"),
            ready: Ready::Spawned,
            stop_signal: SIGTERM,
            stop_timeout: None,
            kind: Kind::Longrun,
            stop_command: None,
            start_timeout: Duration::from_secs(60),
            after: after.to_vec(),
            dependents: dependents.to_vec(),
            restart: Restart::No,
            max_restarts: 10,
            ending: Default::default(),
            user: None,
            environment: Vec::new(),
            working_directory: None,
        }
    }

    /// A world that answers each start at once, as the runtime does, and
    /// records what it was asked.
    #[derive(Default)]
    struct Recorded {
        asked: Vec<String>,
        reports: Vec<Report>,
        /// Process groups that still have members.
        groups: Vec<i32>,
        /// Pids that are readiness probes.
        probes: Vec<i32>,
    }

    impl FleetEffects for Recorded {
        fn start(&mut self, service: usize) {
            self.asked.push(format!("start {service}"));
            let pid = 10 + service as i32;
            self.reports.push(Report::Started { service, pid });
        }
        fn probe(&mut self, service: usize) {
            self.asked.push(format!("probe {service}"));
        }
        fn forget_readiness(&mut self, _service: usize) {}
        fn signal(&mut self, service: usize, pid: i32, signal: Signal) {
            self.asked.push(format!("{signal} to {pid} of {service}"));
        }
        fn kill(&mut self, service: usize, _group: i32) {
            self.asked.push(format!("kill {service}"));
        }
        fn deliver(&mut self, service: usize, pid: i32, signal: Signal) {
            self.asked
                .push(format!("{signal} alone to {pid} of {service}"));
        }
        fn stop_command(&mut self, service: usize) {
            self.asked.push(format!("stop_command {service}"));
        }
        fn start_main(&mut self) {
            self.asked.push("start main".into());
            self.reports.push(Report::MainStarted);
        }
        fn note(&mut self, note: ServiceNote) {
            if let ServiceNote::Started { service, pid } = note {
                self.asked.push(format!("note {service} started as {pid}"));
            }
        }
    }

    impl World for Recorded {
        fn take_reports(&mut self) -> Vec<Report> {
            core::mem::take(&mut self.reports)
        }
        fn probe_exited(&mut self, pid: i32, status: WaitStatus) -> bool {
            let ok = status == WaitStatus::Exited(0);
            let Some(service) = self.probes.iter().position(|&p| p == pid) else {
                return false;
            };
            self.reports.push(Report::Probe { service, ok });
            true
        }
        fn group_left(&self, group: i32) -> bool {
            self.groups.contains(&group)
        }
    }

    /// a and b, independent; c after both.
    fn driver() -> Driver<Recorded> {
        let list = Services {
            grace_period: None,
            services: vec![
                service("a", &[], &[2]),
                service("b", &[], &[2]),
                service("c", &[0, 1], &[]),
            ],
        };
        Driver {
            fleet: Fleet::new(&list, true),
            runtime: Recorded::default(),
        }
    }

    /// The answers go back to the fleet in the order they came: the log
    /// says a started before b, as the starts were asked.
    #[test]
    fn answers_reach_the_fleet_oldest_first_until_none_is_left() {
        let t0 = Instant::now();
        let mut driver = driver();
        let mut verdicts = Vec::new();
        verdicts.push(driver.fleet.on_time(t0, &mut driver.runtime));
        driver.settle(t0, &mut verdicts);
        assert_eq!(
            driver.runtime.asked,
            [
                "start 0",
                "start 1",
                "note 0 started as 10",
                "note 1 started as 11",
                "start 2",
                "note 2 started as 12",
                "start main",
            ]
        );
        assert!(verdicts.iter().all(|&v| v == Verdict::Nothing));
        assert!(driver.fleet.all_ready());
    }

    /// During the stop a service is gone once its process group is: the
    /// exit says what it left, a later look says when that is gone too.
    #[test]
    fn a_service_is_gone_once_its_group_is() {
        let t0 = Instant::now();
        let mut driver = driver();
        let mut verdicts = Vec::new();
        driver.fleet.on_time(t0, &mut driver.runtime);
        driver.settle(t0, &mut verdicts);
        driver.fleet.on_main_exit(t0, &mut driver.runtime);
        let deadline = t0 + Duration::from_secs(9);
        driver.fleet.begin_stop(t0, deadline, &mut driver.runtime);
        driver.runtime.asked.clear();
        driver.runtime.groups.push(12);
        assert_eq!(
            driver.on_exit(t0, 12, WaitStatus::Exited(0)),
            Some(Verdict::Nothing)
        );
        assert_eq!(driver.runtime.asked, ["SIGTERM to -12 of 2"]);
        assert_eq!(driver.fleet.view(2).state, State::Stopping);
        assert_eq!(driver.after_reap(t0), Verdict::Nothing, "still there");
        driver.runtime.groups.clear();
        driver.runtime.asked.clear();
        driver.after_reap(t0);
        assert_eq!(
            driver.runtime.asked,
            ["SIGTERM to 11 of 1", "SIGTERM to 10 of 0"]
        );
        assert_eq!(
            driver.on_exit(t0, 11, WaitStatus::Exited(0)),
            Some(Verdict::Nothing)
        );
        assert_eq!(
            driver.on_exit(t0, 10, WaitStatus::Exited(0)),
            Some(Verdict::Down)
        );
        assert_eq!(driver.on_exit(t0, 99, WaitStatus::Exited(0)), None);
    }

    /// A probe's exit is its answer, not a service's exit.
    #[test]
    fn a_probe_s_exit_is_its_answer() {
        let t0 = Instant::now();
        let mut driver = driver();
        driver.runtime.probes.push(77);
        assert_eq!(
            driver.on_exit(t0, 77, WaitStatus::Exited(0)),
            Some(Verdict::Nothing)
        );
        assert_eq!(
            driver.runtime.take_reports(),
            [Report::Probe {
                service: 0,
                ok: true
            }]
        );
    }

    /// grace's environment, the service's on top, then what grace sets;
    /// each name once, at its last value.
    #[test]
    fn a_service_s_environment_is_grace_s_with_its_own_on_top() {
        let mut app = service("app", &[], &[]);
        app.environment = vec![
            ("PORT".into(), "8080".into()),
            ("HOME".into(), "/app".into()),
        ];
        let inherited: Vec<Vec<u8>> = ["HOME=/root", "PATH=/bin", "=odd", "noequals", "PORT=1"]
            .iter()
            .map(|e| e.as_bytes().to_vec())
            .collect();
        let environment = service_environment(&inherited, &app, &[("NOTIFY_SOCKET", "/run/n")]);
        let environment: Vec<&str> = environment
            .iter()
            .map(|e| core::str::from_utf8(e).unwrap())
            .collect();
        assert_eq!(
            environment,
            [
                "PATH=/bin",
                "PORT=8080",
                "HOME=/app",
                "GRACE_SERVICE=app",
                "NOTIFY_SOCKET=/run/n"
            ]
        );
    }

    /// `READY=1` as one whole line of a datagram, wherever it comes; no
    /// other value or spelling.
    #[test]
    fn only_a_whole_ready_line_says_ready() {
        for yes in [
            &b"READY=1"[..],
            b"STATUS=up\nREADY=1\n",
            b"READY=1\nMAINPID=7",
        ] {
            assert!(says_ready(yes), "{yes:?}");
        }
        for no in [
            &b""[..],
            b"READY=0",
            b"READY=10",
            b" READY=1",
            b"ready=1",
            b"READY=1\0",
        ] {
            assert!(!says_ready(no), "{no:?}");
        }
    }
}
