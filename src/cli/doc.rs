//! The documentation generated from the option table and the
//! personalities' tables: `--help`, the man page (man/grace.1) and the
//! environment table in docs/configuration.md, so that none can drift; and
//! what `--version` and tini's `-l` print. A
//! unit test fails when a generated file differs from the source;
//! `UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'` rewrites them.

use crate::base::prelude::*;

#[cfg(test)]
use super::check::CHECK_HELP;
#[cfg(test)]
use super::control::CONTROL_HELP;
#[cfg(test)]
use super::import::IMPORT_HELP;
#[cfg(test)]
use super::inspect::INSPECT_HELP;
use super::options::{OPTIONS, OptionDoc};
use super::personality::{Personality, USAGE};
#[cfg(test)]
use super::status::STATUS_HELP;

const SUMMARY: &str = "a container init that stops every process gracefully";

const DESCRIPTION: &str = "grace starts COMMAND, forwards signals to it, reaps every zombie \
and exits with COMMAND's status. On a stop signal (TERM or INT), or when COMMAND exits while \
other processes remain, every process gets the stop signal and time to finish; grace exits \
the moment the last one is gone, and SIGKILLs and names the stragglers at its deadline.";

const VALUES: &[&str] = &[
    "SIGNAL is a name or number: TERM, SIGTERM, sigterm, 15, RTMIN+3, SIGRTMAX-1.",
    "DURATION is a number with a unit: 500ms, 9s, 1.5s, 2m, 1h (no unit: seconds).",
];

const ENVIRONMENT: &[&str] = &[
    "Every option can also be set with an environment variable: GRACE_ and the long \
     option's name in capitals, with _ for - (GRACE_GRACE_PERIOD=29s, GRACE_SUBREAPER=1). \
     The command line wins. A flag takes 1, true, yes or on (0, false, no, off: not set); a \
     repeatable option takes a comma-separated list; an empty value counts as unset.",
    "The command gets grace's environment unchanged, GRACE_ variables included; with --user, \
     HOME is set to the user's home directory.",
];

const PERSONALITIES: &str = "Installed or linked under the name tini, docker-init or \
dumb-init, grace reads that tool's command line and environment variables, with that tool's \
defaults for where forwarded signals go and its exit code for usage errors (1). The stop still \
reaches every process.";

/// grace's subcommands, each a word before any option.
const SUBCOMMANDS: &[(&str, &str)] = &[
    (
        "grace inspect [PID]",
        "show every process's signal dispositions and what a stop will do to each \
         (grace inspect --help)",
    ),
    (
        "grace check FILE",
        "validate a services file (docs/services.md) without running anything, as \
         --config checks it before starting (grace check --help)",
    ),
    (
        "grace import FILE",
        "print a services file equivalent to a supervisord configuration or a \
         Procfile (grace import --help)",
    ),
    (
        "grace status",
        "show the state of the services grace runs, from inside the container; exit 0 \
         when every one is ready (grace status --help)",
    ),
    (
        "grace restart SERVICE",
        "and grace stop, start, signal SIGNAL: control one service of the running grace, \
         from inside the container (grace restart --help)",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("N", "the command exited with N (0 if N is given to -e)"),
    (
        "128+N",
        "the command was killed by signal N (143 for SIGTERM, 137 for SIGKILL)",
    ),
    (
        "127",
        "the command, or the interpreter its #! line names, was not found",
    ),
    ("126", "the command exists but cannot be executed"),
    (
        "2",
        "bad option, bad value, no command (1 in the tini and dumb-init personalities); for \
         grace check, a services file that is not valid",
    ),
    (
        "125",
        "grace itself could not set up (signals, the --user to run as)",
    ),
];

const WIDTH: usize = 80;
const LABEL_WIDTH: usize = 28;

/// Greedy word wrap: lines of at most `width` characters after `indent`.
fn wrap(text: &str, indent: usize, first_indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = first_indent;
    let mut first_word = true;
    for word in text.split_whitespace() {
        if !first_word && line_len + 1 + word.len() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_len = indent;
            first_word = true;
        }
        if !first_word {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
        first_word = false;
    }
    out
}

fn help_entry(out: &mut String, label: &str, help: &str) {
    let label = format!("  {label}");
    out.push_str(&label);
    if label.len() + 2 > LABEL_WIDTH {
        out.push('\n');
        out.push_str(&" ".repeat(LABEL_WIDTH));
    } else {
        out.push_str(&" ".repeat(LABEL_WIDTH - label.len()));
    }
    out.push_str(&wrap(help, LABEL_WIDTH, LABEL_WIDTH, WIDTH));
    out.push('\n');
}

fn paragraph(out: &mut String, text: &str) {
    out.push_str(&wrap(text, 0, 0, WIDTH));
    out.push('\n');
}

/// The options in order, each with the section it opens, if it is the
/// first of one.
fn in_sections() -> impl Iterator<Item = (Option<&'static str>, &'static OptionDoc)> {
    let mut section = "";
    OPTIONS.iter().map(move |option| {
        let opens = (option.section != section).then_some(option.section);
        section = option.section;
        (opens, option)
    })
}

/// `--help` for `personality`.
pub fn help(personality: Personality) -> String {
    let mut out = String::new();
    match personality.foreign_docs() {
        None => {
            paragraph(&mut out, &format!("grace: {SUMMARY}."));
            out.push('\n');
            out.push_str(USAGE);
            out.push_str("\n\n");
            paragraph(&mut out, DESCRIPTION);
            for (opens, option) in in_sections() {
                if let Some(section) = opens {
                    out.push('\n');
                    paragraph(&mut out, &format!("{section}:"));
                }
                help_entry(&mut out, &option.label(), option.help);
            }
            out.push('\n');
            for line in VALUES {
                paragraph(&mut out, line);
            }
            out.push('\n');
            paragraph(&mut out, ENVIRONMENT[0]);
            out.push('\n');
            paragraph(&mut out, PERSONALITIES);
            out.push_str("\nSubcommands:\n");
            for (label, meaning) in SUBCOMMANDS {
                help_entry(&mut out, label, meaning);
            }
        }
        Some(docs) => {
            let name = docs.name;
            paragraph(
                &mut out,
                &format!("grace ({SUMMARY}), installed as {name}: it reads {name}'s command line."),
            );
            out.push('\n');
            out.push_str(personality.usage());
            out.push_str("\n\nOptions:\n");
            for option in docs.options {
                help_entry(&mut out, option.label, option.help);
            }
            out.push_str("\nEnvironment:\n");
            for variable in docs.environment {
                help_entry(&mut out, variable.label, variable.help);
            }
            out.push('\n');
            paragraph(
                &mut out,
                "grace's own GRACE_ variables apply too (GRACE_GRACE_PERIOD=29s); the \
                 command line wins. Unlike the original, a stop signal reaches every process, \
                 which gets time to finish before the deadline (default 9s).",
            );
        }
    }
    out.push_str("\nExit status:\n");
    for (code, meaning) in EXIT_STATUS {
        match (personality, *code) {
            (Personality::Grace, _) => help_entry(&mut out, code, meaning),
            (_, "2") => help_entry(&mut out, "1", "bad option, bad value, no command"),
            _ => help_entry(&mut out, code, meaning),
        }
    }
    out
}

/// `--version` for `personality`.
pub fn version(personality: Personality) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match personality {
        Personality::Grace => format!("grace {version}\n"),
        other => format!(
            "grace {version} ({}-compatible command line)\n",
            other.name()
        ),
    }
}

/// tini's `-l`.
pub fn license() -> String {
    format!("grace is licensed under {}.\n", env!("CARGO_PKG_LICENSE"))
}

#[cfg(test)]
/// Text for troff: backslashes and hyphens escaped, no line starting with
/// a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
fn roff_label(label: &str) -> String {
    // Option names bold, value names italic.
    label
        .split(' ')
        .map(|word| {
            if word.starts_with('-') || word.chars().all(|c| c.is_ascii_digit() || c == '+') {
                format!("\\fB{}\\fR", roff(word))
            } else if word.chars().any(|c| c.is_ascii_uppercase()) && !word.contains('_') {
                format!("\\fI{}\\fR", roff(word))
            } else {
                format!("\\fB{}\\fR", roff(word))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
fn roff_paragraph(out: &mut String, text: &str) {
    out.push_str(".PP\n");
    out.push_str(&roff(text));
    out.push('\n');
}

#[cfg(test)]
fn roff_entry(out: &mut String, label: &str, text: &str) {
    out.push_str(".TP\n");
    out.push_str(&roff_label(label));
    out.push('\n');
    out.push_str(&roff(text));
    out.push('\n');
}

#[cfg(test)]
/// grace(1), in troff, from the same tables as `--help`.
pub fn man_page() -> String {
    let mut out = String::new();
    out.push_str(
        ".\\\" Generated from src/cli/; do not edit. Regenerate with:\n\
         .\\\" UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'\n",
    );
    out.push_str(".TH GRACE 1 \"\" \"grace\" \"User Commands\"\n");
    out.push_str(".SH NAME\n");
    out.push_str(&format!("grace \\- {}\n", roff(SUMMARY)));
    out.push_str(".SH SYNOPSIS\n");
    out.push_str(
        ".B grace\n[\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARG\\fR]...\n.br\n\
         .B grace inspect\n[\\fB\\-\\-json\\fR] [\\fB\\-\\-signal\\fR \\fISIGNAL\\fR] \
         [\\fIPID\\fR]\n.br\n.B grace check\n\\fIFILE\\fR\n.br\n\
         .B grace import\n\\fIFILE\\fR\n.br\n\
         .B grace status\n[\\fB\\-\\-json\\fR] [\\fB\\-\\-run\\-dir\\fR \\fIDIR\\fR]\n.br\n\
         .B grace restart\n[\\fB\\-\\-with\\-dependents\\fR] \\fISERVICE\\fR\n.br\n\
         .B grace stop\n\\fISERVICE\\fR\n.br\n.B grace start\n\\fISERVICE\\fR\n.br\n\
         .B grace signal\n\\fISIGNAL\\fR \\fISERVICE\\fR\n",
    );
    out.push_str(".SH DESCRIPTION\n");
    out.push_str(&roff(DESCRIPTION));
    out.push('\n');
    roff_paragraph(
        &mut out,
        "Option parsing stops at -- or at the first word that is not an option: the command \
         and its arguments are passed on untouched.",
    );
    out.push_str(".SH OPTIONS\n");
    for (opens, option) in in_sections() {
        if let Some(section) = opens {
            out.push_str(&format!(".SS \"{}\"\n", roff(section)));
        }
        let mut text = option.help.to_string();
        if let Some(name) = option.env_name() {
            text.push_str(&format!(". Environment: {name}."));
        }
        roff_entry(&mut out, &option.label(), &text);
    }
    for line in VALUES {
        roff_paragraph(&mut out, line);
    }
    out.push_str(".SH ENVIRONMENT\n");
    for text in ENVIRONMENT {
        roff_paragraph(&mut out, text);
    }
    for option in OPTIONS {
        if let (Some(name), Some(example)) = (option.env_name(), option.env_example) {
            roff_entry(
                &mut out,
                &name,
                &format!("as --{} (example: {name}={example})", option.long),
            );
        }
    }
    out.push_str(".SH PERSONALITIES\n");
    out.push_str(&roff(PERSONALITIES));
    out.push('\n');
    for docs in [Personality::Tini, Personality::DumbInit]
        .into_iter()
        .filter_map(Personality::foreign_docs)
    {
        out.push_str(&format!(".SS \"{}\"\n", docs.names));
        for option in docs.options {
            roff_entry(&mut out, option.label, option.help);
        }
        for variable in docs.environment {
            roff_entry(&mut out, variable.label, variable.help);
        }
    }
    out.push_str(".SH \"INSPECT\"\n.nf\n");
    for line in INSPECT_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"CHECK\"\n.nf\n");
    for line in CHECK_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"IMPORT\"\n.nf\n");
    for line in IMPORT_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"STATUS\"\n.nf\n");
    for line in STATUS_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"CONTROL\"\n.nf\n");
    for line in CONTROL_HELP.lines() {
        out.push_str(&roff(line));
        out.push('\n');
    }
    out.push_str(".fi\n");
    out.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        roff_entry(&mut out, code, meaning);
    }
    out.push_str(".SH FILES\n");
    roff_entry(
        &mut out,
        "/etc/passwd, /etc/group",
        "read for --user (no NSS: names come from these files only)",
    );
    roff_entry(
        &mut out,
        "RUN_DIR/state, RUN_DIR/ready, RUN_DIR/notify/NAME, RUN_DIR/control",
        "the services' state, replaced whole on every change, which grace status reads; \
         ready exists while every service is ready and no stop has begun; a notify \
         service's socket; the socket grace restart, stop, start and signal write to \
         (grace's user only). RUN_DIR is the one --run-dir describes (docs/services.md)",
    );
    out.push_str(".SH \"SEE ALSO\"\n");
    out.push_str(
        "docs/configuration.md, docs/compat.md, docs/logging.md, docs/recipes.md and \
         docs/services.md in grace's source.\n",
    );
    out
}

#[cfg(test)]
/// The Markdown table of GRACE_ variables in docs/configuration.md.
pub fn env_table_markdown() -> String {
    let mut out = String::from("| variable | same as | example |\n| --- | --- | --- |\n");
    for option in OPTIONS {
        if let (Some(name), Some(example)) = (option.env_name(), option.env_example) {
            let mut flag = format!("--{}", option.long);
            if let Some(value) = option.value {
                flag.push(' ');
                flag.push_str(value);
            }
            out.push_str(&format!(
                "| `{name}` | `{}` | `{name}={example}` |\n",
                flag.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_option_and_fits_80_columns() {
        let text = help(Personality::Grace);
        for option in OPTIONS {
            assert!(
                text.contains(&format!("--{}", option.long)),
                "{}",
                option.long
            );
        }
        for personality in [Personality::Grace, Personality::Tini, Personality::DumbInit] {
            for line in help(personality).lines() {
                assert!(line.chars().count() <= WIDTH, "{line:?}");
            }
        }
        for subcommand in [
            "grace inspect",
            "grace check FILE",
            "grace import FILE",
            "grace status",
            "grace restart SERVICE",
        ] {
            assert!(text.contains(subcommand), "{subcommand}");
            assert!(
                !help(Personality::Tini).contains(subcommand),
                "{subcommand}"
            );
        }
        assert!(man_page().contains("grace check"));
        assert!(man_page().contains("grace status"));
        assert!(help(Personality::Tini).contains("TINI_KILL_PROCESS_GROUP"));
        assert!(help(Personality::DumbInit).contains("--single-child"));
    }

    /// The generated files must match the source. Regenerate them with
    /// `UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'`.
    #[test]
    fn generated_docs_match_the_source() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
        let man_path = root.join("man/grace.1");
        let man = man_page();
        if update {
            std::fs::create_dir_all(root.join("man")).unwrap();
            std::fs::write(&man_path, &man).unwrap();
        }
        let on_disk = std::fs::read_to_string(&man_path).unwrap_or_default();
        assert!(
            on_disk == man,
            "man/grace.1 differs from src/cli/: UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'"
        );

        let config_path = root.join("docs/configuration.md");
        let (start, end) = ("<!-- env-table:start -->\n", "<!-- env-table:end -->");
        let doc = std::fs::read_to_string(&config_path).unwrap_or_default();
        let table = env_table_markdown();
        let current = doc
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(inside, _)| inside.to_string());
        if update && current.as_deref() != Some(&table) {
            let (before, rest) = doc.split_once(start).expect("env-table markers");
            let (_, after) = rest.split_once(end).expect("env-table end marker");
            std::fs::write(&config_path, format!("{before}{start}{table}{end}{after}")).unwrap();
        } else {
            assert_eq!(
                current.as_deref(),
                Some(table.as_str()),
                "docs/configuration.md's table differs: UPDATE_DOCS=1 cargo nextest run -E 'test(generated)'"
            );
        }
    }

    #[test]
    fn man_page_is_valid_roff_text() {
        let man = man_page();
        for line in man.lines() {
            assert!(
                !line.starts_with('\'') && !line.starts_with("\\-"),
                "{line:?}"
            );
            if let Some(request) = line.strip_prefix('.') {
                let name: String = request.chars().take_while(|c| !c.is_whitespace()).collect();
                assert!(
                    ["\\\"", "TH", "SH", "SS", "PP", "TP", "B", "br", "nf", "fi"]
                        .contains(&name.as_str()),
                    "unknown request {line:?}"
                );
            }
        }
        for option in OPTIONS {
            assert!(man.contains(&roff(option.long)), "{}", option.long);
        }
    }
}
