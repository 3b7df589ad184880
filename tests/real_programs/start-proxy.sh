# A sidecar proxy (socat) to the server outside the container at
# $RUN/outside.sock, then `exec app`: the sidecar is the app's child.
socat "UNIX-LISTEN:$RUN/proxy.sock,fork" "UNIX-CONNECT:$RUN/outside.sock" &
exec bash "$SHAPES/app-proxy.sh"
