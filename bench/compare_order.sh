#!/usr/bin/env bash
# The measuring harness for issue 20's real-program shapes (scripts/compare-order
# runs it): PostgreSQL and Redis from Debian, started the ways images start
# them, each under grace (--stop-order all and main-first), tini, dumb-init and
# catatonit as PID 1 of a fresh PID namespace, stopped as containerd stops a
# container (SIGTERM to PID 1, SIGKILL after $STOP_TIMEOUT). The verdict is
# only what the programs left on disk, read with their own tools: the rows
# committed (psql on the restarted cluster), the cluster state
# (pg_controldata), Redis's dump and the keys it holds (redis-check-rdb).
#
# Usage: bench/compare_order.sh GRACE_BINARY OUT_DIR
# Writes OUT_DIR/compare-order.md and OUT_DIR/compare-order.json.
# COMPARE_INITS / COMPARE_SHAPES (space-separated, e.g. "all tini" "redis") run a
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

# The programs every shape runs, written once. $RUN is the run's directory.
cat >"$WORK/app-pg.sh" <<'APP'
# The app: holds a transaction open through a psql child and commits it in its
# SIGTERM handler, then leaves.
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
end=$((SECONDS + READY_TIMEOUT))
until "$PGBIN/pg_isready" -q -h "$RUN"; do
    ((SECONDS < end)) || exit 3
    sleep 0.1
done
coproc PSQL { as_postgres "$PGBIN/psql" -X -q -h "$RUN" -d postgres >"$RUN/psql.out" 2>&1; }
exec 4>&"${PSQL[1]}"
psql_pid=$PSQL_PID
commit() {
    echo 'COMMIT;' >&4
    echo '\echo committed' >&4
    echo '\q' >&4
    exec 4>&-
    wait "$psql_pid"
    exit 0
}
trap commit TERM
echo 'CREATE TABLE t (i int);' >&4
echo "BEGIN; INSERT INTO t SELECT generate_series(1, $ROWS);" >&4
echo '\echo inserted' >&4
sleep infinity &
while :; do wait $! || true; done
APP

cat >"$WORK/app-redis.sh" <<'APP'
# The app: writes keys, and on SIGTERM finishes its work ($CLEANUP seconds,
# longer than the 100 ms tick on which Redis acts on its own SIGTERM, so that
# the race between them is not what decides), then asks Redis to SAVE and
# shut down.
end=$((SECONDS + READY_TIMEOUT))
until redis-cli -s "$RUN/redis.sock" ping | grep -q PONG; do
    ((SECONDS < end)) || exit 3
    sleep 0.1
done
stop() {
    sleep "$CLEANUP"
    redis-cli -s "$RUN/redis.sock" SAVE >"$RUN/save.out" 2>&1
    redis-cli -s "$RUN/redis.sock" SHUTDOWN NOSAVE >/dev/null 2>&1
    exit 0
}
trap stop TERM
for i in $(seq 1 "$KEYS"); do echo "SET key$i value$i"; done | redis-cli -s "$RUN/redis.sock" >/dev/null
touch "$RUN/keys-written"
sleep infinity &
while :; do wait $! || true; done
APP

# The shapes' start scripts.
cat >"$WORK/start-exec.sh" <<'START'
# The start-script database: pg_ctl starts the server in the background, then
# `exec app`.
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -l "$RUN/pg.log" -w -t "$READY_TIMEOUT" \
    -o "-k $RUN -c listen_addresses=" start >/dev/null
exec bash "$WORK/app-pg.sh"
START

cat >"$WORK/start-wait-n.sh" <<'START'
# Docker's documented pattern for several processes: both in the background,
# then `wait -n`.
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
as_postgres "$PGBIN/postgres" -D "$RUN/pgdata" -k "$RUN" -c listen_addresses= >"$RUN/pg.log" 2>&1 &
bash "$WORK/app-pg.sh" &
wait -n
exit $?
START

cat >"$WORK/start-redis.sh" <<'START'
# Redis daemonized by the start script, then `exec app`. No save points: the
# dump is what the app asked for.
redis-server --daemonize yes --port 0 --unixsocket "$RUN/redis.sock" --dir "$RUN" \
    --save '' --appendonly no --logfile "$RUN/redis.log" --pidfile "$RUN/redis.pid"
exec bash "$WORK/app-redis.sh"
START

INITS=("grace all" "grace main-first" "tini" "dumb-init" "catatonit")
SHAPES=("exec" "wait-n" "redis")
if [ -n "${COMPARE_INITS:-}" ]; then
    INITS=()
    for init in "grace all" "grace main-first" tini dumb-init catatonit; do
        [[ " $COMPARE_INITS " == *" ${init#grace } "* ]] && INITS+=("$init")
    done
fi
[ -n "${COMPARE_SHAPES:-}" ] && read -ra SHAPES <<<"$COMPARE_SHAPES"

init_command() {
    case $1 in
        "grace all") echo "$GRACE --stop-order all --" ;;
        "grace main-first") echo "$GRACE --stop-order main-first --" ;;
        tini) echo "/usr/bin/tini --" ;;
        dumb-init) echo "/usr/bin/dumb-init" ;;
        catatonit) echo "/usr/bin/catatonit --" ;;
    esac
}

# The run's PID 1, by what it is rather than by its parents (setsid may or
# may not fork): the process that is PID 1 of its namespace and runs this
# run's start script.
pid_one() {
    local status pid
    for status in /proc/[0-9]*/status; do
        pid=${status#/proc/}
        pid=${pid%/status}
        grep -qP '^NSpid:\t\d+\t1$' "$status" 2>/dev/null || continue
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK/start-" && { echo "$pid"; return; }
    done
    return 0
}
has_pid_one() { [ -n "$(pid_one)" ]; }
# Whether a process other than a zombie is left in the PID namespace $1.
namespace_alive() {
    local dir
    for dir in /proc/[0-9]*; do
        [ "$(readlink "$dir/ns/pid" 2>/dev/null)" = "$1" ] || continue
        [ "$(awk '{print $3}' "$dir/stat" 2>/dev/null)" = Z ] || return 0
    done
    return 1
}
namespace_gone() { ! namespace_alive "$1"; }
# Whether process $1 has exited (a zombie has).
exited() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -z "$state" ] || [ "$state" = Z ]
}

rows_json=()
table="| init | shape | rows committed | cluster state | dump written (keys) | stop (s) |
|---|---|---|---|---|---|"

for shape in "${SHAPES[@]}"; do
    for init in "${INITS[@]}"; do
        RUN="$WORK/run-${init// /-}-$shape"
        mkdir -p "$RUN"
        chmod 777 "$RUN"
        if [ "$shape" != redis ]; then
            cp -a "$WORK/template" "$RUN/pgdata"
        fi
        # shellcheck disable=SC2046
        env RUN="$RUN" WORK="$WORK" PGBIN="$PGBIN" ROWS=$ROWS KEYS=$KEYS CLEANUP="$CLEANUP" READY_TIMEOUT="$READY_TIMEOUT" \
            setsid unshare --pid --fork --mount-proc $(init_command "$init") bash "$WORK/start-$shape.sh" \
            </dev/null >"$RUN/init.log" 2>&1 &
        unshare_pid=$!
        RUNNING=("$unshare_pid")
        # Killing the namespace's PID 1 is what ends every process in it
        # (killing unshare would leave them running).
        if ! bounded "$init $shape PID 1" 10 has_pid_one; then
            # Over before it could be stopped (unshare is gone), or lost.
            kill -0 "$unshare_pid" 2>/dev/null && { echo "$init $shape: PID 1 not found" >&2; exit 1; }
            wait "$unshare_pid" || true
            echo "$init / $shape: ended by itself before the stop" >&2
            table+="
| $init | $shape | not ready | - | not ready | - |"
            rows_json+=("{\"init\": \"$init\", \"shape\": \"$shape\", \"rows_committed\": \"not ready\", \"cluster_state\": \"-\", \"dump\": \"not ready\", \"stop_seconds\": null}")
            continue
        fi
        pid1=$(pid_one)
        RUNNING=("$pid1" "$unshare_pid")
        namespace=$(readlink "/proc/$pid1/ns/pid")
        ready="$RUN/psql.out"
        [ "$shape" = redis ] && ready="$RUN/keys-written"
        # A run whose app never got ready says so in its row, rather than
        # passing for data lost at the stop.
        ready_check=(grep -q inserted "$ready")
        [ "$shape" = redis ] && ready_check=(test -e "$ready")
        was_ready=yes
        bounded "$init $shape ready" "$READY_TIMEOUT" "${ready_check[@]}" || was_ready=no
        start=$(date +%s.%N)
        kill -TERM "$pid1"
        # containerd: SIGTERM, then SIGKILL after the timeout.
        if ! bounded "$init $shape stop" "$STOP_TIMEOUT" exited "$pid1"; then
            kill -KILL "$pid1" 2>/dev/null || true
            bounded "$init $shape PID 1 killed" 10 exited "$pid1" || true
        fi
        stop=$(printf %.2f "$(echo "$(date +%s.%N) - $start" | bc)")
        # The kernel kills the rest of the namespace with its PID 1.
        bounded "$init $shape killed" 10 namespace_gone "$namespace" ||
            { echo "$init $shape: the namespace outlived its PID 1's SIGKILL" >&2; exit 1; }
        wait "$unshare_pid" 2>/dev/null || true
        RUNNING=()

        rows=- state=- dump=-
        if [ "$shape" != redis ]; then
            state=$("$PGBIN/pg_controldata" "$RUN/pgdata" | sed -n 's/^Database cluster state: *//p')
            rm -f "$RUN/pgdata/postmaster.pid"
            as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -l "$RUN/pg-read.log" -w -t "$READ_TIMEOUT" \
                -o "-k $RUN -c listen_addresses=" start >/dev/null
            rows=$(as_postgres "$PGBIN/psql" -X -Atq -h "$RUN" -d postgres \
                -c "SELECT CASE WHEN to_regclass('t') IS NULL THEN 0 ELSE (SELECT count(*) FROM t) END" 2>/dev/null || echo error)
            as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -m fast -t 30 stop >/dev/null
        else
            if [ -f "$RUN/dump.rdb" ]; then
                keys=$(redis-check-rdb "$RUN/dump.rdb" 2>&1 | sed -n 's/.*\[info\] \([0-9]*\) keys read.*/\1/p')
                dump="yes (${keys:-0})"
            else
                dump="no"
            fi
        fi
        if [ "$was_ready" = no ]; then rows="not ready"; dump="not ready"; fi
        echo "$init / $shape: rows=$rows state=$state dump=$dump stop=${stop}s" >&2
        table+="
| $init | $shape | $rows | $state | $dump | $stop |"
        rows_json+=("{\"init\": \"$init\", \"shape\": \"$shape\", \"rows_committed\": \"$rows\", \"cluster_state\": \"$state\", \"dump\": \"$dump\", \"stop_seconds\": $stop}")
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
