# The app: writes keys, and on SIGTERM finishes its work ($CLEANUP seconds,
# longer than the 100 ms tick on which Redis acts on its own SIGTERM, so that
# the race between them is not what decides), then asks Redis to SAVE and
# shut down.
. "$SHAPES/lib.sh"
await redis-cli -s "$RUN/redis.sock" ping
stop() {
    sleep "$CLEANUP"
    redis-cli -s "$RUN/redis.sock" SAVE >"$RUN/save.out" 2>&1
    redis-cli -s "$RUN/redis.sock" SHUTDOWN NOSAVE >/dev/null 2>&1
    exit 0
}
trap stop TERM
for i in $(seq 1 "$KEYS"); do echo "SET key$i value$i"; done | redis-cli -s "$RUN/redis.sock" >/dev/null
touch "$RUN/keys-written"
idle
