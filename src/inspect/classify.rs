//! Classifying: what the process a stop is sent to is (grace with the
//! options on its command line, a forwarding init such as tini, dumb-init
//! or catatonit, a shell, or anything else), which process is its main
//! child, and each process's place in the stop: the init, its main process,
//! one entered from outside (docker exec), or another. Recognised by names
//! and command lines only; what each kind does with a signal is `inits`'.

use crate::base::prelude::*;

use crate::base::environment;
use crate::base::signals::Signal;
use crate::cli::{self, Config, Invocation, Parsed, Personality};
use crate::init::setup;
use crate::process::sockets::Connection;
use crate::services::container::{Container, Errno};
use crate::services::model::Services;

use super::collect::{Process, subtree};

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
    pub(super) fn name(self) -> &'static str {
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
        /// Whether an option or a variable set its grace period, which
        /// then wins over the services file's.
        period_given: bool,
        /// The services file it runs (`--config`), read and checked as it
        /// read it; None: it runs none; an error: why it cannot be read.
        services: Option<Result<Box<Services>, String>>,
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
    for path in p.exe.iter().chain(p.args.first()) {
        names.push(base(path));
    }
    names
}

/// Recognises grace, tini/docker-init, dumb-init, catatonit and shells.
pub(super) fn classify(p: &Process) -> Kind {
    let names = names(p);
    let is = |wanted: &str| names.iter().any(|name| name == wanted);
    if is("grace") {
        // Linked as tini or dumb-init, grace reads that tool's command line;
        // GRACE_* (and the tool's own) variables configure it too.
        let personality = p.args.first().map_or(Personality::Grace, |argv0| {
            Personality::from_program(argv0.as_bytes())
        });
        // As a Vec, the type grace's own command line is parsed from: one
        // copy of the parser in the binary.
        let mut args: Vec<Vec<u8>> = Vec::new();
        for arg in p.args.iter().skip(1) {
            args.push(arg.as_bytes().into());
        }
        if let Ok(Parsed {
            invocation: Invocation::Init(config),
            grace_period_given,
            ..
        }) = cli::parse_with(personality, args, &p.init_env)
        {
            return Kind::Grace {
                config,
                from_cmdline: true,
                period_given: grace_period_given,
                services: None,
            };
        }
        // `grace inspect` and the like are not an init.
        if p.args.get(1).is_some_and(|arg| arg == "inspect") {
            return Kind::Other;
        }
        return match cli::parse(vec![b"COMMAND".to_vec()]) {
            Ok(Invocation::Init(config)) => Kind::Grace {
                config,
                from_cmdline: false,
                period_given: false,
                services: None,
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

/// The process PID 1 forwards to or started: its earliest-started child
/// that is no service's. (Orphans re-parented to PID 1 were all started
/// after it; services start before the main command.)
fn main_child(processes: &[Process], top: usize, membership: &[Option<String>]) -> Option<usize> {
    let parent = processes[top].pid;
    let in_service = |index: usize| membership.get(index).is_some_and(Option::is_some);
    processes
        .iter()
        .enumerate()
        .filter(|&(index, p)| {
            p.ppid == parent && p.pid != parent && !p.kernel_thread && !in_service(index)
        })
        .min_by_key(|(_, p)| (p.start_time, p.pid))
        .map(|(index, _)| index)
}

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

/// The process the stop signal goes to, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Init {
    pub(super) index: usize,
    pub(super) kind: Kind,
    /// PID 1 of its PID namespace: the kernel drops default-action signals
    /// sent to it, and kills everyone else when it exits.
    pub(super) namespace_init: bool,
    pub(super) main: Option<usize>,
    /// Per process, in the same order: the service it belongs to, as an
    /// index into the grace's services file.
    pub(super) service_of: Vec<Option<usize>>,
}

/// A file as the target sees it (an absolute path in its root, a relative
/// one in its working directory), or why it cannot be read.
pub(super) type ReadFile<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

impl Init {
    /// What `processes[top]` is, and its main child if it has one.
    /// `membership`: the name of the service each process belongs to, if
    /// any; `read`: the target's files, for its services file.
    pub(super) fn identify(
        processes: &[Process],
        top: usize,
        membership: &[Option<String>],
        read: ReadFile,
    ) -> Init {
        let mut kind = classify(&processes[top]);
        if let Kind::Grace {
            config,
            services,
            period_given,
            ..
        } = &mut kind
        {
            *services = load_services(config, *period_given, &processes[top], read);
        }
        let namespace_init = processes[top].ns_pid == 1;
        let main = match kind {
            Kind::Grace { .. } | Kind::Forwarder { .. } => main_child(processes, top, membership),
            _ => None,
        };
        let service_of = match &kind {
            Kind::Grace {
                services: Some(Ok(file)),
                ..
            } => (0..processes.len())
                .map(|index| {
                    let name = membership.get(index)?.as_ref()?;
                    file.services.iter().position(|s| &s.name == name)
                })
                .collect(),
            _ => vec![None; processes.len()],
        };
        Init {
            index: top,
            kind,
            namespace_init,
            main,
            service_of,
        }
    }
}

/// The services file a grace runs, read and checked as it did, and its
/// `grace_period` applied to `config` as grace applies it.
fn load_services(
    config: &mut Config,
    period_given: bool,
    grace: &Process,
    read: ReadFile,
) -> Option<Result<Box<Services>, String>> {
    let path = String::from_utf8_lossy(config.config.as_ref()?).into_owned();
    let loaded = read(&path).and_then(|bytes| {
        let text = core::str::from_utf8(&bytes).map_err(|_| format!("{path}: not UTF-8"))?;
        let seen = Seen { read, grace };
        crate::services::config::parse_selecting(text, &seen, &config.services)
            .map_err(|why| why.render(&path))
    });
    if let Ok(services) = &loaded {
        config.grace_period =
            setup::grace_period(config.grace_period, period_given, services.grace_period);
    }
    Some(loaded.map(Box::new))
}

/// The target's files, as far as checking its services file needs them:
/// its user database is read, its programs and directories taken to be
/// there (the running grace found them; the stop needs only the order,
/// the signals and the timeouts).
struct Seen<'a> {
    read: ReadFile<'a>,
    grace: &'a Process,
}

impl Container for Seen<'_> {
    fn executable(&self, _: &str) -> Result<(), Errno> {
        Ok(())
    }

    fn directory(&self, _: &str) -> Result<(), Errno> {
        Ok(())
    }

    fn working_directory(&self) -> Result<String, Errno> {
        Ok("/".into())
    }

    fn text(&self, path: &str) -> Result<String, Errno> {
        let bytes = (self.read)(path).map_err(|_| libc::ENOENT)?;
        String::from_utf8(bytes).map_err(|_| libc::EILSEQ)
    }

    fn read(&self, path: &str) -> String {
        (self.read)(path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    fn variable(&self, name: &str) -> Option<String> {
        environment::lookup(&self.grace.init_env, name)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }

    fn descriptor_limit(&self) -> u64 {
        u64::MAX
    }
}

/// The stop being predicted: the processes, the one the signal is sent
/// to, and the signal. The later stages (`inits`, `plan`, `judge`,
/// `verdict`) each add their part to it.
pub(super) struct Scenario<'a> {
    pub(super) processes: &'a [Process],
    pub(super) init: &'a Init,
    pub(super) signal: Signal,
    /// Who is connected to whom (`process::sockets`), by /proc's pids.
    pub(super) connections: &'a [Connection],
}

impl Scenario<'_> {
    pub(super) fn top(&self) -> &Process {
        &self.processes[self.init.index]
    }

    pub(super) fn main(&self) -> Option<&Process> {
        self.init.main.map(|index| &self.processes[index])
    }

    /// Whether each process is below the init (by parent links), or is
    /// the init.
    pub(super) fn descendants(&self) -> Vec<bool> {
        subtree(self.processes, self.top().pid)
    }

    pub(super) fn role(&self, index: usize) -> Role {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ForwardTo;
    use crate::inspect::fixtures::*;
    use core::time::Duration;

    #[test]
    fn grace_linked_as_tini_and_configured_by_environment_is_read_as_such() {
        let mut init = args(process(1, 0, "tini"), &["tini", "-g", "--", "app"]);
        init.exe = Some("/usr/bin/grace".into());
        init.init_env = vec![("GRACE_GRACE_PERIOD".into(), "3s".into())];
        match classify(&init) {
            Kind::Grace {
                config,
                from_cmdline,
                ..
            } => {
                assert!(from_cmdline);
                assert_eq!(config.forward_to, ForwardTo::Group);
                assert_eq!(config.grace_period, Duration::from_secs(3));
            }
            other => panic!("{other:?}"),
        }
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
                ..
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
                ..
            } => {
                assert!(!from_cmdline);
                assert_eq!(config.grace_period, cli::DEFAULT_GRACE_PERIOD);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(kind("grace", None, &["grace", "inspect", "1"]), Kind::Other);
    }
}
