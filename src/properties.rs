//! Property tests over every parser grace has: signal names, durations,
//! signal lists, the command line, /proc stat, status and cmdline text.
//! Inputs come from a seeded generator (so a failure is reproducible from
//! its seed) mixing random bytes, mutations of valid inputs and known
//! hostile shapes. The properties: never panic, and what is accepted means
//! what it says (names round-trip, durations are bounded, /proc fields are
//! found whatever the command name holds).
//!
//! Hostile inputs found or worth keeping live in tests/corpus/PARSER/, one
//! per file; every one is replayed here, so a crash found once stays fixed.
//! (cargo-fuzz needs a nightly compiler and a library target, and grace is
//! one stable binary with its own C entry point: seeded property tests run
//! on every CI build instead.)

use std::time::Duration;

use crate::signals::Signal;
use crate::{cli, procfs};

/// xorshift64*: small, deterministic, good enough to explore inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Random text from an alphabet chosen to hit the parsers' edges.
    fn text(&mut self, max: usize) -> String {
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
        let length = self.below(max + 1);
        (0..length).map(|_| self.pick(PIECES)).collect()
    }

    /// A copy of `valid` with a few random edits.
    fn mutate(&mut self, valid: &str) -> String {
        let mut bytes = valid.as_bytes().to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(bytes.len() + 1);
            match self.below(4) {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, self.next() as u8),
                2 => bytes.insert(at, b"()\n 0-+"[self.below(7)]),
                _ => bytes.truncate(at),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

const ROUNDS: usize = 20_000;
const SEED: u64 = 0x6772_6163_6521; // "grace!"

fn signal_inputs(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => rng.text(8),
        1 => {
            let valid = rng_pick_signal(rng);
            rng.mutate(valid)
        }
        _ => rng_pick_signal(rng).to_string(),
    }
}

fn rng_pick_signal(rng: &mut Rng) -> &'static str {
    rng.pick(&[
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
    ])
}

#[test]
fn accepted_signal_names_round_trip() {
    let mut rng = Rng(SEED);
    for _ in 0..ROUNDS {
        let text = signal_inputs(&mut rng);
        if let Ok(signal) = text.parse::<Signal>() {
            assert!((1..=64).contains(&signal.number()), "{text:?}");
            assert_eq!(signal.to_string().parse::<Signal>(), Ok(signal), "{text:?}");
        }
    }
}

#[test]
fn accepted_durations_are_bounded_and_exact() {
    let mut rng = Rng(SEED ^ 1);
    for _ in 0..ROUNDS {
        let text = match rng.below(2) {
            0 => rng.text(6),
            _ => {
                let valid = rng.pick(&["500ms", "9s", "1.5s", "2m", "1h", "0", ".25s", "10"]);
                rng.mutate(valid)
            }
        };
        if let Ok(duration) = cli::parse_duration(&text) {
            assert!(duration <= Duration::from_secs(100 * 24 * 3600), "{text:?}");
        }
    }
    for _ in 0..ROUNDS {
        let amount = rng.below(100_000) as u64;
        let (unit, factor) = [("ms", 1), ("s", 1000), ("m", 60_000)][rng.below(3)];
        let parsed = cli::parse_duration(&format!("{amount}{unit}"));
        assert_eq!(parsed, Ok(Duration::from_millis(amount * factor)));
    }
}

#[test]
fn signal_lists_never_panic() {
    let mut rng = Rng(SEED ^ 2);
    for _ in 0..ROUNDS {
        let parts: Vec<String> = (0..rng.below(5)).map(|_| signal_inputs(&mut rng)).collect();
        let _ = cli::parse_signal_list(&parts.join(","));
    }
}

#[test]
fn command_lines_never_panic_and_keep_the_command_intact() {
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
    let mut rng = Rng(SEED ^ 3);
    for _ in 0..ROUNDS {
        let mut words: Vec<String> = (0..rng.below(6))
            .map(|_| match rng.below(4) {
                0 => rng.text(4),
                _ => rng.pick(WORDS).to_string(),
            })
            .collect();
        words.extend(["--", "cmd", "-v", "--help"].map(String::from));
        let args: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        if let Ok(cli::Invocation::Run(config)) = cli::parse(args) {
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
            assert!(
                full.ends_with(&["-v".to_string(), "--help".to_string()]),
                "{words:?}"
            );
        }
    }
}

const STAT: &str = "4242 (worker) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 987654 10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

#[test]
fn stat_parsing_survives_any_command_name_and_any_damage() {
    let mut rng = Rng(SEED ^ 4);
    for _ in 0..ROUNDS {
        // A name the kernel could report: up to 15 bytes, anything but NUL.
        let comm: String = rng
            .text(6)
            .chars()
            .filter(|&c| c != '\0')
            .take(15)
            .collect();
        let text = STAT.replace("worker", &comm);
        let stat = procfs::parse_stat(&text).unwrap_or_else(|| panic!("{text:?}"));
        assert_eq!(stat.comm, comm);
        assert_eq!((stat.pid, stat.state, stat.ppid), (4242, 'S', 1));
        assert_eq!(stat.start_time, 987654);

        let damaged = rng.mutate(&text);
        let _ = procfs::parse_stat(&damaged);
    }
}

const STATUS: &str = "Name:\tsleep\nState:\tS (sleeping)\nTgid:\t7\nNSpid:\t7\t1\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000002\nSigIgn:\t0000000000004000\nSigCgt:\t0000000000000201\nKthread:\t0\n";

#[test]
fn status_and_cmdline_parsing_never_panic() {
    let mut rng = Rng(SEED ^ 5);
    for _ in 0..ROUNDS {
        let status = match rng.below(2) {
            0 => rng.mutate(STATUS),
            _ => rng.text(12),
        };
        let _ = procfs::parse_dispositions(&status);
        let _ = procfs::parse_ns_pid(&status);
        let _ = procfs::parse_tgid(&status);
        let _ = procfs::parse_kernel_thread(&status);
        let raw: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        let _ = procfs::parse_cmdline(&raw);
        let _ = procfs::parse_cmdline_args(&raw);
    }
    assert!(procfs::parse_dispositions(STATUS).is_some());
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
    for (_, text) in corpus("status") {
        assert_eq!(procfs::parse_dispositions(&text), None);
        let _ = procfs::parse_ns_pid(&text);
        let _ = procfs::parse_tgid(&text);
        let _ = procfs::parse_kernel_thread(&text);
    }
}
