#!/usr/bin/env bash
# The agent's TLS channel (tls_probe) against openssl s_server on 127.0.0.1, which requires a
# client certificate (-Verify). Certificates are made here with the openssl CLI (the expired
# one with python3-cryptography: openssl x509 -req cannot backdate).
# The Linux agent speaks TLS 1.3 only (its mbedTLS configuration has no 1.2), so the server
# runs -tls1_3:
#   handshake with the right CA and name; session ticket resumption on reconnect (psk_ke:
#   s_server -allow_no_dhe_kex); AES-GCM and ChaCha20 suites; no heap after start-up; the
#   pool returns to empty;
#   refused: another CA, the wrong server name, an expired server certificate, a plain TCP
#   peer, a device certificate from another CA, an RSA-only server, a TLS 1.2-only server;
#   a renewed certificate loaded between connections (and a mismatched or foreign one not).
# Usage: tls_test.sh PROBE WORKDIR [EMULATOR]
set -uo pipefail
probe=$1
work=$2
emu=${3:-}
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    return 0
}
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
passed=0
fail() { echo "FAIL: $*"; exit 1; }

# ---- certificates -------------------------------------------------------------------------
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mkca() { # name
    ec "$1.key" && openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
}
mkleaf() { # name ca cn ext [keytype]
    if [ "${5:-ec}" = rsa ]; then
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
    else
        ec "$1.key"
    fi
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null &&
        printf '%b' "$4" >"$1.ext" &&
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
            -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
SRV_EXT='basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:collector.test,IP:127.0.0.1\n'
DEV_EXT='basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
mkca ca && mkca otherca || fail "cannot create CAs"
mkleaf srv ca collector.test "$SRV_EXT" && mkleaf dev ca dev-1 "$DEV_EXT" || fail "leaf certs"
mkleaf othersrv otherca collector.test "$SRV_EXT" && mkleaf otherdev otherca dev-1 "$DEV_EXT" ||
    fail "other CA's certs"
mkleaf rsasrv ca collector.test "$SRV_EXT" rsa || fail "RSA server cert"
# A renewal of dev-1 (its subject says so, for the server's log) and another device's pair.
ec dev2.key && openssl req -new -key dev2.key -out dev2.csr -subj "/O=renewed/CN=dev-1" \
    2>/dev/null && printf '%b' "$DEV_EXT" >dev2.ext &&
    openssl x509 -req -in dev2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out dev2.pem \
        -days 2 -extfile dev2.ext 2>/dev/null || fail "renewed device cert"
mkleaf dev9 ca dev-9 "$DEV_EXT" || fail "another device's cert"
# A server certificate from the right CA for the right name, valid from 10 to 2 days ago.
/usr/bin/python3 - <<'EOF' || fail "expired server cert"
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
ca_key = serialization.load_pem_private_key(open("ca.key", "rb").read(), None)
ca = x509.load_pem_x509_certificate(open("ca.pem", "rb").read())
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
crt = (x509.CertificateBuilder()
       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collector.test")]))
       .issuer_name(ca.subject).public_key(key.public_key())
       .serial_number(x509.random_serial_number())
       .not_valid_before(now - datetime.timedelta(days=10))
       .not_valid_after(now - datetime.timedelta(days=2))
       .add_extension(x509.SubjectAlternativeName([x509.DNSName("collector.test")]), False)
       .sign(ca_key, hashes.SHA256()))
open("expsrv.pem", "wb").write(crt.public_bytes(serialization.Encoding.PEM))
open("expsrv.key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Start openssl s_server on a free port; sets $port. Waits (bounded) until it accepts.
# TLS 1.3 unless the extra arguments name another version. -rev (echo each line reversed)
# rather than -www: TLS 1.3 has no max_fragment_length in mbedTLS, and -www's status page is
# one record larger than the agent's 4 KiB input buffer (the collector's records are small).
start_server() { # log cert key [extra args...]
    local log=$1 cert=$2 key=$3 version=-tls1_3
    shift 3
    [[ " $* " == *" -tls1_2 "* ]] && version=
    port=$(free_port)
    openssl s_server -accept "127.0.0.1:$port" -cert "$cert" -key "$key" -CAfile ca.pem \
        -Verify 1 -verify_return_error $version -allow_no_dhe_kex -rev "$@" </dev/null >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q ACCEPT "$log" 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$log"
    fail "openssl s_server did not start"
}

stop_server() {
    local p=${pids[-1]}
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset 'pids[-1]'
}

probe() { # args... ; output in $out, status in $st
    out=$($emu "$probe" --port "$port" "$@" 2>&1)
    st=$?
}

expect() { # description regex
    grep -qE "$2" <<<"$out" || { echo "$out"; fail "$1: output lacks /$2/"; }
    passed=$((passed + 1))
    echo "ok: $1"
}

GOOD=(--ca ca.pem --cert dev.pem --key dev.key --name collector.test)

# 1. The right CA and name: a full handshake, then resumed ones from the session ticket.
start_server s1.log srv.pem srv.key
probe "${GOOD[@]}" --count 4 --request
[ $st -eq 0 ] || { echo "$out"; fail "good handshake exited $st"; }
expect "full TLS 1.3 handshake with the pinned CA" "^conn 1: ok full TLS1-3-CHACHA20-POLY1305-SHA256"
expect "reconnects resume from the ticket" "^conn 4: ok resumed"
expect "one full, three resumed" "summary: ok=4 full=1 resumed=3 failed=0"
expect "no heap after start-up" "heap_calls=0"
expect "the pool is empty after free" "freed: pool_in_use=0 bad_frees=0"
echo "$out" | grep -E '^(init|conn|summary)'
# the server saw the client certificate
grep -q "dev-1" s1.log || grep -q "GET / HTTP" s1.log || true
stop_server

# 2. AES-GCM when the server allows only that.
start_server s2.log srv.pem srv.key -ciphersuites TLS_AES_128_GCM_SHA256
probe "${GOOD[@]}"
expect "AES-128-GCM negotiated" "^conn 1: ok full TLS1-3-AES-128-GCM-SHA256"
stop_server

# 3. Refusals, each from a server that is otherwise fine.
start_server s3.log srv.pem srv.key
probe --ca otherca.pem --cert dev.pem --key dev.key --name collector.test
[ $st -ne 0 ] || fail "a collector from another CA was accepted"
expect "collector certificate from another CA refused" "^conn 1: fail -13 .* verify=0x[0-9a-f]*[1-9a-f][0-9a-f]*"
probe --ca ca.pem --cert dev.pem --key dev.key --name wrong.test
[ $st -ne 0 ] || fail "the wrong server name was accepted"
expect "wrong server name refused under TLS 1.3 (CN mismatch)" "^conn 1: fail -13 .* verify=0x[0-9a-f]*[4567cdef]$"
probe --ca ca.pem --cert otherdev.pem --key otherdev.key --name collector.test
[ $st -ne 0 ] || fail "a device certificate from another CA was accepted by the server"
expect "server refuses a device certificate from another CA" "^conn 1: fail -(71|104|32) "
stop_server

# An expired collector certificate (right CA, right name) is refused under TLS 1.3.
start_server s3e.log expsrv.pem expsrv.key
probe "${GOOD[@]}"
[ $st -ne 0 ] || fail "an expired server certificate was accepted"
expect "expired server certificate refused under TLS 1.3" "^conn 1: fail -13 .* verify=0x[0-9a-f]*[1-9a-f]$"
stop_server

# 4. A server that only has RSA, or only TLS 1.2: nothing in common with the agent.
start_server s4.log rsasrv.pem rsasrv.key
probe "${GOOD[@]}"
[ $st -ne 0 ] || fail "an RSA-only server was accepted"
expect "RSA-only server refused" "^conn 1: fail -(71|104|32) "
stop_server
start_server s5.log srv.pem srv.key -tls1_2
probe "${GOOD[@]}"
[ $st -ne 0 ] || fail "a TLS 1.2-only server was accepted"
expect "TLS 1.2-only server refused (the agent speaks 1.3 only)" "^conn 1: fail -(71|104|32) "
stop_server

# 5. A new certificate taken into use between connections (ward_tls_reload): the next
#    handshake is a full one with it, from the pool, no heap; a pair that does not match or
#    names another device is refused and the old one goes on (resumed: its ticket is kept).
start_server s6.log srv.pem srv.key
probe "${GOOD[@]}" --count 3 --request --reload-cert dev2.pem --reload-key dev2.key
[ $st -eq 0 ] || { echo "$out"; fail "reload exited $st"; }
expect "reload of a renewed pair accepted" "^reload: ok 0 "
expect "the next connection is a full handshake" "^conn 2: ok full "
expect "then resumed again" "^conn 3: ok resumed "
grep -q "O = renewed" s6.log || { cat s6.log; fail "the server never saw the renewed certificate"; }
passed=$((passed + 1))
echo "ok: the server saw the renewed certificate"
expect "reload: no heap" "heap_calls=0"
expect "reload: the pool is empty after free" "freed: pool_in_use=0 bad_frees=0"
probe "${GOOD[@]}" --count 2 --reload-cert dev2.pem --reload-key dev.key
expect "a key that does not match refused (-EINVAL), the old pair resumes" \
    "^reload: fail -22 .*"$'\n'"conn 2: ok resumed"
probe "${GOOD[@]}" --count 2 --reload-cert dev9.pem --reload-key dev9.key
expect "another device's certificate refused (-EPERM)" "^reload: fail -1 "
expect "refused reloads leak nothing" "freed: pool_in_use=0 bad_frees=0"
stop_server

# 6. A plain TCP peer that answers in clear text.
port=$(free_port)
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(5)
try: c.recv(4096)
except Exception: pass
c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"); c.close()
' "$port" &
pids+=($!)
sleep 0.3
probe "${GOOD[@]}"
[ $st -ne 0 ] || fail "a plain TCP peer was accepted"
expect "plain TCP peer refused" "^conn 1: fail -(71|104) "
stop_server

echo "tls: all $passed cases passed"
