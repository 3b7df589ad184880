# The app: holds a connection through its sidecar proxy to a server outside
# the container, and on SIGTERM finishes its work ($CLEANUP seconds), then
# says goodbye over that connection.
. "$SHAPES/lib.sh"
await test -S "$RUN/proxy.sock"
coproc LINK { socat - "UNIX-CONNECT:$RUN/proxy.sock"; }
exec 4>&"${LINK[1]}"
link_pid=$LINK_PID
stop() {
    sleep "$CLEANUP"
    echo goodbye >&4
    exec 4>&-
    wait "$link_pid"
    exit 0
}
trap stop TERM
echo hello >&4
idle
