# PostgreSQL alone, the main process: a master that stops its own workers.
. "$SHAPES/lib.sh"
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$PGBIN/postgres" -D "$RUN/pgdata" -k "$RUN" -c listen_addresses= >"$RUN/pg.log" 2>&1
