# The app: holds a connection through its sidecar proxy to a server outside
# the container, and on SIGTERM finishes its work ($CLEANUP seconds), then
# says goodbye over that connection.
. "$SHAPES/lib.sh"
await test -S "$RUN/proxy.sock"
coproc LINK { socat -t 0.1 - "UNIX-CONNECT:$RUN/proxy.sock"; }
link=${LINK[1]}
link_pid=$LINK_PID
stop() {
    sleep "$CLEANUP"
    echo goodbye >&"$link"
    # The end of the app's input is the end of the link's.
    eval "exec $link>&-"
    wait "$link_pid"
    exit 0
}
trap stop TERM
echo hello >&"$link"
idle
