//! Property tests over every parser grace has: signal names, durations,
//! signal lists, the command line, /proc stat, status and cmdline text,
//! the services file, the services' state file.
//! Inputs come from proptest, mixing random text from an alphabet chosen to
//! hit the parsers' edges, mutations of valid inputs and known hostile
//! shapes. Each test asserts what the parser's answer means, beyond not
//! panicking: names and state files round-trip, durations are bounded, a
//! signal list is accepted exactly when each of its names is, an accepted
//! services file is in dependency order and a refused one names a line it
//! has, /proc fields are found whatever surrounds them or the command name
//! holds, and a command line reads the same whole and as arguments.
//!
//! Each property runs `CASES` cases from a fixed seed, so that every CI run
//! tries the same inputs; `PROPTEST_CASES` and `PROPTEST_RNG_SEED` override
//! either to explore further. A failing input is shrunk and printed: keep
//! it as a file in tests/corpus/PARSER/, where every one is replayed, so a
//! crash found once stays fixed. Coverage-guided fuzzing of the same
//! parsers, and of the command line and `grace inspect` whole, is in fuzz/
//! (cargo fuzz, scripts/fuzz); these properties say what is accepted.

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngSeed};

use crate::base::signals::{Signal, SignalSet};
use crate::base::time::Instant;
use crate::services::config as services_file;
use crate::services::container::fake::Fake;
use crate::services::model::Services;
use crate::services::published;
use crate::{cli, process::procfs};

const CASES: u32 = 20_000;
const SEED: u64 = 0x6772_6163_6521; // "grace!"

fn config() -> Config {
    // The default reads the PROPTEST_ variables.
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    // tests/corpus/ is where failures are kept, as inputs a reader can see.
    config.failure_persistence = None;
    config
}

/// Random text, up to `max` pieces from an alphabet chosen to hit the
/// parsers' edges.
fn text(max: usize) -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "0",
        "1",
        "9",
        "15",
        "34",
        "64",
        "65",
        "-",
        "+",
        ".",
        ",",
        ":",
        " ",
        "\t",
        "\n",
        "(",
        ")",
        "s",
        "ms",
        "m",
        "h",
        "SIG",
        "sig",
        "TERM",
        "RTMIN",
        "RTMAX",
        "e",
        "x",
        "\u{0}",
        "é",
        "Ｔ",
        "99999999999999999999",
        "SigBlk:",
        "\u{7f}",
    ];
    prop::collection::vec(select(PIECES), 0..=max).prop_map(|pieces| pieces.concat())
}

#[derive(Debug, Clone)]
enum Edit {
    Remove(Index),
    Insert(Index, u8),
    Truncate(Index),
}

/// One to four random edits, to damage a valid input.
fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![any::<u8>(), select(&b"()\n 0-+"[..])];
    let edit = prop_oneof![
        any::<Index>().prop_map(Edit::Remove),
        (any::<Index>(), byte).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<Index>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..=4)
}

/// A copy of `valid` with `edits` made.
fn damage(valid: &str, edits: &[Edit]) -> String {
    let mut bytes = valid.as_bytes().to_vec();
    for edit in edits {
        match edit {
            Edit::Remove(at) if !bytes.is_empty() => {
                bytes.remove(at.index(bytes.len()));
            }
            Edit::Remove(_) => {}
            Edit::Insert(at, byte) => bytes.insert(at.index(bytes.len() + 1), *byte),
            Edit::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One of `valid`, damaged.
fn mutated(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    (select(valid), edits()).prop_map(|(valid, edits)| damage(valid, &edits))
}

const SIGNALS: &[&str] = &[
    "TERM",
    "SIGTERM",
    "sigterm",
    "15",
    "RTMIN+3",
    "SIGRTMAX-1",
    "RTMIN",
    "RTMAX",
    "KILL",
    "CLD",
    "IOT",
    "64",
];

fn signal_input() -> impl Strategy<Value = String> {
    prop_oneof![
        text(8),
        mutated(SIGNALS),
        select(SIGNALS).prop_map(String::from),
    ]
}

const WORDS: &[&str] = &[
    "-s",
    "-v",
    "-vv",
    "-q",
    "-p",
    "-e",
    "--",
    "--grace-period",
    "--stop-on",
    "--stop-signal",
    "--stop-order",
    "--stop-delay",
    "--pre-stop",
    "--forward-to",
    "--help",
    "-h",
    "-V",
    "inspect",
    "check",
    "--json",
    "TERM",
    "3",
    "1s",
    "all",
    "group",
    "-x",
    "--bogus",
    "=",
    "",
];

/// A services file that uses every key, to be damaged.
const SERVICES: &str = r#"grace_period = "25s"
[service.db]
command = ["/usr/bin/db", "--data", "/data"]
ready = { fd = 3 }
stop_signal = "INT"
stop_timeout = "15s"
start_timeout = "1m"
max_restarts = 3
[service.app]
command = ["server"]
after = ["db", "cache"]
restart = "on-failure"
user = "app"
environment = { PORT = "8080", PATH = "/app" }
working_directory = "/app"
ready = { exec = ["/bin/true", "-x"], interval = "200ms" }
[service.cache]
command = ["true"]
ready = { tcp = "[::1]:6379" }
[service.n]
command = ["sh"]
ready = "notify"
"#;

/// Pieces of TOML, to be assembled at random.
const TOML_PIECES: &[&str] = &[
    "[service.a]\n",
    "[service.b]\n",
    "[service]\n",
    "[[service]]\n",
    "command = [\"true\"]\n",
    "command = []\n",
    "after = [\"a\"]\n",
    "after = [\"b\", \"a\"]\n",
    "ready = { fd = 3 }\n",
    "ready = { exec = [\"sh\"] }\n",
    "ready = \"notify\"\n",
    "ready = { tcp = \"",
    "stop_signal = \"",
    "grace_period = ",
    "environment = { ",
    "a.b.c = 1\n",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "\n",
    "#",
    " ",
    "\\u0000",
    "\\",
    "1979-05-27T07:32:00Z",
    "1e400",
    "-0",
    "0x7f",
    "inf",
    "nan",
    "9223372036854775808",
    "é",
    "\u{0}",
];

fn services_input() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(select(TOML_PIECES), 0..24).prop_map(|pieces| pieces.concat()),
        edits().prop_map(|edits| damage(SERVICES, &edits)),
    ]
}

/// What an accepted file must mean: every service after those it starts
/// after, its dependents after it, and the two relations the same.
fn order_holds(services: &Services) -> Result<(), TestCaseError> {
    for (at, service) in services.services.iter().enumerate() {
        prop_assert!(!service.command.is_empty());
        for &before in &service.after {
            prop_assert!(before < at, "{} after {}", service.name, before);
            prop_assert!(services.services[before].dependents.contains(&at));
        }
        for &later in &service.dependents {
            prop_assert!(later > at);
            prop_assert!(services.services[later].after.contains(&at));
        }
    }
    Ok(())
}

const STAT: &str = "4242 (worker) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 987654 10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

const STATUS: &str = "Name:\tsleep\nState:\tS (sleeping)\nTgid:\t7\nNSpid:\t7\t1\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000002\nSigIgn:\t0000000000004000\nSigCgt:\t0000000000000201\nKthread:\t0\n";

const RUN_STATE: &str = "grace-status 1\ngrace\t1\t4242\t1000000\t0\n\
service\tdb\tready\t-\t12\t12\t0\t999000\t-\n\
service\tjob\texited\tsignal:9\t-\t-\t3\t995000\t-\n\
service\th\trestarting\t-\t-\t-\t3\t999900\t1002400\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn state_files_never_panic_and_accepted_ones_read_back(
        text in prop_oneof![edits().prop_map(|e| damage(RUN_STATE, &e)), text(16)],
    ) {
        if let Ok(state) = published::decode(&text) {
            let services: Vec<published::ServiceStatus> =
                state.services.iter().map(|(service, _)| service.clone()).collect();
            let mut again = String::new();
            let grace = (state.grace_pid, state.grace_start);
            published::encode(&mut again, grace, state.published, &services, state.stopping);
            let read = published::decode(&again);
            prop_assert!(read.is_ok(), "{:?} from {:?}", again, text);
            let read = read.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!((read.grace_pid, read.grace_start), grace);
            prop_assert_eq!(read.published, state.published);
            let back: Vec<published::ServiceStatus> =
                read.services.into_iter().map(|(service, _)| service).collect();
            prop_assert_eq!(back, services);
        }
    }

    #[test]
    fn accepted_signal_names_round_trip(text in signal_input()) {
        if let Ok(signal) = text.parse::<Signal>() {
            prop_assert!((1..=64).contains(&signal.number()), "{text:?}");
            prop_assert_eq!(signal.to_string().parse::<Signal>(), Ok(signal), "{:?}", text);
        }
    }

    #[test]
    fn accepted_durations_are_bounded(
        text in prop_oneof![
            text(6),
            mutated(&["500ms", "9s", "1.5s", "2m", "1h", "0", ".25s", "10"]),
        ]
    ) {
        if let Ok(duration) = cli::parse_duration(&text) {
            prop_assert!(duration <= Duration::from_secs(100 * 24 * 3600), "{text:?}");
        }
    }

    #[test]
    fn whole_durations_are_exact(
        amount in 0..100_000u64,
        (unit, factor) in select(&[("ms", 1), ("s", 1000), ("m", 60_000)][..]),
    ) {
        let parsed = cli::parse_duration(&format!("{amount}{unit}"));
        prop_assert_eq!(parsed, Ok(Duration::from_millis(amount * factor)));
    }

    #[test]
    fn a_signal_list_is_accepted_exactly_when_each_name_is_and_holds_those(
        parts in prop::collection::vec(signal_input(), 0..5),
    ) {
        let list = parts.join(",");
        // Split again: a part may hold a comma of its own.
        let each: Result<Vec<Signal>, _> =
            list.split(',').map(|name| name.trim().parse::<Signal>()).collect();
        match (cli::parse_signal_list(&list), each) {
            (Ok(set), Ok(signals)) => {
                let expected = signals.iter().fold(SignalSet::EMPTY, |set, &s| set.with(s));
                prop_assert_eq!(set, expected, "{:?}", list);
            }
            (Err(_), Err(_)) => {}
            (list_read, each) => {
                prop_assert!(false, "{list:?}: the list {list_read:?}, its names {each:?}");
            }
        }
    }

    #[test]
    fn command_lines_never_panic_and_keep_the_command_intact(
        words in prop::collection::vec(
            prop_oneof![1 => text(4), 3 => select(WORDS).prop_map(String::from)],
            0..6,
        )
    ) {
        let mut words = words;
        words.extend(["--", "cmd", "-v", "--help"].map(String::from));
        let args: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        if let Ok(cli::Invocation::Init(config)) = cli::parse(args) {
            // Whatever came before, "-- cmd -v --help" is the command and
            // its arguments, untouched, unless an earlier word was taken as
            // the command.
            let command = String::from_utf8_lossy(&config.command).into_owned();
            let mut full = vec![command];
            full.extend(
                config
                    .args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned()),
            );
            prop_assert!(
                full.ends_with(&["-v".to_string(), "--help".to_string()]),
                "{words:?}"
            );
        }
    }

    #[test]
    fn stat_parsing_survives_any_command_name_and_any_damage(
        name in text(6),
        edits in edits(),
    ) {
        // A name the kernel could report: up to 15 bytes, anything but NUL.
        let comm: String = name.chars().filter(|&c| c != '\0').take(15).collect();
        let text = STAT.replace("worker", &comm);
        let stat = procfs::parse_stat(&text);
        prop_assert!(stat.is_some(), "{text:?}");
        let stat = stat.unwrap();
        prop_assert_eq!(&stat.comm, &comm);
        prop_assert_eq!((stat.pid, stat.state, stat.ppid), (4242, 'S', 1));
        prop_assert_eq!(stat.start_time, 987654);
        prop_assert_eq!(procfs::parse_kernel_thread(&text), Some(false), "{:?}", text);

        let _ = procfs::parse_stat(&damage(&text, &edits));
    }

    #[test]
    fn services_files_accepted_are_in_order_and_refused_name_a_line_of_theirs(
        text in services_input(),
    ) {
        match services_file::parse(&text, &Fake::new()) {
            Ok(services) => order_holds(&services)?,
            Err(error) => {
                // None: the file as a whole (no service at all).
                if let Some(line) = error.line {
                    let lines = text.matches('\n').count() + 1;
                    prop_assert!((1..=lines).contains(&line), "line {line} of {lines}: {text:?}");
                }
                prop_assert!(!error.message.is_empty(), "{text:?}");
            }
        }
    }

    #[test]
    fn status_fields_read_back_whatever_lines_surround_them(
        tgid in 1..=i32::MAX,
        ns_pids in prop::collection::vec(1..=i32::MAX, 1..4),
        masks in any::<[u64; 3]>(),
        (before, after) in (status_noise(), status_noise()),
        damaged in prop_oneof![edits().prop_map(|e| damage(STATUS, &e)), text(12)],
    ) {
        let ns_pids: Vec<String> = ns_pids.iter().map(i32::to_string).collect();
        let [blocked, ignored, caught] = masks;
        let status = format!(
            "{before}Tgid:\t{tgid}\nNSpid:\t{}\nSigBlk:\t{blocked:016x}\n\
             SigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}\n{after}",
            ns_pids.join("\t"),
        );
        prop_assert_eq!(procfs::parse_tgid(&status), Some(tgid), "{:?}", status);
        let own = ns_pids.last().and_then(|pid| pid.parse().ok());
        prop_assert_eq!(procfs::parse_ns_pid(&status), own, "{:?}", status);
        let expected = procfs::Dispositions { blocked, ignored, caught };
        prop_assert_eq!(procfs::parse_dispositions(&status), Some(expected), "{:?}", status);

        // Damaged, it may be refused, but never with a panic.
        let _ = procfs::parse_dispositions(&damaged);
        let _ = procfs::parse_ns_pid(&damaged);
        let _ = procfs::parse_tgid(&damaged);
        let _ = procfs::parse_kernel_thread(&damaged);
    }

    #[test]
    fn a_command_line_reads_the_same_whole_and_as_arguments(
        raw in prop::collection::vec(prop_oneof![any::<u8>(), Just(0u8)], 0..64),
    ) {
        let args = procfs::parse_cmdline_args(&raw);
        let trimmed = raw.strip_suffix(&[0]).unwrap_or(&raw);
        let nuls = trimmed.iter().filter(|&&b| b == 0).count();
        let count = if trimmed.is_empty() { 0 } else { nuls + 1 };
        prop_assert_eq!(args.len(), count, "{:?}", raw);
        prop_assert_eq!(procfs::parse_cmdline(&raw), args.join(" "), "{:?}", raw);
    }
}

/// Lines of /proc/PID/status that are none of the fields the parsers read:
/// random text, cut at its newlines.
fn status_noise() -> impl Strategy<Value = String> {
    prop::collection::vec(text(6), 0..4).prop_map(|lines| {
        let mut noise = String::new();
        for line in lines.iter().flat_map(|text| text.split('\n')) {
            let field = ["Tgid", "NSpid", "SigBlk", "SigIgn", "SigCgt"]
                .iter()
                .any(|name| line.starts_with(name));
            if !field {
                noise.push_str(line);
                noise.push('\n');
            }
        }
        noise
    })
}

#[test]
fn the_valid_state_file_parses() {
    let state = published::decode(RUN_STATE).unwrap();
    assert_eq!(state.services.len(), 3);
    assert_eq!(state.published, Instant::from_millis(1_000_000));
}

#[test]
fn the_valid_status_parses() {
    assert!(procfs::parse_dispositions(STATUS).is_some());
}

#[test]
fn the_valid_services_file_parses_in_order() {
    let services = services_file::parse(SERVICES, &Fake::new()).unwrap();
    let names: Vec<&str> = services.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "cache", "app", "n"]);
    order_holds(&services).unwrap();
}

/// Every file under tests/corpus/PARSER/, with its name.
fn corpus(parser: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(parser);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

#[test]
fn the_corpus_is_refused_without_a_panic() {
    for (name, text) in corpus("signal") {
        assert!(text.parse::<Signal>().is_err(), "signal/{name}");
    }
    for (name, text) in corpus("duration") {
        assert!(cli::parse_duration(&text).is_err(), "duration/{name}");
    }
    for (name, text) in corpus("stat") {
        // Some of these are damaged but still parse; none may panic.
        let _ = (name, procfs::parse_stat(&text));
    }
    for (name, text) in corpus("services") {
        let result = services_file::parse(&text, &Fake::new());
        assert!(result.is_err(), "services/{name}: {result:?}");
    }
    for (name, text) in corpus("state") {
        assert!(published::decode(&text).is_err(), "state/{name}");
    }
    for (_, text) in corpus("status") {
        assert_eq!(procfs::parse_dispositions(&text), None);
        let _ = procfs::parse_ns_pid(&text);
        let _ = procfs::parse_tgid(&text);
        let _ = procfs::parse_kernel_thread(&text);
    }
}
