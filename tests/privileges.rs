//! `--user` and `--no-new-privs`: the command (and the pre-stop command)
//! runs with the user's groups, gid and uid, read from the container's own
//! /etc/passwd and /etc/group, while grace stays root; with
//! `--no-new-privs` not even a setuid-root binary gives it uid 0. What the
//! command got is read from its /proc/self/status, as the kernel sees it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{
    Grace, Mode, TempDir, grace_bin, has_event, json_log, json_string, status_field, wait_for_file,
    wait_until,
};

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
app:x:4242:4243:App:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

const GROUP: &str = "\
root:x:0:
app:x:4243:
extra:x:4244:other,app
audio:x:4245:app
unrelated:x:4246:other
";

/// A scratch directory anyone may write to (the command is not root).
fn open_dir() -> TempDir {
    let dir = TempDir::new();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// The words that bind-mount our passwd and group files over /etc's in the
/// namespace's own mount namespace, then exec grace.
fn with_user_database(dir: &TempDir) -> Vec<String> {
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    fs::write(&passwd, PASSWD).unwrap();
    fs::write(&group, GROUP).unwrap();
    vec![
        "sh".into(),
        "-c".into(),
        "mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/group && shift 2 && exec \"$@\""
            .into(),
        "sh".into(),
        passwd.display().to_string(),
        group.display().to_string(),
    ]
}

/// A command that writes its ids, groups, NoNewPrivs and HOME to `out`.
fn report(out: &Path) -> String {
    format!(
        "grep -E '^(Uid|Gid|Groups|NoNewPrivs):' /proc/self/status > {out}.tmp; \
         echo \"HOME: $HOME\" >> {out}.tmp; mv {out}.tmp {out}",
        out = out.display()
    )
}

fn field(report: &str, name: &str) -> String {
    report
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn run_reporting(dir: &TempDir, options: &[&str], command: &str) -> (i32, String) {
    let launcher = with_user_database(dir);
    let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .args(options)
        .args(["--", "sh", "-c", command])
        .start_as(Path::new(grace_bin()), &launcher, dir);
    let code = grace.wait_code();
    (code, grace.stderr())
}

#[test]
fn a_user_name_gets_its_ids_groups_and_home() {
    let dir = open_dir();
    let out = dir.join("ids");
    let (code, stderr) = run_reporting(&dir, &["--user", "app"], &report(&out));
    assert_eq!(code, 0, "{stderr}");
    let ids = fs::read_to_string(&out).unwrap();
    // Real, effective, saved and filesystem ids.
    assert_eq!(field(&ids, "Uid"), "4242 4242 4242 4242", "{ids}");
    assert_eq!(field(&ids, "Gid"), "4243 4243 4243 4243", "{ids}");
    assert_eq!(field(&ids, "Groups"), "4243 4244 4245", "{ids}");
    assert_eq!(field(&ids, "NoNewPrivs"), "0");
    assert_eq!(field(&ids, "HOME"), "/home/app");
}

#[test]
fn numeric_ids_and_an_explicit_group() {
    let dir = open_dir();
    let out = dir.join("ids");
    let (code, stderr) = run_reporting(&dir, &["-u", "5000:audio"], &report(&out));
    assert_eq!(code, 0, "{stderr}");
    let ids = fs::read_to_string(&out).unwrap();
    assert_eq!(field(&ids, "Uid"), "5000 5000 5000 5000", "{ids}");
    assert_eq!(field(&ids, "Gid"), "4245 4245 4245 4245", "{ids}");
    assert_eq!(field(&ids, "Groups"), "4245", "{ids}");
    assert_eq!(field(&ids, "HOME"), "/", "no passwd entry: HOME=/");

    // A uid without an entry and without a group: gid 0, and a warning.
    let dir = open_dir();
    let out = dir.join("ids");
    let (code, stderr) = run_reporting(&dir, &["--user", "5000"], &report(&out));
    assert_eq!(code, 0, "{stderr}");
    let ids = fs::read_to_string(&out).unwrap();
    assert_eq!(field(&ids, "Uid"), "5000 5000 5000 5000", "{ids}");
    assert_eq!(field(&ids, "Gid"), "0 0 0 0", "{ids}");
    assert!(
        has_event(
            &stderr,
            "user",
            &[("level", "warn".into()), ("uid", 5000.into())]
        ),
        "{stderr}"
    );
}

#[test]
fn grace_stays_root_and_the_pre_stop_command_runs_as_the_user() {
    let dir = open_dir();
    let pre_stop_out = dir.join("pre-stop");
    let ready = dir.join("ready");
    let launcher = with_user_database(&dir);
    let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
    let command = format!(
        "trap 'exit 0' TERM; touch {ready}; while :; do sleep 0.05; done",
        ready = ready.display()
    );
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(|c| {
            c.env("GRACE_USER", "app");
        })
        .args([
            "--pre-stop",
            &report(&pre_stop_out),
            "--",
            "sh",
            "-c",
            &command,
        ])
        .start_as(Path::new(grace_bin()), &launcher, &dir);
    wait_for_file(&ready);
    assert_eq!(
        status_field(grace.pid, "Uid").as_deref(),
        Some("0\t0\t0\t0"),
        "grace itself keeps root"
    );
    grace.signal(15);
    assert_eq!(grace.wait_code(), 0, "{}", grace.stderr());
    let ids = fs::read_to_string(&pre_stop_out).unwrap();
    assert_eq!(field(&ids, "Uid"), "4242 4242 4242 4242", "{ids}");
    assert_eq!(field(&ids, "Groups"), "4243 4244 4245", "{ids}");
}

/// A copy of id(1) that is setuid root: run by anyone, its effective uid
/// is 0, unless no_new_privs is set.
fn setuid_root_id(dir: &TempDir) -> String {
    let copy = dir.join("id-setuid");
    fs::copy("/usr/bin/id", &copy).expect("id(1)");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o4755)).unwrap();
    copy.display().to_string()
}

#[test]
fn with_no_new_privs_a_setuid_binary_cannot_give_root_back() {
    // Without --no-new-privs the setuid bit works: the test can see it.
    let dir = open_dir();
    let id = setuid_root_id(&dir);
    let out = dir.join("euid");
    let command = format!("{id} -u > {out}", out = out.display());
    let (code, stderr) = run_reporting(&dir, &["--user", "nobody"], &command);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&out).unwrap().trim(), "0");

    let dir = open_dir();
    let id = setuid_root_id(&dir);
    let out = dir.join("euid");
    let ids = dir.join("ids");
    let command = format!(
        "{id} -u > {out}; {id} -ru >> {out}; {report}",
        out = out.display(),
        report = report(&ids)
    );
    let (code, stderr) = run_reporting(&dir, &["--user", "4242", "--no-new-privs"], &command);
    assert_eq!(code, 0, "{stderr}");
    let euid: Vec<String> = fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(euid, ["4242", "4242"], "effective and real uid");
    let ids = fs::read_to_string(&ids).unwrap();
    assert_eq!(field(&ids, "NoNewPrivs"), "1", "{ids}");
    assert_eq!(field(&ids, "Uid"), "4242 4242 4242 4242", "{ids}");
}

#[test]
fn an_unknown_user_stops_grace_before_anything_runs() {
    let dir = open_dir();
    let marker = dir.join("ran");
    for user in ["ghost", "app:ghosts"] {
        let (code, stderr) = run_reporting(
            &dir,
            &["--user", user],
            &format!("touch {}", marker.display()),
        );
        assert_eq!(code, 125, "{stderr}");
        assert!(
            has_event(
                &stderr,
                "user",
                &[("level", "error".into()), ("user", user.into())]
            ),
            "{stderr}"
        );
        assert!(!marker.exists());
    }
}

/// A service's user is resolved once, when the file is read: its restart
/// runs as that user even after the user's entry left /etc/passwd, as
/// `grace check` would have said it does.
#[test]
fn a_service_restarts_as_the_user_resolved_when_the_file_was_read() {
    let dir = open_dir();
    let runs = dir.join("runs");
    let release = dir.join("release");
    let made = std::process::Command::new("mkfifo")
        .args(["-m", "666"])
        .arg(&release)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // The first run waits to be released, then fails; the restart is the
    // second run, which ends cleanly: with nothing left to run, so does
    // the container. With one restart allowed, a restart that cannot start
    // ends it with that failure instead.
    let script = format!(
        "id -u >> {runs}; [ $(wc -l < {runs}) -ge 2 ] && exit 0; read line < {release}; exit 1",
        runs = runs.display(),
        release = release.display()
    );
    let config = dir.join("services.toml");
    fs::write(
        &config,
        format!(
            "[service.app]\ncommand = [\"sh\", \"-c\", {}]\nuser = \"app\"\n\
             restart = \"on-failure\"\nmax_restarts = 1\n",
            json_string(&script)
        ),
    )
    .unwrap();
    let launcher = with_user_database(&dir);
    let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
    let mut grace = Grace::builder(Mode::Pid1)
        .configure(json_log)
        .arg("--config")
        .arg(&config)
        .start_as(Path::new(grace_bin()), &launcher, &dir);
    wait_until("the service's first run", || {
        fs::read_to_string(&runs).is_ok_and(|text| text.lines().count() == 1)
    });
    // The same file, rewritten in place: the bind mount over /etc/passwd
    // in grace's namespace shows it.
    let without_app: String = PASSWD
        .lines()
        .filter(|line| !line.starts_with("app:"))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(dir.join("passwd"), without_app).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&release)
        .and_then(|mut fifo| std::io::Write::write_all(&mut fifo, b"go\n"))
        .expect("release the first run");
    let code = grace.wait_code();
    let stderr = grace.stderr();
    assert_eq!(
        fs::read_to_string(&runs).unwrap(),
        "4242\n4242\n",
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
}
