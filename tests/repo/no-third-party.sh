#!/usr/bin/env bash
# Proof that no third-party source is committed: mbedTLS, cJSON and lwIP come from Debian's
# source packages at build time (tools/bootstrap), never from this repository.
set -euo pipefail
cd "$1"
fail=0
# Copyright lines and identifiers that only the real projects' files carry. Spelled in pieces
# so that this script does not itself match them (nor any other scan for them).
marks="The Mbed TLS""[ ]Contributors|ARM Limited,""[ ]All Rights Reserved|Adam Dunkels""[ ]<adam@sics.se>"
marks="$marks|Copyright \\(c\\) 2009-2017""[ ]Dave Gamble|Swedish Institute""[ ]of Computer Science"
if hits=$(git ls-files -z | xargs -0 grep -lE "$marks" -- 2>/dev/null); then
    echo "third-party source committed (copyright marks):"; echo "$hits"; fail=1
fi
if names=$(git ls-files | grep -E '(^|/)(cJSON\.[ch]|ssl_tls\.c|mbedtls/[a-z_]+\.h|lwip/(opt|tcp|pbuf)\.h|tcp_in\.c|etharp\.c)$'); then
    echo "third-party file names committed:"; echo "$names"; fail=1
fi
if git ls-files | grep -E '^\.cache/|^build/' >/dev/null; then
    echo "cache or build directory committed"; fail=1
fi
n=$(git ls-files | wc -l)
[ "$n" -gt 0 ] || { echo "no tracked files: not a checkout?"; exit 1; }
[ $fail -eq 0 ] && echo "no third-party source among $n tracked files"
exit $fail
