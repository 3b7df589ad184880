//! What grace reads is bounded, and what it needs is counted before it
//! starts anything: an endless file is a configuration error, not a
//! panic of PID 1 or a reader that eats the machine's memory.

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::support::{Grace, Mode, TempDir, grace_command, shell_code, wait_for_file};

/// Address space enough for grace many times over, and far too little for
/// a file read whole until memory runs out.
const ADDRESS_SPACE: u64 = 256 << 20;

/// `--config /dev/zero` as PID 1: exit 2 with one message, and the main
/// command never ran (before: the read grew until the allocation failed,
/// and the panic killed the namespace with 139).
#[test]
fn an_endless_services_file_as_pid1_is_exit_2_and_starts_nothing() {
    let dir = TempDir::new();
    let ran = dir.join("ran");
    let main = format!("touch {}", ran.display());
    let mut grace = Grace::builder(Mode::Pid1)
        .args(["--config", "/dev/zero", "--", "sh", "-c", &main])
        .start(&dir);
    let code = grace.wait_code();
    let stderr = grace.stderr();
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    assert!(!ran.exists(), "the main command ran");
}

/// `grace check /dev/zero`: exit 2, within an address space a whole read
/// would overrun (before: an abort on a 4 GB allocation).
#[test]
fn grace_check_of_an_endless_file_is_exit_2_in_bounded_memory() {
    let output = bounded(grace_command().args(["check", "/dev/zero"]))
        .output()
        .expect("run grace check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(shell_code(output.status), 2, "{stderr}");
    assert!(output.stdout.is_empty(), "no summary of a refused file");
}

/// `grace status` whose state file is a link to /dev/zero ends with the
/// exit code of a state it cannot use (1) and a message, within an address
/// space that a whole read would overrun (before: 16 GB in 10 s).
#[test]
fn grace_status_of_an_endless_state_file_is_an_error_in_bounded_memory() {
    let dir = TempDir::new();
    symlink("/dev/zero", dir.join("state")).expect("symlink");
    let output = bounded(
        grace_command()
            .arg("status")
            .arg("--run-dir")
            .arg(dir.path()),
    )
    .output()
    .expect("run grace status");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(shell_code(output.status), 1, "{stderr}");
    assert!(!stderr.is_empty(), "a reason on stderr");
    assert!(output.stdout.is_empty(), "no table of an unusable state");
    assert!(fs::symlink_metadata(dir.join("state")).is_ok());
}

/// `command` with its address space capped at `ADDRESS_SPACE` and no
/// input: an unbounded read fails fast instead of filling the machine.
fn bounded(command: &mut Command) -> &mut Command {
    capped(command.stdin(Stdio::null()), libc::RLIMIT_AS, ADDRESS_SPACE)
}

/// `command` with its `resource` limit, soft and hard, at `value`.
fn capped(command: &mut Command, resource: libc::__rlimit_resource_t, value: u64) -> &mut Command {
    // SAFETY: setrlimit(2) is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// `count` services, each of which marks `DIR/started/NAME` and stays up;
/// every other one says it is ready on fd 3, the rest are ready once
/// started.
fn many_services(dir: &TempDir, count: usize) -> std::path::PathBuf {
    let started = dir.join("started");
    fs::create_dir_all(&started).expect("mkdir");
    let mut text = String::new();
    for index in 0..count {
        let (ready, say) = match index % 2 {
            0 => ("", ""),
            _ => ("ready = { fd = 3 }\n", "echo >&3; "),
        };
        text += &format!(
            "[service.s{index}]\ncommand = [\"sh\", \"-c\", \"touch {}/s{index}; {say}exec sleep 1000\"]\n{ready}",
            started.display()
        );
    }
    let path = dir.join("services.toml");
    fs::write(&path, text).expect("write services.toml");
    path
}

/// grace as PID 1 with RLIMIT_NOFILE at `limit` (soft and hard), `count`
/// services (`many_services`) and `main` as its main command's script.
fn start_with_limit(dir: &TempDir, count: usize, limit: u64, main: &str) -> Grace {
    let config = many_services(dir, count);
    Grace::builder(Mode::Pid1)
        .configure(|command| {
            capped(command, libc::RLIMIT_NOFILE, limit);
        })
        .arg("--config")
        .arg(&config)
        .args(["--", "sh", "-c", main])
        .start(dir)
}

/// A thousand services under `--ulimit nofile=1024:1024` (two pipes each
/// cannot fit): exit 2 with one message before anything starts (before:
/// they started until descriptors ran out, and each later service's exec
/// was blamed).
#[test]
fn services_beyond_the_descriptor_limit_exit_2_and_start_nothing() {
    let dir = TempDir::new();
    let ran = dir.join("ran");
    let main = format!("touch {}", ran.display());
    let mut grace = start_with_limit(&dir, 1000, 1024, &main);
    let code = grace.wait_code();
    let stderr = grace.stderr();
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    let started = fs::read_dir(dir.join("started")).unwrap().count();
    assert_eq!(started, 0, "{started} services started");
    assert!(!ran.exists(), "the main command ran");
}

/// Services that fit under a low limit with what grace counts for itself
/// all start and all become ready: the main command, which starts only
/// then, runs. 40 services, half with a readiness pipe, need 100
/// descriptors of grace, and its own 16, under a limit of 128.
#[test]
fn services_within_the_descriptor_limit_all_start_and_become_ready() {
    let dir = TempDir::new();
    let ran = dir.join("ran");
    let main = format!("touch {}; exec sleep 1000", ran.display());
    let mut grace = start_with_limit(&dir, 40, 128, &main);
    wait_for_file(&ran);
    let started = fs::read_dir(dir.join("started")).unwrap().count();
    assert_eq!(started, 40, "{}", grace.stderr());
    grace.signal(libc::SIGTERM);
    assert_eq!(grace.wait_code(), 143, "{}", grace.stderr());
}
