//! A supervisord configuration translated: each `[program:NAME]` a
//! service. supervisord's `%(ENV_X)s` becomes grace's `${X}` (both read
//! the supervisor's environment when the file is loaded, and both refuse
//! an unset one); every other `$` is doubled, since supervisord passes it
//! on as written. `priority` becomes `after`: each program starts after
//! the enabled programs of the nearest lower priority (supervisord starts
//! lower priorities first and stops them last, as grace does with
//! `after`).

use crate::base::prelude::*;

use crate::cli::truth;

use super::ini::{self, Section};
use super::{Output, literal, service_name, shlex};

/// supervisord's `priority` when none is given.
const DEFAULT_PRIORITY: u32 = 999;

/// Why a setting grace has no equivalent for is not translated (the
/// first whose prefix the key has).
const NOT_TRANSLATED: &[(&str, &str)] = &[
    (
        "startsecs",
        "a service is started once spawned, or when `ready` says",
    ),
    (
        "startretries",
        "grace allows max_restarts restarts a minute",
    ),
    ("exitcodes", "only exit 0 is a success"),
    (
        "numprocs",
        "one process per service: declare a service per copy",
    ),
    ("process_name", "a service is named after its table"),
    ("redirect_stderr", OUTPUT),
    ("stdout_", OUTPUT),
    ("stderr_", OUTPUT),
    (
        "stopasgroup",
        "the stop signals the service's process group",
    ),
    (
        "killasgroup",
        "the stop SIGKILLs the service's process group",
    ),
];

const OUTPUT: &str = "a service's output goes to grace's, each line prefixed with its name";

const NO_SERVER: &str = "grace has no control server: grace status reads its state";

/// Why a section other than `[program:NAME]` is not translated (the first
/// that is its name or, ending with `:`, its prefix).
const SECTIONS: &[(&str, &str)] = &[
    (
        "supervisord",
        "grace's own settings are its options (grace --help)",
    ),
    ("unix_http_server", NO_SERVER),
    ("inet_http_server", NO_SERVER),
    ("supervisorctl", NO_SERVER),
    ("rpcinterface:", NO_SERVER),
    ("include", "import each included file"),
    ("group:", "no groups: choose services with --services"),
];

struct Program<'s> {
    section: &'s Section,
    /// supervisord's name.
    program: &'s str,
    /// grace's.
    name: String,
    priority: u32,
    enabled: bool,
}

pub fn translate(file: &str, text: &str, out: &mut Output) -> Result<(), String> {
    if text.contains(['\u{1}', '\u{2}']) {
        return Err(" holds control characters U+0001 or U+0002".into());
    }
    let sections = ini::read(text).map_err(|(line, why)| format!("{line}: {why}"))?;
    let here = match file.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((directory, _)) => directory,
        None => ".",
    };
    let mut programs = Vec::new();
    for section in &sections {
        let Some(program) = section.name.strip_prefix("program:") else {
            let why = SECTIONS
                .iter()
                .find(|(prefix, _)| {
                    section.name == *prefix
                        || (prefix.ends_with(':') && section.name.starts_with(prefix))
                })
                .map_or("no equivalent", |(_, why)| why);
            skipped(out, &section.name, "", why);
            continue;
        };
        let priority = section.get("priority").map(str::parse::<u32>);
        let enabled = section.get("autostart").map(truth);
        programs.push(Program {
            section,
            program,
            name: service_name(program),
            priority: match priority {
                Some(Ok(priority)) => priority,
                _ => DEFAULT_PRIORITY,
            },
            enabled: !matches!(enabled, Some(Some(false))),
        });
    }
    for program in &programs {
        service(program, &programs, here, out);
    }
    Ok(())
}

fn service(program: &Program<'_>, programs: &[Program<'_>], here: &str, out: &mut Output) {
    let section = program.section;
    let expand = |value: &str| expand(value, program.program, here);
    let command = section
        .get("command")
        .ok_or_else(|| "no command".to_string())
        .and_then(|command| shlex::split(&expand(command)?))
        .and_then(|words| match words.is_empty() {
            true => Err("an empty command".into()),
            false => Ok(words),
        });
    let command = match command {
        Ok(words) => words,
        Err(why) => {
            skipped(out, &section.name, "command: ", &why);
            return;
        }
    };
    out.service(&program.name);
    if program.name != program.program {
        out.comment(&format!(
            "[{}]: a service name is letters, digits, - and _",
            section.name
        ));
    }
    let words: Vec<String> = command.iter().map(|word| grace(word)).collect();
    out.strings("command", &words);
    let mut notes: Vec<String> = Vec::new();
    for (key, value, _) in &section.settings {
        let value = value.as_str();
        let translated: Result<(), String> = match key.as_str() {
            "command" => Ok(()),
            "priority" => match value.parse::<u32>() {
                Ok(_) => Ok(()),
                Err(_) => Err("expected a number from 0 up: the default, 999, is used".into()),
            },
            "directory" => expand(value).map(|dir| out.string("working_directory", &grace(&dir))),
            "user" => {
                out.string("user", value);
                Ok(())
            }
            "environment" => expand(value)
                .and_then(|text| pairs(&text))
                .map(|mut pairs| {
                    for (_, value) in &mut pairs {
                        *value = grace(value);
                    }
                    out.table("environment", &pairs);
                }),
            "autostart" => match truth(value) {
                Some(true) => Ok(()),
                Some(false) => {
                    out.raw("enabled", "false");
                    Ok(())
                }
                None => Err("expected true or false".into()),
            },
            "autorestart" if value.eq_ignore_ascii_case("unexpected") => Ok(()),
            "autorestart" => match truth(value) {
                Some(true) => {
                    out.string("restart", "always");
                    Ok(())
                }
                Some(false) => {
                    out.string("restart", "no");
                    notes.push(
                        "autorestart = false: under grace its exit stops the container".into(),
                    );
                    Ok(())
                }
                None => Err("expected true, false or unexpected".into()),
            },
            "stopsignal" => {
                out.string("stop_signal", value);
                Ok(())
            }
            "stopwaitsecs" => match value.parse::<u32>() {
                Ok(seconds) => {
                    out.string("stop_timeout", &format!("{seconds}s"));
                    Ok(())
                }
                Err(_) => Err("expected a number of seconds".into()),
            },
            "numprocs" | "startsecs" if value == "1" && key == "numprocs" => Ok(()),
            "startsecs" if value == "0" => Ok(()),
            "exitcodes" if value == "0" => Ok(()),
            _ => Err(NOT_TRANSLATED
                .iter()
                .find(|(prefix, _)| key.starts_with(prefix))
                .map_or("no equivalent", |(_, why)| why)
                .to_string()),
        };
        if let Err(why) = translated {
            notes.push(format!(
                "{key} = {}: not translated: {why}",
                value.replace('\n', " ")
            ));
        }
    }
    // supervisord's default is `unexpected`, grace's "no".
    if section.get("autorestart").is_none() {
        out.string("restart", "on-failure");
    }
    let before = earlier_level(program, programs);
    if !before.is_empty() {
        out.strings("after", &before);
    }
    for note in notes {
        out.comment(&note);
    }
}

/// `[SECTION]: not translated: WHAT WHY`, apart from what comes before.
fn skipped(out: &mut Output, section: &str, what: &str, why: &str) {
    out.gap();
    out.comment(&format!("[{section}]: not translated: {what}{why}"));
}

/// The enabled programs of the nearest priority below `program`'s.
fn earlier_level(program: &Program<'_>, programs: &[Program<'_>]) -> Vec<String> {
    let mut below = None;
    for other in programs {
        if other.enabled && other.priority < program.priority {
            below = below.max(Some(other.priority));
        }
    }
    let mut names = Vec::new();
    for other in programs {
        if other.enabled && Some(other.priority) == below {
            names.push(other.name.clone());
        }
    }
    names
}

/// `value` with supervisord's `%(NAME)s` expansions done: `%(ENV_X)s` as
/// a mark for `${X}` (U+0001 X U+0002, which `grace` writes), the program's
/// own names, `here` (the file's directory), `%%` a `%`. Err: an
/// expansion grace has no value for.
fn expand(value: &str, program: &str, here: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let parsed = after.strip_prefix('(').and_then(|inner| {
            let (key, spec) = inner.split_once(')')?;
            let end = spec.find(|c: char| c.is_ascii_alphabetic())? + 1;
            Some((key, &spec[..end], &spec[end..]))
        });
        let Some((key, conversion, tail)) = parsed else {
            return Err("a % that is neither %% nor %(NAME)s".into());
        };
        if let Some(variable) = key.strip_prefix("ENV_") {
            let valid = variable.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                && variable
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("%({key}): grace expands only variable names"));
            }
            out.push('\u{1}');
            out.push_str(variable);
            out.push('\u{2}');
        } else {
            match key {
                "program_name" | "group_name" => out.push_str(program),
                "here" => out.push_str(here),
                "process_num" => number(&mut out, '0', conversion),
                "numprocs" => number(&mut out, '1', conversion),
                _ => return Err(format!("%({key}){conversion}: grace has no value for it")),
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Writes the digit `n` to `out` as a %-conversion such as `d` or `02d`
/// writes it.
fn number(out: &mut String, n: char, conversion: &str) {
    let width: usize = conversion
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0);
    let pad = if conversion.starts_with('0') {
        '0'
    } else {
        ' '
    };
    for _ in 1..width {
        out.push(pad);
    }
    out.push(n);
}

/// Expanded text as grace reads it: `$` doubled, the marks of
/// `%(ENV_X)s` as `${X}`.
fn grace(text: &str) -> String {
    literal(text).replace('\u{1}', "${").replace('\u{2}', "}")
}

/// supervisord's `environment`: `KEY="value",KEY2="value 2"`, split at
/// the commas and equals signs outside quotes, the quotes removed, and
/// whitespace outside them dropped.
fn pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut key = String::new();
    let mut value: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut finish = |key: &mut String, value: &mut Option<String>| {
        match value.take() {
            Some(value) => pairs.push((core::mem::take(key), value)),
            None if key.is_empty() => {}
            None => return Err(format!("\"{key}\" has no =VALUE")),
        }
        Ok(())
    };
    for letter in text.chars() {
        match (quote, letter) {
            (Some(open), _) if letter == open => quote = None,
            (None, '"' | '\'') => quote = Some(letter),
            (None, ',') => finish(&mut key, &mut value)?,
            (None, '=') if value.is_none() => value = Some(String::new()),
            (None, _) if letter.is_whitespace() => {}
            _ => value.as_mut().unwrap_or(&mut key).push(letter),
        }
    }
    if quote.is_some() {
        return Err("no closing quotation".into());
    }
    finish(&mut key, &mut value)?;
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::config;
    use crate::services::container::fake::Fake;
    use crate::services::model::Restart;

    /// A configuration written as supervisord's documentation shows one.
    const CONF: &str = r#"[unix_http_server]
file=/tmp/supervisor.sock   ; the path to the socket file

[supervisord]
logfile=/tmp/supervisord.log ; main log file; default $CWD/supervisord.log
nodaemon=true

[program:db]
command=/usr/bin/db --data "/data/%(program_name)s"
priority=10
stopsignal=INT
stopwaitsecs=15
stdout_logfile=/var/log/db.log

[program:cache]
command=/bin/true
priority=10
autostart=false

[program:app]
command=/app/server --home %(ENV_HOME)s --price $5 --n %(process_num)02d
directory=/app
user=app
environment=PORT="8080",GREETING="a, b"
autorestart=true
startsecs=5

[program:web]
command = /bin/sh -c 'exec /bin/true'
autorestart = false

[group:all]
programs=db,app
"#;

    #[test]
    fn supervisord_programs_become_services() {
        let mut out = Output::default();
        translate("/etc/supervisord.conf", CONF, &mut out).unwrap();
        let text = &out.text;
        let mut fake = Fake::new();
        fake.variables.insert("HOME".into(), "/root".into());
        let services =
            config::parse(text, &fake).unwrap_or_else(|e| panic!("{}\n{text}", e.render("out")));
        let [db, app, web] = &services.services[..] else {
            panic!("{text}");
        };
        assert_eq!(db.command, ["/usr/bin/db", "--data", "/data/db"], "{text}");
        assert_eq!(db.stop_signal, crate::base::signals::SIGINT);
        assert_eq!(db.stop_timeout, Some(core::time::Duration::from_secs(15)));
        assert_eq!(db.restart, Restart::OnFailure);
        assert_eq!(
            app.command,
            [
                "/app/server",
                "--home",
                "/root",
                "--price",
                "$5",
                "--n",
                "00"
            ]
        );
        assert_eq!(app.working_directory.as_deref(), Some("/app"));
        assert_eq!(
            app.environment,
            [
                ("PORT".into(), "8080".into()),
                ("GREETING".into(), "a, b".into())
            ]
        );
        assert_eq!(app.restart, Restart::Always);
        assert_eq!(app.after, [0], "{text}");
        assert_eq!(web.command, ["/bin/sh", "-c", "exec /bin/true"]);
        assert_eq!(web.restart, Restart::No);
        // cache is autostart=false: out unless asked for.
        let asked = config::parse_selecting(text, &fake, &["cache".into()]).unwrap();
        assert_eq!(asked.services[0].name, "cache");
        for comment in [
            "# [unix_http_server]: not translated: grace has no control server",
            "# [supervisord]: not translated",
            "# [group:all]: not translated: no groups",
            "# stdout_logfile = /var/log/db.log: not translated",
            "# startsecs = 5: not translated",
            "# autorestart = false: under grace its exit stops the container",
        ] {
            assert!(text.contains(comment), "{comment}\n{text}");
        }
    }

    #[test]
    fn untranslatable_values_are_comments() {
        let mut out = Output::default();
        translate(
            "s.conf",
            "[program:a.b]\ncommand=/bin/true %(host_node_name)s\n\
             [program:c]\ncommand=/bin/true\ndirectory=%(nope)s\nenvironment=A\n",
            &mut out,
        )
        .unwrap();
        let text = &out.text;
        assert!(
            text.contains("# [program:a.b]: not translated: command: %(host_node_name)s"),
            "{text}"
        );
        assert!(
            text.contains("# directory = %(nope)s: not translated"),
            "{text}"
        );
        assert!(
            text.contains("# environment = A: not translated: \"A\" has no =VALUE"),
            "{text}"
        );
        config::parse(text, &Fake::new()).unwrap();
        assert_eq!(
            expand("100%% %(here)s", "p", "/etc").as_deref(),
            Ok("100% /etc")
        );
        assert!(expand("50% off", "p", "/etc").is_err());
        assert_eq!(
            expand("%(numprocs)02d %(process_num)d %(process_num)3d", "p", "/").as_deref(),
            Ok("01 0   0")
        );
        assert_eq!(
            pairs("A=1, B = \"x y\",C='=,'").unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "=,".into())
            ]
        );
    }
}
