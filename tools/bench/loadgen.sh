#!/usr/bin/env bash
# The collector load benchmark and its TLS baseline (docs/benchmarks.md, "Collector load").
#
#   tools/bench/loadgen.sh BUILD N [INTERVAL_MS] [RAMP_S] [HOLD_S] [--restart | --restart-tickets] [--no-nginx | --only-nginx]
#   (WARD_COLLECTOR_ARGS="..." adds options to the collector, e.g. --max-unauth-per-source N;
#    WARD_LOADGEN_ARGS="--sensors 8" makes every batch carry a snapshot page of 8 moving values;
#    it goes to the load generator of both runs, so the collector and nginx get the same load)
#
# BUILD is a linux-x86_64 build directory (ward-collector, tools/bench/loadgen). N agents,
# each with its own device certificate (tools/bench/mkcerts.py, cached in $WORK/certs), report
# to a ward-collector on 127.0.0.1 that the load generator starts; then the same N agents
# send the same mutual-TLS keep-alive POSTs to nginx (one worker, `return 204`). INTERVAL_MS
# 0 means closed loop (each agent sends its next heartbeat when the previous is acknowledged).
# Port: $PORT (default 18443; 0: a free one). Work files: $WORK (default
# /tmp/ward-bench-loadgen). Every process started here is stopped
# by the load generator (by PID) before it exits.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 BUILD N [INTERVAL_MS] [RAMP_S] [HOLD_S] [--restart | --restart-tickets] [--no-nginx]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "$1" && pwd)
N=$2
INTERVAL=${3:-0}
RAMP=${4:-10}
HOLD=${5:-10}
shift $(( $# < 5 ? $# : 5 ))
RESTART=()
NGINX=1
RUN_COLLECTOR=1
for a in "$@"; do
    case $a in
    --restart) RESTART=(--restart) ;;
    --restart-tickets) RESTART=(--restart-tickets) ;;
    --no-nginx) NGINX=0 ;;
    --only-nginx) RUN_COLLECTOR=0 ;;
    *) echo "loadgen.sh: unknown argument '$a'" >&2; exit 2 ;;
    esac
done
WORK=${WORK:-/tmp/ward-bench-loadgen}
PORT=${PORT:-18443}
if [ "$PORT" = 0 ]; then # a free port on loopback, chosen by the kernel (what the smoke test uses)
    PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
fi
LOADGEN=$BUILD/tools/bench/loadgen
COLLECTOR=$BUILD/tools/ward-collector
[ -x "$LOADGEN" ] && [ -x "$COLLECTOR" ] || { echo "loadgen.sh: build $BUILD first (loadgen, ward-collector)" >&2; exit 1; }

mkdir -p "$WORK"
if [ ! -f "$WORK/pki/ca.crt" ]; then
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" init >/dev/null
    "$ROOT/tools/pki/ward-pki" --dir "$WORK/pki" collector >/dev/null
fi
python3 "$HERE/mkcerts.py" "$WORK/pki" "$WORK/certs" "$N" >&2

echo "# $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || cat "$ROOT/HEAD.txt") $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rm -rf "$WORK/state"
if [ $RUN_COLLECTOR -eq 1 ]; then
echo "collector:"
"$LOADGEN" --pki "$WORK/pki" --certs "$WORK/certs" --agents "$N" --port "$PORT" \
    --ramp "$RAMP" --hold "$HOLD" --interval-ms "$INTERVAL" "${RESTART[@]}" ${WARD_LOADGEN_ARGS:-} -- \
    "$COLLECTOR" --pki "$WORK/pki" --state "$WORK/state" --listen "127.0.0.1:$PORT" \
    --api-listen 127.0.0.1:0 --log-level error ${WARD_COLLECTOR_ARGS:-} | tee "$WORK/collector.json"
fi

[ $NGINX -eq 1 ] || exit 0
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || { echo "loadgen.sh: nginx is not installed (tools/bootstrap)" >&2; exit 1; }
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
# Same terms as the collector: one worker (the collector is one thread), TLS 1.3 (the agents
# speak only 1.3), ECDHE and ECDSA on P-256, client certificates from the ward CA required,
# session tickets, keep-alive. OpenSSL resumes TLS 1.3 only with psk_dhe_ke and the agents
# offer psk_ke, so nginx does full handshakes where the collector resumes.
worker_processes 1;
# One process (no master) so the load generator reads the RSS of the process that holds the
# connections; the worker code path is the same.
master_process off;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log error;
worker_rlimit_nofile 20000;
events { worker_connections 19000; use epoll; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $WORK/pki/collector.crt;
        ssl_certificate_key $WORK/pki/collector.key;
        ssl_client_certificate $WORK/pki/ca.crt;
        ssl_verify_client on;
        ssl_protocols TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384;
        ssl_ecdh_curve prime256v1;
        ssl_session_tickets on;
        location / { return 204; }
    }
}
EOF
echo "# $(date -u +%FT%TZ) nginx, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "nginx:"
"$LOADGEN" --pki "$WORK/pki" --certs "$WORK/certs" --agents "$N" --port "$PORT" \
    --ramp "$RAMP" --hold "$HOLD" --interval-ms "$INTERVAL" "${RESTART[@]}" ${WARD_LOADGEN_ARGS:-} -- \
    "$NGINX_BIN" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" | tee "$WORK/nginx.json"
[ $RUN_COLLECTOR -eq 1 ] || exit 0
python3 - "$WORK/collector.json" "$WORK/nginx.json" <<'EOF'
import json, sys
c, n = (json.load(open(p)) for p in sys.argv[1:3])
print(f"ratio collector/nginx: heartbeats/s {c['hb_per_s'] / max(n['hb_per_s'], 1):.2f}, "
      f"p99 {c['p99_ms'] / max(n['p99_ms'], 0.001):.2f}, "
      f"RSS per connection {c['rss_per_conn_kib'] / max(n['rss_per_conn_kib'], 0.001):.2f}")
EOF
