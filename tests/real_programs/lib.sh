# Sourced by the shapes: the helpers they share.
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
# Waits, at most READY_TIMEOUT seconds, for the command "$@" to succeed
# (the app's own wait for its server, not the suite's).
await() {
    local end=$((SECONDS + ${READY_TIMEOUT:-60}))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || exit 3
        sleep 0.05
    done
}
# Sleeps until a signal's trap runs.
idle() {
    sleep infinity &
    while :; do wait $! || true; done
}
