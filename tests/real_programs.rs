//! Issue 20's proof with real programs: the ordered stop (`--stop-order
//! auto`, set explicitly through GRACE_STOP_ORDER) keeps the data of the
//! common shapes of a multi-process container. Each shape runs Debian's
//! own PostgreSQL, Redis, nginx, php-fpm or socat under grace as PID 1,
//! once in a fresh PID namespace and once in a podman container (the
//! `podman_` tests), is stopped as containerd stops a container (the
//! stop signal to PID 1, SIGKILL after 10 s), and is judged by the
//! programs' own tools: the rows a restarted cluster holds (psql),
//! pg_controldata's cluster state, redis-check-rdb, nginx's error log, the
//! response a client got, the message a server outside the namespace
//! received. The shapes' scripts are tests/real_programs/, which
//! scripts/compare-order also runs under tini, dumb-init and catatonit.
//! One test keeps the before: under `--stop-order all` the committing app
//! loses its rows.

use std::fs;
use std::process::{Command, Stdio};

use crate::support::real_programs::{At, KEYS, ROWS, Run, STOP_TIMEOUT, Shape, pgbin, require};
use crate::support::{wait_exit, wait_until};

const SHUT_DOWN: &str = "shut down";

/// The order under test.
const ORDER: &str = "auto";

/// The grace period of the shapes whose stop must not last until half of
/// it, when the order signals whoever still waits: every exit the order
/// waits for is heard, whoever reaps it. Half of it is past the stop
/// timeout, so a stop that waited for half-time is killed there.
fn long_grace_period() -> String {
    format!("{}s", 2 * STOP_TIMEOUT.as_secs() + 1)
}

/// Waits for the PostgreSQL app's open transaction, stops the shape, which
/// must not need the deadline's SIGKILL: (rows committed, cluster state).
fn database_after(run: &Run, mut shape: Shape) -> (usize, String) {
    run.wait_for_transaction();
    shape.stop().assert_not_killed();
    // The state first: reading the rows restarts the cluster.
    let state = run.cluster_state();
    (run.rows_committed(), state)
}

/// The start-script database with the committing app, under `order`:
/// (rows committed, cluster state).
fn start_script_database(at: At, order: &str) -> (usize, String) {
    require(&["setpriv", "psql"]);
    let run = Run::with_cluster();
    let shape = Shape::start(&run, at, order, libc::SIGTERM, &[], "start-exec.sh");
    database_after(&run, shape)
}

/// Shape 1: PostgreSQL started by the start script, then `exec app`; the
/// app commits its open transaction (through its psql child) in its
/// SIGTERM handler. The app is signalled first, the database once the app
/// and its client are gone.
fn start_script_database_keeps_the_rows(at: At) {
    let (rows, state) = start_script_database(at, ORDER);
    assert_eq!(rows, ROWS, "rows committed");
    assert_eq!(state, SHUT_DOWN);
}

/// The before: signalled all at once, the app's client and its backend die
/// while the app's handler starts, and the commit is lost.
#[test]
fn start_script_database_loses_the_rows_when_all_are_signalled_at_once() {
    let (rows, _) = start_script_database(At::Namespace, "all");
    assert_eq!(
        rows, 0,
        "rows committed although the client was signalled with the app"
    );
}

/// Shape 2: Docker's documented pattern for several processes: the script
/// runs the database and the app in the background and `wait -n`s. The
/// shell is the main process; once it has gone, the app and the database
/// are orphans, ordered by the app's connection.
fn wait_n_pattern_keeps_the_rows(at: At) {
    require(&["setpriv", "psql"]);
    let run = Run::with_cluster();
    let period = long_grace_period();
    let args = ["--grace-period", &period];
    let shape = Shape::start(&run, at, ORDER, libc::SIGTERM, &args, "start-wait-n.sh");
    let (rows, state) = database_after(&run, shape);
    assert_eq!(rows, ROWS, "rows committed");
    assert_eq!(state, SHUT_DOWN);
}

/// Shape 3: Redis daemonized by the start script, then `exec app`; the app
/// finishes its work and asks for SAVE in its SIGTERM handler. Redis has
/// no save points: the dump is the app's.
fn redis_keeps_the_dump(at: At) {
    require(&["redis-server", "redis-cli", "redis-check-rdb"]);
    let run = Run::new();
    let mut shape = Shape::start(&run, at, ORDER, libc::SIGTERM, &[], "start-redis.sh");
    let written = run.path("keys-written");
    wait_until("the app's keys", || written.exists());
    shape.stop().assert_not_killed();
    assert_eq!(run.dump_keys(), Some(KEYS), "keys in the dump");
}

/// Shape 4: PostgreSQL alone, a master that stops its own workers: only the
/// postmaster is signalled, and the cluster is cleanly shut down.
fn postgres_alone(at: At) {
    require(&["setpriv"]);
    let run = Run::with_cluster();
    let mut shape = Shape::start(&run, at, ORDER, libc::SIGTERM, &[], "start-postgres.sh");
    let pg_isready = pgbin().join("pg_isready");
    wait_until("PostgreSQL to accept connections", || {
        Command::new(&pg_isready)
            .args(["-q", "-U", "postgres", "-h"])
            .arg(&run.run)
            .status()
            .is_ok_and(|status| status.success())
    });
    let stopped = shape.stop();
    assert_eq!(stopped.code, 0, "{}", stopped.log);
    assert_eq!(run.cluster_state(), SHUT_DOWN);
}

/// Lines of nginx's error log saying a process got a signal from grace
/// (pid 1): `PID#TID: signal N (SIG…) received from 1`, as (pid, line).
fn signals_from_grace(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|line| line.contains(" received from 1,") || line.ends_with(" received from 1"))
        .filter_map(|line| {
            let pid = line.split("] ").nth(1)?.split('#').next()?;
            Some((pid.to_string(), line.to_string()))
        })
        .collect()
}

/// Shape 4: nginx alone: grace signals the master only, whose workers exit
/// through it (nginx's log: no worker got a signal from grace, every
/// worker exited with code 0, the master exited).
fn nginx_alone(at: At) {
    require(&["nginx"]);
    let run = Run::new();
    let mut shape = Shape::start(&run, at, ORDER, libc::SIGTERM, &[], "start-nginx.sh");
    let log_path = run.path("nginx-error.log");
    let log = || fs::read_to_string(&log_path).unwrap_or_default();
    wait_until("nginx's two workers", || {
        log().matches("start worker process ").count() == 2
    });
    let stopped = shape.stop();
    assert_eq!(stopped.code, 0, "{}", stopped.log);
    let log = log();
    let master = log
        .lines()
        .find(|line| line.contains("start worker processes"))
        .and_then(|line| line.split("] ").nth(1)?.split('#').next())
        .expect("the master's pid")
        .to_string();
    let signalled = signals_from_grace(&log);
    assert!(
        signalled.iter().all(|(pid, _)| *pid == master) && !signalled.is_empty(),
        "grace signalled a worker, or not the master:\n{log}"
    );
    assert_eq!(log.matches("exited with code 0").count(), 2, "{log}");
    assert!(
        log.trim_end()
            .ends_with(&format!("{master}#{master}: exit")),
        "{log}"
    );
}

/// Shape 5: nginx in front of php-fpm (FastCGI), a request in flight at the
/// stop. The stop signal is SIGQUIT, the STOPSIGNAL of Docker's nginx
/// image, on which nginx stops gracefully (grace is told to stop on it);
/// php-fpm, signalled with SIGTERM, would end its request at once. The
/// request is let go once nginx has its signal, and the client outside the
/// namespace gets the whole response.
fn nginx_answers_through_php_fpm(at: At) {
    require(&["nginx", "curl", "/usr/sbin/php-fpm*"]);
    let run = Run::new();
    let args = ["--stop-on", "QUIT,TERM,INT"];
    let mut shape = Shape::start(&run, at, ORDER, libc::SIGQUIT, &args, "start-fastcgi.sh");
    let socket = run.path("nginx.sock");
    wait_until("nginx's socket", || socket.exists());
    let body = run.path("body");
    let mut client = Command::new("curl")
        .args(["-sS", "--fail", "--unix-socket"])
        .arg(&socket)
        .arg("-o")
        .arg(&body)
        .arg("http://localhost/")
        .stdin(Stdio::null())
        .stderr(fs::File::create(run.path("curl.err")).unwrap())
        .spawn()
        .expect("curl");
    let started = run.path("request-started");
    wait_until("the request to reach php-fpm", || started.exists());
    let log_path = run.path("nginx-error.log");
    let mut answered = None;
    let stopped = shape.stop_with(|| {
        wait_until("nginx's SIGQUIT", || {
            fs::read_to_string(&log_path)
                .is_ok_and(|log| log.contains("signal 3 (SIGQUIT) received"))
        });
        fs::write(run.path("release"), "").unwrap();
        answered = Some(wait_exit(&mut client, "the client"));
    });
    stopped.assert_not_killed();
    assert!(
        answered.is_some_and(|status| status.success()),
        "the request was not answered: {}",
        fs::read_to_string(run.path("curl.err")).unwrap_or_default()
    );
    let body = fs::read_to_string(&body).unwrap();
    assert_eq!(body.len(), 100_005, "the whole response");
    assert!(body.ends_with("\nend\n"));
}

/// Shape 6: the app's cleanup goes through a sidecar proxy (socat, the
/// app's child) to a server outside grace's PID namespace (on the host, at
/// a UNIX socket of the run's directory, which the container shares): the
/// goodbye the app sends in its SIGTERM handler arrives.
fn cleanup_through_a_sidecar(at: At) {
    require(&["socat"]);
    let run = Run::new();
    let received = run.path("received");
    let mut server = Command::new("socat")
        .arg("-u")
        .arg(format!(
            "UNIX-LISTEN:{},fork",
            run.path("outside.sock").display()
        ))
        .arg(format!("OPEN:{},creat,append", received.display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("socat");
    let period = long_grace_period();
    let args = ["--grace-period", &period];
    let mut shape = Shape::start(&run, at, ORDER, libc::SIGTERM, &args, "start-proxy.sh");
    let said = |word: &str| fs::read_to_string(&received).is_ok_and(|text| text.contains(word));
    wait_until("the app's hello through the proxy", || said("hello"));
    let stopped = shape.stop();
    let goodbye = said("goodbye");
    let _ = server.kill();
    let _ = server.wait();
    stopped.assert_not_killed();
    assert!(
        goodbye,
        "the cleanup's message did not arrive: {}",
        stopped.log
    );
}

/// Each shape's two tests: `$namespace` runs it in a PID namespace,
/// `$podman` in a podman container.
macro_rules! in_both_places {
    ($($shape:ident: $namespace:ident, $podman:ident;)*) => {$(
        #[test]
        fn $namespace() {
            $shape(At::Namespace);
        }

        #[test]
        fn $podman() {
            $shape(At::Podman);
        }
    )*};
}

in_both_places! {
    start_script_database_keeps_the_rows:
        start_script_database_keeps_the_committing_apps_rows,
        podman_start_script_database_keeps_the_committing_apps_rows;
    wait_n_pattern_keeps_the_rows:
        wait_n_pattern_keeps_the_rows_and_shuts_the_cluster_down,
        podman_wait_n_pattern_keeps_the_rows_and_shuts_the_cluster_down;
    redis_keeps_the_dump:
        redis_keeps_the_dump_the_app_saves_on_its_stop,
        podman_redis_keeps_the_dump_the_app_saves_on_its_stop;
    postgres_alone:
        postgres_alone_stops_its_own_workers,
        podman_postgres_alone_stops_its_own_workers;
    nginx_alone:
        nginx_alone_stops_its_own_workers,
        podman_nginx_alone_stops_its_own_workers;
    nginx_answers_through_php_fpm:
        nginx_answers_a_request_in_flight_through_php_fpm,
        podman_nginx_answers_a_request_in_flight_through_php_fpm;
    cleanup_through_a_sidecar:
        cleanup_through_a_sidecar_proxy_reaches_the_outside_server,
        podman_cleanup_through_a_sidecar_proxy_reaches_the_outside_server;
}
