//! The packages scripts/release makes beside the binaries, as tini ships
//! them: the amd64 .deb installed by dpkg into a Debian rootfs made with
//! debootstrap from this machine's own apt source, whose /usr/bin/grace
//! then stops a podman container as its PID 1; the .rpm's file list as
//! Debian's `rpm` reads it.
//!
//! debootstrap takes minutes (`--variant=minbase` on a 2-core machine: the
//! whole test took 104 s from scratch at a load of 5, debootstrap alone
//! 319 s at a load of 12; 6 s with the rootfs made): the rootfs is made
//! once in the target directory and copied for each run, so a test run
//! pays for it once, a retry not again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::containers::{Container, Rootfs, Runtime, install, static_binaries};
use crate::support::{TempDir, check, finished_cleanup, host_grace_bin, signals_received};

const PLATFORM: &str = "linux/amd64";

/// `scripts/release --out DIR linux/amd64`: DIR with the binary, the .deb,
/// the .rpm and SHA256SUMS, which must list `package` and hold for all.
fn release(dir: &TempDir, package: &str) -> PathBuf {
    let dist = dir.join("dist");
    let output = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release"))
        .arg("--out")
        .arg(&dist)
        .arg(PLATFORM)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/release");
    check(output, "scripts/release");
    sums_cover(&dist, package);
    dist
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// SHA256SUMS lists `name`, and every file it lists matches.
fn sums_cover(dist: &Path, name: &str) {
    let sums = fs::read_to_string(dist.join("SHA256SUMS")).expect("SHA256SUMS");
    assert!(
        sums.lines().any(|l| l.ends_with(&format!("  {name}"))),
        "SHA256SUMS does not list {name}:\n{sums}"
    );
    let output = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dist)
        .output()
        .expect("sha256sum");
    check(output, "sha256sum --check");
}

#[test]
fn rpm_installs_grace_and_its_man_page_owned_by_root() {
    let dir = TempDir::new();
    let rpm = format!("grace-init-{}-1.x86_64.rpm", version());
    let dist = release(&dir, &rpm);
    let query = |format: &str| {
        let output = Command::new("rpm")
            .args(["-qp", "--queryformat", format])
            .arg(dist.join(&rpm))
            .output()
            .expect("rpm (apt-get install rpm)");
        check(output, "rpm -qp")
    };
    assert_eq!(
        query("%{NAME} %{VERSION} %{ARCH}"),
        format!("grace-init {} x86_64", version())
    );
    let output = Command::new("rpm")
        .arg("-qlp")
        .arg(dist.join(&rpm))
        .output()
        .expect("rpm");
    let files = check(output, "rpm -qlp");
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(files, ["/usr/bin/grace", "/usr/share/man/man1/grace.1.gz"]);
    // Owners, modes and the binary's bytes, as released.
    let listed = query("[%{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMODES:perms} %{FILEDIGESTS}\\n]");
    let binary = dist.join(format!("grace-{}-linux-amd64", version()));
    let digest = check(
        Command::new("sha256sum").arg(&binary).output().unwrap(),
        "sha256sum",
    );
    let digest = digest.split_whitespace().next().unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[0], format!("root:root -rwxr-xr-x {digest}"));
    assert!(lines[1].starts_with("root:root -rw-r--r-- "), "{listed}");
}

/// The first suite of this machine's Debian apt source (the one .ci/run
/// installs from) and its URI: deb822 `.sources` files or one-line
/// `sources.list` entries, the first that is neither -updates nor
/// -security.
fn apt_source() -> (String, String) {
    let mut files: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.insert(0, PathBuf::from("/etc/apt/sources.list"));
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_default();
        let name = file.to_string_lossy();
        let entries: Vec<(String, String)> = if name.ends_with(".sources") {
            text.split("\n\n")
                .filter_map(|stanza| {
                    let field = |key: &str| {
                        stanza.lines().find_map(|l| {
                            l.strip_prefix(key)
                                .and_then(|v| v.strip_prefix(':'))
                                .map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
                        })
                    };
                    let types = field("Types")?;
                    if !types.iter().any(|t| t == "deb") {
                        return None;
                    }
                    let uri = field("URIs")?.into_iter().next()?;
                    let suite = field("Suites")?.into_iter().find(|s| !s.contains('-'))?;
                    Some((uri, suite))
                })
                .collect()
        } else if name.ends_with(".list") {
            text.lines()
                .filter_map(|l| {
                    let mut words = l.split_whitespace().filter(|w| !w.starts_with('['));
                    (words.next()? == "deb").then_some(())?;
                    let uri = words.next()?.to_string();
                    let suite = words.next()?.to_string();
                    (!suite.contains('-')).then_some((uri, suite))
                })
                .collect()
        } else {
            Vec::new()
        };
        if let Some(entry) = entries.into_iter().next() {
            return entry;
        }
    }
    panic!("no Debian suite in /etc/apt/sources.list or /etc/apt/sources.list.d/");
}

/// A minbase Debian rootfs of that suite, made once in the target
/// directory (a run that fails leaves only a .partial directory behind,
/// which the next one starts again).
fn debian_rootfs() -> PathBuf {
    let (uri, suite) = apt_source();
    let target_dir = Path::new(host_grace_bin())
        .parent()
        .and_then(Path::parent)
        .expect("target dir");
    let done = target_dir.join(format!("debian-rootfs-{suite}"));
    if done.join("usr/bin/dpkg").exists() {
        return done;
    }
    let partial = target_dir.join(format!("debian-rootfs-{suite}.partial"));
    let _ = fs::remove_dir_all(&partial);
    let output = Command::new("debootstrap")
        .args(["--variant=minbase", &suite])
        .arg(&partial)
        .arg(&uri)
        .stdin(Stdio::null())
        .output()
        .expect("debootstrap (apt-get install debootstrap)");
    check(output, &format!("debootstrap {suite} {uri}"));
    fs::rename(&partial, &done).expect("rename the rootfs");
    done
}

#[test]
fn deb_installs_into_debian_and_its_grace_stops_a_container_gracefully() {
    let dir = TempDir::new();
    let deb = format!("grace-init_{}_amd64.deb", version());
    let dist = release(&dir, &deb);

    // A copy of the rootfs for this test, laid out as the containers
    // harness expects: DIR/rootfs, with DIR/markers mounted at /markers.
    let debian = debian_rootfs();
    let root = dir.join("rootfs");
    check(
        Command::new("cp")
            .arg("-a")
            .arg(&debian)
            .arg(&root)
            .output()
            .unwrap(),
        "cp -a the rootfs",
    );
    fs::create_dir_all(dir.join("markers")).unwrap();
    fs::create_dir_all(root.join("markers")).unwrap();
    assert!(!root.join("usr/bin/grace").exists());
    fs::copy(dist.join(&deb), root.join("tmp").join(&deb)).unwrap();
    let output = Command::new("chroot")
        .arg(&root)
        .args(["dpkg", "-i", &format!("/tmp/{deb}")])
        .stdin(Stdio::null())
        .output()
        .expect("chroot");
    check(output, "dpkg -i");
    let listed = check(
        Command::new("chroot")
            .arg(&root)
            .args(["dpkg", "-L", "grace-init"])
            .output()
            .unwrap(),
        "dpkg -L",
    );
    for path in ["/usr/bin/grace", "/usr/share/man/man1/grace.1.gz"] {
        assert!(
            listed.lines().any(|l| l == path),
            "dpkg -L: no {path}:\n{listed}"
        );
        assert!(root.join(&path[1..]).exists(), "{path} not installed");
    }

    // The probe is the suite's own (static); the packaged grace is PID 1,
    // Debian's dash its shell, with a setsid daemon beside the main process.
    install(&root, &static_binaries().probe, "/probe");
    let rootfs = Rootfs { dir };
    let script = "/probe --dir /markers --name daemon --daemonize --cleanup-ms 300; \
                  exec /probe --dir /markers --name main --cleanup-ms 300";
    let mut container = Container::start(
        Runtime::Podman,
        rootfs,
        &["/usr/bin/grace", "--", "/bin/sh", "-c", script],
        &[],
    );
    let markers = container.rootfs.markers();
    crate::support::wait_until("both probes ready", || {
        ["main", "daemon"]
            .iter()
            .all(|n| markers.join(format!("{n}.ready")).exists())
    });
    let (code, _) = container.stop(Duration::from_secs(10));
    for name in ["main", "daemon"] {
        assert!(
            signals_received(&markers, name).contains(&15),
            "{name} got no SIGTERM:\n{}",
            container.logs()
        );
        assert!(
            finished_cleanup(&markers, name),
            "{name} did not finish its cleanup:\n{}",
            container.logs()
        );
    }
    assert_eq!(code, 143, "the main process's SIGTERM, as 128 + 15");
}
