# Sourced by the nginx shapes: writes $RUN/nginx.conf, whose one server
# listens on $RUN/nginx.sock and serves $1 (an nginx location's body).
mkdir -p "$RUN/nginx-temp"
cat >"$RUN/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 2;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log notice;
events { worker_connections 64; }
http {
    access_log $RUN/nginx-access.log;
    client_body_temp_path $RUN/nginx-temp/body;
    proxy_temp_path $RUN/nginx-temp/proxy;
    fastcgi_temp_path $RUN/nginx-temp/fastcgi;
    uwsgi_temp_path $RUN/nginx-temp/uwsgi;
    scgi_temp_path $RUN/nginx-temp/scgi;
    server {
        listen unix:$RUN/nginx.sock;
        location / { $1 }
    }
}
CONF
