# Redis daemonized by the start script, then `exec app`. No save points: the
# dump is what the app asked for.
redis-server --daemonize yes --port 0 --unixsocket "$RUN/redis.sock" --dir "$RUN" \
    --save '' --appendonly no --logfile "$RUN/redis.log" --pidfile "$RUN/redis.pid"
exec bash "$SHAPES/app-redis.sh"
