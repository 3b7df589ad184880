# php-fpm daemonized, then `exec nginx` in front of it: slow.php answers once
# $RUN/release exists. nginx stops gracefully on SIGQUIT (the STOPSIGNAL of
# Docker's nginx image), php-fpm at once on SIGTERM.
cat >"$RUN/php-fpm.conf" <<CONF
[global]
pid = $RUN/php-fpm.pid
error_log = $RUN/php-fpm.log
[www]
user = root
listen = $RUN/php.sock
pm = static
pm.max_children = 2
CONF
cat >"$RUN/slow.php" <<'PHP'
<?php
$run = $_SERVER["RUN_DIR"];
touch("$run/request-started");
while (!file_exists("$run/release")) { usleep(10000); clearstatcache(); }
echo str_repeat("x", 100000), "\nend\n";
PHP
"$(ls /usr/sbin/php-fpm* | sort -V | tail -1)" -R -D -y "$RUN/php-fpm.conf"
. "$SHAPES/nginx.sh" "fastcgi_pass unix:$RUN/php.sock; include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME $RUN/slow.php; fastcgi_param RUN_DIR $RUN;"
exec nginx -e "$RUN/nginx-error.log" -p "$RUN" -c "$RUN/nginx.conf"
