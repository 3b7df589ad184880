//! `grace check FILE`: the services file read and checked exactly as it
//! will be before any service starts, against this container's files, user
//! database and PATH. Valid: one line per service, in start order, on
//! stdout, exit 0. Invalid: the one error (`FILE:LINE: KEY: MESSAGE`), exit
//! 2, as for a command line grace cannot run.

use crate::base::prelude::*;
use crate::base::time;

use super::container::Real;
use super::model::{Kind, Ready, Restart, Service, Services};
use super::{config, runtime};
use crate::{error, sys};

/// The exit code of a file that cannot be used.
pub const EXIT_INVALID: i32 = 2;

/// The largest services file grace reads (docs/services.md): a thousand
/// services take about 100 kB, and a file that is larger (or endless, as
/// /dev/zero is) is refused rather than read into PID 1's memory.
pub const FILE_LIMIT: usize = 1 << 20;

/// `asked`: the services to run (`--services`; none: every enabled one).
pub fn check(file: &str, asked: &[String], variables: &[(Vec<u8>, Vec<u8>)]) -> i32 {
    match load(file, asked, variables) {
        Some(services) => {
            let _ = sys::write_all(libc::STDOUT_FILENO, summary(&services).as_bytes());
            0
        }
        None => EXIT_INVALID,
    }
}

/// The services file read and checked, as `grace check` and `grace
/// --config` both read it, with the services that run (`asked`, see
/// `config::parse_selecting`); None once the one error has been logged.
pub fn load(file: &str, asked: &[String], variables: &[(Vec<u8>, Vec<u8>)]) -> Option<Services> {
    let text = read(file)?;
    match config::parse_selecting(&text, &Real { variables }, asked) {
        Ok(services) => fits_descriptors(file, &services).then_some(services),
        Err(why) => {
            error!(
                "config",
                [file = file, line = why.line, key = why.key.clone()],
                "{}",
                why.render(file)
            );
            None
        }
    }
}

/// A file given to grace to read (a services file, or one to `grace
/// import`): UTF-8, 1 MiB at most; None once the one error has been
/// logged.
pub fn read(file: &str) -> Option<String> {
    let (why, line) = match sys::read_file(file, FILE_LIMIT) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => return Some(text),
            Err(error) => {
                let bytes = error.as_bytes();
                let valid = error.utf8_error().valid_up_to();
                let line = 1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count();
                let why = format!("{file}:{line}: not UTF-8 (a TOML file is UTF-8)");
                (why, Some(line))
            }
        },
        Err(why) if sys::is_too_large(&why) => (
            format!(
                "{file}: larger than {} MiB: not a services file",
                FILE_LIMIT >> 20
            ),
            None,
        ),
        Err(why) => (format!("{file}: cannot read: {why}"), None),
    };
    error!("config", [file = file, line = line], "{why}");
    None
}

/// Whether the descriptors the services need fit under RLIMIT_NOFILE
/// beside those open now; if not, the one error is logged. grace does not
/// raise its soft limit: every service and the main command inherit it,
/// and what they get is the container's choice, not grace's (runtimes
/// mostly set the soft limit to the hard one anyway).
fn fits_descriptors(file: &str, services: &Services) -> bool {
    let (Ok(limit), Ok(open)) = (sys::descriptor_limit(), sys::open_descriptors()) else {
        return true;
    };
    let needed = open + runtime::descriptors_needed(services);
    if needed as libc::rlim_t <= limit {
        return true;
    }
    let count = services.services.len();
    error!(
        "config",
        [file = file, needed = needed, limit = limit],
        "{file}: {count} services need {needed} file descriptors, more than the limit of \
         {limit} (RLIMIT_NOFILE): raise it (ulimit -n, --ulimit nofile=N:N) or run fewer \
         services"
    );
    false
}

/// One line per service, in start order:
/// `app: /app/server --port 8080 (ready: fd 3; after: db)`.
pub fn summary(services: &Services) -> String {
    let mut out = String::new();
    for service in &services.services {
        out.push_str(&line(service, services));
        out.push('\n');
    }
    out
}

fn line(service: &Service, services: &Services) -> String {
    let ready = match service.kind {
        Kind::Oneshot => "once it exits 0 (oneshot)".into(),
        Kind::Longrun => ready(&service.ready),
    };
    let mut notes = vec![format!("ready: {ready}")];
    if !service.after.is_empty() {
        let names: Vec<String> = service
            .after
            .iter()
            .map(|&at| services.services[at].name.clone())
            .collect();
        notes.push(format!("after: {}", names.join(", ")));
    }
    if service.restart != Restart::No {
        notes.push(format!("restart: {}", service.restart.name()));
    }
    if let Some(stop) = &service.stop_command {
        let command = argv(&stop.executable, &stop.command);
        notes.push(format!("stop_command: {command}"));
    }
    format!(
        "{}: {} ({})",
        service.name,
        argv(&service.executable, &service.command),
        notes.join("; ")
    )
}

/// A command as it runs: the program found, then its arguments.
fn argv(executable: &str, command: &[String]) -> String {
    let mut words = vec![shell_word(executable)];
    words.extend(command.iter().skip(1).map(|word| shell_word(word)));
    words.join(" ")
}

fn ready(ready: &Ready) -> String {
    match ready {
        Ready::Spawned => "once started".into(),
        Ready::Fd(fd) => format!("fd {fd}"),
        Ready::Exec(probe) => format!(
            "exec {} every {}",
            argv(&probe.executable, &probe.command),
            time::Shown(probe.interval)
        ),
        Ready::Tcp(address) => format!("tcp {address}"),
        Ready::Notify => "notify".into(),
    }
}

/// A word as a shell would need it typed: as it is when plain, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,@%+".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::container::fake::Fake;

    #[test]
    fn the_summary_has_one_line_per_service_in_start_order() {
        let text = r#"
[service.app]
command = ["server", "--greeting", "hello world", "it's"]
working_directory = "/app"
environment = { PATH = "/app" }
after = ["db"]
restart = "always"
ready = { tcp = "localhost:8080" }

[service.db]
command = ["/usr/bin/db", "--data", "/data"]
ready = { fd = 3 }

[service.probe]
command = ["true"]
ready = { exec = ["sh", "-c", "exit 0"], interval = "1.5s" }

[service.n]
command = ["true"]
ready = "notify"

[service.m]
command = ["true", "migrate"]
type = "oneshot"
stop_command = ["true", "undo it"]
"#;
        let services = config::parse(text, &Fake::new()).unwrap();
        assert_eq!(
            summary(&services),
            "db: /usr/bin/db --data /data (ready: fd 3)\n\
             app: /app/server --greeting 'hello world' 'it'\\''s' (ready: tcp 127.0.0.1:8080; \
             after: db; restart: always)\n\
             probe: /bin/true (ready: exec /bin/sh -c 'exit 0' every 1.5s)\n\
             n: /bin/true (ready: notify)\n\
             m: /bin/true migrate (ready: once it exits 0 (oneshot); stop_command: /bin/true \
             'undo it')\n"
        );
        assert_eq!(shell_word(""), "''");
    }
}
