# The app: holds a transaction open through a psql child and commits it in its
# SIGTERM handler, then leaves.
. "$SHAPES/lib.sh"
await "$PGBIN/pg_isready" -q -U postgres -h "$RUN"
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
idle
