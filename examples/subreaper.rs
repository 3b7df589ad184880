//! subreaper COMMAND [ARG]...: registers as child subreaper, then execs
//! COMMAND, which keeps the attribute (it survives execve).
//!
//! The emulated test runs need it: qemu-user 7.2 (Debian 12) answers EINVAL
//! to PR_SET_CHILD_SUBREAPER, which its prctl emulation does not pass on,
//! so an emulated grace cannot register itself. Started as
//! `subreaper qemu-ARCH-static grace …`, the emulated grace is a subreaper
//! all the same, and its stop as a subreaper (descendants from /proc,
//! signalled through pidfds) is what the test exercises; grace's own prctl
//! call, and the warning it logs when that fails, are not.

use std::os::unix::process::CommandExt;
use std::process::Command;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: subreaper COMMAND [ARG]...");
        std::process::exit(2);
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } != 0 {
        eprintln!("subreaper: {}", std::io::Error::last_os_error());
        std::process::exit(125);
    }
    let error = Command::new(&program).args(args).exec();
    eprintln!("subreaper: {}: {error}", program.to_string_lossy());
    std::process::exit(127);
}
