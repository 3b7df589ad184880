//! grace's heap (src/sys/runtime.rs) is its own GlobalAlloc over the C
//! library's malloc, and in the product that C library is musl. The unit
//! tests that call the allocator directly run, in the ordinary suite,
//! against the host's glibc; this runs them again built for musl, so that
//! the aligned path (aligned_alloc, for alignments above malloc's) is
//! exercised with the very allocator the static binary links.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::containers::MUSL;
use crate::support::grace_bin;

#[test]
fn the_allocator_unit_tests_pass_with_musls_malloc() {
    // CARGO_BIN_EXE_grace is TARGET/debug/grace.
    let target_dir = Path::new(grace_bin())
        .parent()
        .and_then(Path::parent)
        .expect("target dir");
    let output = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args(["test", "--target", MUSL, "--bin", "grace"])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--", "sys::runtime::tests::"])
        // The release link flags of .cargo/config.toml drop the unwind
        // tables, and std's harness reports a failing test by unwinding:
        // without them it would abort at the first failure, silently.
        // Empty, this replaces them all; musl's malloc is the same.
        .env("CARGO_ENCODED_RUSTFLAGS", "")
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the allocator's tests failed on {MUSL} (rustup target add {MUSL}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A filter that matched nothing would pass too.
    let passed: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .expect("a test result line");
    assert!(passed >= 4, "only {passed} allocator tests ran:\n{stdout}");
}
