# Docker's documented pattern for several processes: both in the background,
# then `wait -n`.
. "$SHAPES/lib.sh"
as_postgres "$PGBIN/postgres" -D "$RUN/pgdata" -k "$RUN" -c listen_addresses= >"$RUN/pg.log" 2>&1 &
bash "$SHAPES/app-pg.sh" &
wait -n
exit $?
