//! grace: a container init. It starts the command, forwards signals to it,
//! reaps every zombie and exits with the command's status.
//!
//! This file declares the modules and dispatches: block every signal, parse
//! the command line, run a subcommand or set the init up (`init::setup`) and
//! launch it (`init::launch`), and return the exit code. Each concern lives
//! in its own module.

// No std in the binary: its panic and backtrace machinery alone is a
// third of a static std build, and grace only needs the heap (alloc) and
// the system calls in `sys`. Unit tests run under std's harness, and so
// do the fuzz targets (fuzz/), which compile this file as a library with
// `--cfg fuzzing` and reach the parsers through `fuzz`.
#![cfg_attr(not(any(test, fuzzing)), no_std)]
#![cfg_attr(not(any(test, fuzzing)), no_main)]
#![cfg_attr(fuzzing, allow(dead_code, unused_imports))]
#![deny(unsafe_code)]
// A panic in PID 1 takes the whole container down: no unwrap, expect or
// panic outside tests; every failure is an error path.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

mod base;
mod cli;
mod init;
mod inspect;
mod process;
mod services;
#[allow(unsafe_code)]
mod sys;
#[cfg(any(test, fuzzing))]
mod testing;
#[cfg(fuzzing)]
pub use testing::fuzz;

use base::prelude::*;

use base::environment;
use base::log;
use base::signals::{SIGPIPE, SignalSet};
use cli::{Invocation, Parsed, Personality};
use init::{EXIT_INTERNAL, Setup};
use process::spawn::Inherited;

/// Called from the C entry point in `sys` with the raw argv; grace's exit
/// code.
pub fn entry(argv: Vec<Vec<u8>>) -> i32 {
    let code = dispatch(argv);
    // Lines still waiting for a full stderr get a bounded time, whichever
    // way grace ends (nothing waits unless `log::never_block` was called).
    log::finish(log::LAST_LINES);
    code
}

fn dispatch(argv: Vec<Vec<u8>>) -> i32 {
    // First thing: block every signal, so none is lost or acted on by
    // default between now and the event loop. What we replace is what the
    // command must get back.
    let original_mask = match sys::set_signal_mask(SignalSet::ALL.bits()) {
        Ok(mask) => SignalSet::from_bits(mask),
        Err(error) => {
            error!("setup", "cannot block signals: {error}");
            return EXIT_INTERNAL;
        }
    };
    let inherited = Inherited {
        signal_mask: original_mask,
        sigpipe_ignored: sys::is_ignored(SIGPIPE.number()),
    };
    // A subcommand is a short-lived tool, not an init: Ctrl-C must work as
    // usual. SIGPIPE stays blocked so that a closed stdout is an error to
    // ignore rather than a death.
    let as_tool = || {
        let _ = sys::set_signal_mask(original_mask.with(SIGPIPE).bits());
    };

    let mut argv = argv.into_iter();
    let personality = argv.next().map_or(Personality::Grace, |program| {
        Personality::from_program(&program)
    });
    let args: Vec<Vec<u8>> = argv.collect();
    let (usage, help_command) = cli::usage_for(personality, &args);
    let environment = sys::environment();
    let variables = environment::variables(&environment);
    let Parsed {
        invocation,
        warnings,
        grace_period_given,
    } = match cli::parse_with(personality, args, &variables) {
        Ok(parsed) => parsed,
        Err(error) => {
            log::set_format(error.log_format);
            error!("usage", [usage = usage], "{error}");
            if log::current_format() == log::Format::Text {
                let _ = sys::write_all(
                    libc::STDERR_FILENO,
                    format!("{usage}\nTry '{help_command}' for more information.\n").as_bytes(),
                );
            }
            return personality.usage_exit_code();
        }
    };
    let config = match invocation {
        Invocation::Init(config) => config,
        Invocation::Help => return print_stdout(&cli::help(personality)),
        Invocation::Version => return print_stdout(&cli::version(personality)),
        Invocation::License => return print_stdout(&cli::license()),
        Invocation::InspectHelp => return print_stdout(cli::INSPECT_HELP),
        Invocation::CheckHelp => return print_stdout(cli::CHECK_HELP),
        Invocation::ImportHelp => return print_stdout(cli::IMPORT_HELP),
        Invocation::StatusHelp => return print_stdout(cli::STATUS_HELP),
        Invocation::ControlHelp => return print_stdout(cli::CONTROL_HELP),
        Invocation::Inspect(options) => {
            as_tool();
            return inspect::inspect(options, &variables);
        }
        Invocation::Check(file, asked) => {
            as_tool();
            return services::check::check(&file, &asked, &variables);
        }
        Invocation::Import(file) => {
            as_tool();
            #[cfg(feature = "import")]
            return services::import::run(&file);
            #[cfg(not(feature = "import"))]
            {
                error!(
                    "import",
                    [file = file],
                    "grace import is not built into this grace (cargo build --features import)"
                );
                return services::check::EXIT_INVALID;
            }
        }
        Invocation::Status(options) => {
            as_tool();
            return services::show::status(&options, &variables);
        }
        Invocation::Control(options) => {
            as_tool();
            return services::control::run(&options, &variables);
        }
    };
    match Setup::resolve(
        config,
        grace_period_given,
        warnings,
        environment,
        &variables,
        inherited,
    ) {
        Ok(setup) => init::launch(&setup),
        Err(code) => code,
    }
}

fn print_stdout(text: &str) -> i32 {
    let _ = sys::write_all(libc::STDOUT_FILENO, text.as_bytes());
    0
}
