//! The "Several services" section of BENCHMARKS.md. bench/services and
//! scripts/compare-services each rewrite their own marked block in it;
//! bench/run, which regenerates the rest of the file, keeps the section.

use std::fs;
use std::path::Path;

pub const HEADING: &str = "## 10. Several services";

const INTRO: &str = "grace's `--config` against supervisord, runit's runsvdir, s6-svscan, \
Horust, pm2-runtime, honcho, foreman and pid1 (issues 14 and 23; the versions are under the \
second table): what each did to the same three services in a container \
(`scripts/compare-services`), and the figures of a 10-service tree (`bench/services`).";

/// Replaces the block between `<!-- NAME:start -->` and `<!-- NAME:end -->`
/// in `file` with `content`, or appends it (with the section's heading if
/// the file has none).
pub fn write_block(file: &Path, name: &str, content: &str) -> std::io::Result<()> {
    let text = fs::read_to_string(file).unwrap_or_default();
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let block = format!("{start}\n{}\n{end}", content.trim_end());
    let updated = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &text[..a], &text[b + end.len()..])
        }
        _ => {
            let mut updated = text.trim_end().to_string();
            if !updated.contains(HEADING) {
                updated.push_str(&format!("\n\n{HEADING}\n\n{INTRO}"));
            }
            format!("{updated}\n\n{block}\n")
        }
    };
    fs::write(file, updated)
}

/// Today's date (UTC), for the blocks.
pub fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The machine the figures come from: cores, CPU model, kernel.
pub fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu}), Linux {}", kernel.trim())
}
