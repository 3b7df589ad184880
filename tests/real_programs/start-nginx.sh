# nginx alone, the main process: a master that stops its own workers.
. "$SHAPES/nginx.sh" 'return 200 "ok\n";'
exec nginx -e "$RUN/nginx-error.log" -p "$RUN" -c "$RUN/nginx.conf"
