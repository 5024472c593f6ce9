#!/usr/bin/env bash
# firmware/ is portable: it names no board, includes no OS headers, and does not allocate.
set -euo pipefail
cd "$1"
fail=0
boards=$(find boards -mindepth 1 -maxdepth 1 -type d ! -name common -printf '%f\n')
[ -n "$boards" ] || { echo "no boards found"; exit 1; }
for b in $boards; do
    sym=$(echo "$b" | tr 'a-z-' 'A-Z_')
    if grep -rnE "BOARD_${sym}\b|\b${b}\b" firmware/ >/dev/null; then
        echo "firmware/ names board $b:"; grep -rnE "BOARD_${sym}\b|\b${b}\b" firmware/; fail=1
    fi
done
if grep -rnE '#include <(unistd|fcntl|pthread|sys/[a-z]+|linux/[a-z_]+|sys_arch|netinet/[a-z]+)\.h>' firmware/; then
    echo "firmware/ includes OS-specific headers (above)"; fail=1
fi
if grep -rnE '\b(malloc|calloc|realloc|strdup)\s*\(' firmware/ --include=*.c; then
    echo "firmware/ calls the heap (above)"; fail=1
fi
[ $fail -eq 0 ] && echo "firmware/ is portable (checked against: $(echo $boards))"
exit $fail
