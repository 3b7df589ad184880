//! The fuzz targets' way in (fuzz/fuzz_targets/): one function per kind
//! of input grace reads from outside, each feeding arbitrary bytes to the
//! parsers and to what consumes their results. Compiled only with
//! `--cfg fuzzing`, which `cargo fuzz` sets: never in the binary.

use core::str::FromStr;

use crate::base::prelude::*;
use crate::base::time::Instant;
use crate::cli::{self, Personality};
use crate::services::container::{Container, Errno};
use crate::services::{check, config, published, runtime, show};
use crate::{process::procfs, process::user};

/// The command line and environment of one personality: the first byte
/// picks it; the rest is NUL-separated words, the arguments up to an
/// empty word and `NAME=value` entries of the environment after it.
pub fn command_line(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let personality = match which % 3 {
        0 => Personality::Grace,
        1 => Personality::Tini,
        _ => Personality::DumbInit,
    };
    let mut words = rest.split(|&b| b == 0);
    let args: Vec<Vec<u8>> = words
        .by_ref()
        .take_while(|word| !word.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let environment: Vec<(Vec<u8>, Vec<u8>)> = words
        .filter_map(|entry| {
            let at = entry.iter().position(|&b| b == b'=')?;
            Some((entry[..at].to_vec(), entry[at + 1..].to_vec()))
        })
        .collect();
    let _ = cli::usage_for(personality, &args);
    let _ = cli::parse_with(personality, args.clone(), &environment);
    // As `grace inspect` reads another grace's command line.
    let _ = cli::parse(args);
}

/// A container where every path is an executable file and a directory,
/// with a fixed user database: the services file's checks all run, and
/// none touches the machine.
struct Anything;

impl Container for Anything {
    fn executable(&self, _: &str) -> Result<(), Errno> {
        Ok(())
    }

    fn directory(&self, _: &str) -> Result<(), Errno> {
        Ok(())
    }

    fn read(&self, path: &str) -> String {
        match path {
            "/etc/passwd" => "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n".into(),
            "/etc/group" => "root:x:0:\napp:x:1000:app\n".into(),
            _ => String::new(),
        }
    }

    fn text(&self, _: &str) -> Result<String, Errno> {
        Ok("A=1\n".into())
    }

    fn variable(&self, name: &str) -> Option<String> {
        (name == "PATH").then(|| "/usr/bin:/bin".into())
    }

    fn working_directory(&self) -> Result<String, Errno> {
        Ok("/".into())
    }

    fn descriptor_limit(&self) -> u64 {
        1024
    }
}

/// The services file, from TOML text to the checked model, and what
/// `grace check` and the descriptor count make of the model.
pub fn services_file(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(services) = config::parse(text, &Anything) {
        let _ = check::summary(&services);
        let _ = runtime::descriptors_needed(&services);
    }
}

/// The /proc parsers, each given the same bytes: stat (and the
/// dispositions it carries), status (dispositions, namespace pid, thread
/// group), cmdline and environ; and the user database's.
pub fn proc_files(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = procfs::parse_stat(&text);
    let _ = procfs::parse_stat_dispositions(&text);
    let _ = procfs::parse_kernel_thread(&text);
    let _ = procfs::parse_dispositions(&text);
    let _ = procfs::parse_ns_pid(&text);
    let _ = procfs::parse_tgid(&text);
    let _ = procfs::parse_cmdline(data);
    let _ = procfs::parse_cmdline_args(data);
    let _ = procfs::service_in_environ(data);
    let _ = user::parse_passwd(&text);
    let _ = user::parse_group(&text);
    if let Ok(spec) = user::UserSpec::from_str(&text) {
        let _ = user::resolve(&spec, &text, &text);
    }
}

/// The state file `grace status` reads, and both its renderings.
pub fn state_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(published) = published::decode(&text) {
        let _ = published.all_ready();
        let now = Instant::from_millis(u64::MAX / 2);
        for running in [false, true] {
            let _ = show::render_text(&published, running, now);
            let _ = show::render_json(&published, running, now);
        }
    }
}

/// Signal and duration values, and every other option value.
pub fn values(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let _ = cli::parse_signal(text);
    let _ = cli::parse_signal_list(text);
    let _ = cli::stop_on(text);
    let _ = cli::stop_signal(text);
    let _ = cli::stop_order(text);
    let _ = cli::forward_to(text);
    let _ = cli::parse_code(text);
    let _ = cli::parse_rewrite(text);
    let _ = cli::parse_duration(text);
    let _ = cli::parse_path(text);
    let _ = user::UserSpec::from_str(text);
}

/// One sd_notify datagram.
pub fn notify(data: &[u8]) {
    let _ = runtime::says_ready(data);
}

pub use crate::inspect::fuzz::proc_tree;
