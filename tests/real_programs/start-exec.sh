# The start-script database: pg_ctl starts the server in the background, then
# `exec app`.
. "$SHAPES/lib.sh"
as_postgres "$PGBIN/pg_ctl" -D "$RUN/pgdata" -l "$RUN/pg.log" -w -t "$READY_TIMEOUT" \
    -o "-k $RUN -c listen_addresses=" start >/dev/null
exec bash "$SHAPES/app-pg.sh"
