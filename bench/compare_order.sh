#!/usr/bin/env bash
# The measuring harness for issue 20's real-program shapes (scripts/compare-order
# runs it): PostgreSQL, Redis, nginx, php-fpm and socat from Debian, started
# the ways images start them (the suite's tests/real_programs/ scripts), each
# under grace (--stop-order auto, all and main-first), tini, dumb-init and
# catatonit as PID 1 of a fresh PID namespace, stopped as containerd stops a
# container (SIGTERM to PID 1, SIGQUIT for nginx before php-fpm, the
# STOPSIGNAL of Docker's nginx image; SIGKILL after $STOP_TIMEOUT). The
# verdict is only what the programs left, read with their own tools: the
# rows committed (psql on the restarted cluster), the cluster state
# (pg_controldata), Redis's dump and the keys it holds (redis-check-rdb),
# the response the client got, the message the server outside the
# namespace got, nginx's own log of how its workers stopped.
#
# Usage: bench/compare_order.sh GRACE_BINARY OUT_DIR
# Writes OUT_DIR/compare-order.md and OUT_DIR/compare-order.json.
# COMPARE_INITS / COMPARE_SHAPES (space-separated, e.g. "auto tini" "redis proxy") run a
# part; KEEP=1 leaves the runs' directories (logs, data) and prints where.
set -euo pipefail

GRACE=$(realpath "$1")
OUT=$(realpath -m "$2")
STOP_TIMEOUT=${STOP_TIMEOUT:-10}   # containerd's and docker's default
READY_TIMEOUT=${READY_TIMEOUT:-60}   # for the shapes to start
READ_TIMEOUT=60   # for a restarted cluster to recover and open
ROWS=1000
KEYS=100
CLEANUP=${CLEANUP:-0.5}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/compare-order.XXXXXX)
chmod 755 "$WORK"
RUNNING=()   # host pids of the namespace's PID 1 and of unshare, for the exit trap

cleanup() {
    set +e
    local pid
    for pid in "${RUNNING[@]}"; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done
    # Waiting for unshare is waiting for the namespace to be empty.
    wait 2>/dev/null || true
    # A cluster restarted to read its rows, if the script was interrupted then.
    for d in "$WORK"/*/pgdata; do
        [ -f "$d/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$d" -m immediate -t 10 stop >/dev/null 2>&1 || true
    done
    if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

# Waits, at most $2 seconds, for the command $3... to succeed.
bounded() {
    local what=$1 seconds=$2; shift 2
    local end=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then echo "timed out waiting for $what" >&2; return 1; fi
        sleep 0.1
    done
}

# One template cluster, copied for every run: initdb is the slow part.
install -d -o postgres -g postgres "$WORK/template"
as_postgres "$PGBIN/initdb" -D "$WORK/template" -A trust -U postgres --no-sync >/dev/null

# The shapes' start scripts and apps: the suite's (tests/real_programs/,
# whose README says what each does and the environment they read).
SHAPES_DIR=$(realpath "$(dirname "$0")/../tests/real_programs")

INITS=("grace auto" "grace all" "grace main-first" "tini" "dumb-init" "catatonit")
SHAPES=("exec" "wait-n" "redis" "postgres" "nginx" "fastcgi" "proxy")
if [ -n "${COMPARE_INITS:-}" ]; then
    INITS=()
    for init in "grace auto" "grace all" "grace main-first" tini dumb-init catatonit; do
        [[ " $COMPARE_INITS " == *" ${init#grace } "* ]] && INITS+=("$init")
    done
fi
[ -n "${COMPARE_SHAPES:-}" ] && read -ra SHAPES <<<"$COMPARE_SHAPES"

init_command() {
    case $1 in
        "grace "*) echo "$GRACE --stop-order ${1#grace } --" ;;
        tini) echo "/usr/bin/tini --" ;;
        dumb-init) echo "/usr/bin/dumb-init" ;;
        catatonit) echo "/usr/bin/catatonit --" ;;
    esac
}

# The run's PID 1, by what it is rather than by its parents (setsid may or
# may not fork): the process that is PID 1 of its namespace and runs this
# run's start script (the run's directory is its last argument). pgrep reads
# /proc in one process: a loaded machine has thousands.
pid_one() {
    local pid
    for pid in $(pgrep -f -- " $RUN\$"); do
        grep -qP '^NSpid:\t\d+\t1$' "/proc/$pid/status" 2>/dev/null && { echo "$pid"; return; }
    done
    return 0
}
has_pid_one() { [ -n "$(pid_one)" ]; }
# Whether a process, zombies included, is left in the PID namespace $1
# (pid:[INODE]), in one find.
namespace_alive() {
    local inode=${1//[^0-9]/}
    [ -n "$(find /proc/[0-9]*/ns/pid -maxdepth 0 -lname "pid:?$inode?" 2>/dev/null | head -1)" ]
}
namespace_gone() { ! namespace_alive "$1"; }
# Whether process $1 has exited (a zombie has).
exited() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -z "$state" ] || [ "$state" = Z ]
}
# Whether the app or server of the run's shape is ready for the stop.
ready() {
    case $shape in
        exec | wait-n) grep -q inserted "$RUN/psql.out" ;;
        redis) test -e "$RUN/keys-written" ;;
        postgres) "$PGBIN/pg_isready" -q -U postgres -h "$RUN" ;;
        nginx) [ "$(grep -c 'start worker process ' "$RUN/nginx-error.log")" = 2 ] ;;
        fastcgi) test -e "$RUN/request-started" ;;
        proxy) grep -q hello "$RUN/received" ;;
    esac
}
# nginx alone: whether its workers were stopped by their master only (none
# got a signal from PID 1, both exited with code 0).
workers_via_master() {
    local log=$RUN/nginx-error.log master
    master=$(sed -n 's/.*\] \([0-9]*\)#[0-9]*: start worker processes$/\1/p' "$log")
    if grep ' received from 1\b' "$log" | grep -vq "\] $master#"; then
        echo "no: signalled by PID 1"
    elif [ "$(grep -c 'exited with code 0' "$log")" = 2 ]; then
        echo yes
    else
        echo "no: killed"
    fi
}

columns=(rows state dump answered arrived workers)
rows_json=()
table="| init | shape | rows committed | cluster state | Redis dump (keys) | request answered | cleanup message arrived | nginx workers stopped by their master | stop (s) |
|---|---|---|---|---|---|---|---|---|"

for shape in "${SHAPES[@]}"; do
    for init in "${INITS[@]}"; do
        RUN="$WORK/run-${init// /-}-$shape"
        mkdir -p "$RUN"
        chmod 777 "$RUN"
        case $shape in exec | wait-n | postgres) cp -a "$WORK/template" "$RUN/pgdata" ;; esac
        outside=
        if [ "$shape" = proxy ]; then
            # The server outside the container's PID namespace.
            socat -u "UNIX-LISTEN:$RUN/outside.sock,fork" "OPEN:$RUN/received,creat,append" &
            outside=$!
            bounded "the outside server" 10 test -S "$RUN/outside.sock"
        fi
        # nginx stops gracefully on SIGQUIT, the STOPSIGNAL of Docker's nginx
        # image; grace is told to stop on it.
        signal=TERM
        [ "$shape" = fastcgi ] && signal=QUIT
        # shellcheck disable=SC2046
        env SHAPES="$SHAPES_DIR" RUN="$RUN" PGBIN="$PGBIN" ROWS=$ROWS KEYS=$KEYS CLEANUP="$CLEANUP" \
            READY_TIMEOUT="$READY_TIMEOUT" GRACE_STOP_ON=QUIT,TERM,INT \
            setsid unshare --pid --fork --mount-proc $(init_command "$init") bash "$SHAPES_DIR/start-$shape.sh" "$RUN" \
            </dev/null >"$RUN/init.log" 2>&1 &
        unshare_pid=$!
        RUNNING=("$unshare_pid" "$outside")
        # Killing the namespace's PID 1 is what ends every process in it
        # (killing unshare would leave them running).
        if ! bounded "$init $shape PID 1" 10 has_pid_one; then
            # Over before it could be stopped (unshare is gone), or lost.
            kill -0 "$unshare_pid" 2>/dev/null && { echo "$init $shape: PID 1 not found" >&2; exit 1; }
            wait "$unshare_pid" || true
            echo "$init / $shape: ended by itself before the stop" >&2
            table+="
| $init | $shape | not ready | - | - | - | - | - | - |"
            rows_json+=("{\"init\": \"$init\", \"shape\": \"$shape\", \"ready\": false}")
            continue
        fi
        pid1=$(pid_one)
        RUNNING=("$pid1" "$unshare_pid" "$outside")
        namespace=$(readlink "/proc/$pid1/ns/pid")
        client=
        if [ "$shape" = fastcgi ]; then
            bounded "nginx's socket" "$READY_TIMEOUT" test -S "$RUN/nginx.sock"
            curl -sS --fail --unix-socket "$RUN/nginx.sock" -o "$RUN/body" http://localhost/ 2>"$RUN/curl.err" &
            client=$!
        fi
        # A run whose app never got ready says so in its row, rather than
        # passing for data lost at the stop.
        was_ready=yes
        bounded "$init $shape ready" "$READY_TIMEOUT" ready || was_ready=no
        start=$(date +%s.%N)
        kill "-$signal" "$pid1"
        if [ "$shape" = fastcgi ]; then
            # The request in flight is let go once nginx has its signal (or
            # once it is clear it will not get it).
            bounded "nginx's SIGQUIT" 2 grep -q 'signal 3 (SIGQUIT) received' "$RUN/nginx-error.log" || true
            touch "$RUN/release"
        fi
        # containerd: the signal, then SIGKILL after the timeout.
        if ! bounded "$init $shape stop" "$STOP_TIMEOUT" exited "$pid1"; then
            kill -KILL "$pid1" 2>/dev/null || true
            bounded "$init $shape PID 1 killed" 10 exited "$pid1" || true
        fi
        stop=$(printf %.2f "$(echo "$(date +%s.%N) - $start" | bc)")
        # The kernel kills the rest of the namespace with its PID 1, whose
        # exit waits for them; unshare reaps it.
        wait "$unshare_pid" 2>/dev/null || true
        bounded "$init $shape killed" 10 namespace_gone "$namespace" ||
            { echo "$init $shape: the namespace outlived its PID 1's SIGKILL" >&2; exit 1; }
        [ -n "$outside" ] && { kill "$outside"; wait "$outside" 2>/dev/null || true; }
        RUNNING=()

        rows=- state=- dump=- answered=- arrived=- workers=-
        case $shape in
            exec | wait-n | postgres)
                state=$("$PGBIN/pg_controldata" "$RUN/pgdata" | sed -n 's/^Database cluster state: *//p')
                if [ "$shape" != postgres ]; then
                    rm -f "$RUN/pgdata/postmaster.pid"
                    as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -l "$RUN/pg-read.log" -w -t "$READ_TIMEOUT" \
                        -o "-k $RUN -c listen_addresses=" start >/dev/null
                    rows=$(as_postgres "$PGBIN/psql" -X -Atq -h "$RUN" -d postgres \
                        -c "SELECT CASE WHEN to_regclass('t') IS NULL THEN 0 ELSE (SELECT count(*) FROM t) END" 2>/dev/null || echo error)
                    as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -m fast -t 30 stop >/dev/null
                fi
                ;;
            redis)
                if [ -f "$RUN/dump.rdb" ]; then
                    keys=$(redis-check-rdb "$RUN/dump.rdb" 2>&1 | sed -n 's/.*\[info\] \([0-9]*\) keys read.*/\1/p')
                    dump="yes (${keys:-0})"
                else
                    dump="no"
                fi
                ;;
            fastcgi)
                answered=no
                if wait "$client" && [ "$(stat -c %s "$RUN/body" 2>/dev/null)" = 100005 ]; then answered=yes; fi
                ;;
            proxy)
                arrived=no
                grep -q goodbye "$RUN/received" && arrived=yes
                ;;
            nginx) workers=$(workers_via_master) ;;
        esac
        if [ "$was_ready" = no ]; then
            for column in "${columns[@]}"; do [ "${!column}" = - ] || printf -v "$column" 'not ready'; done
        fi
        echo "$init / $shape: rows=$rows state=$state dump=$dump answered=$answered arrived=$arrived workers=$workers stop=${stop}s" >&2
        table+="
| $init | $shape | $rows | $state | $dump | $answered | $arrived | $workers | $stop |"
        rows_json+=("{\"init\": \"$init\", \"shape\": \"$shape\", \"rows_committed\": \"$rows\", \"cluster_state\": \"$state\", \"dump\": \"$dump\", \"request_answered\": \"$answered\", \"cleanup_arrived\": \"$arrived\", \"workers_via_master\": \"$workers\", \"stop_seconds\": $stop}")
    done
done

printf '%s\n' "$table" >"$OUT/compare-order.md"
{
    echo "["
    for i in "${!rows_json[@]}"; do
        sep=,
        ((i == ${#rows_json[@]} - 1)) && sep=
        echo "  ${rows_json[$i]}$sep"
    done
    echo "]"
} >"$OUT/compare-order.json"
cat "$OUT/compare-order.md"
