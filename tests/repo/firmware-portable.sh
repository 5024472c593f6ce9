#!/usr/bin/env bash
# firmware/ names no board. Its portable core (everything but firmware/apps/ and
# firmware/ports/) includes no OS headers, does not allocate, and never includes an app's or
# a port's header. Apps (the Linux command line) and ports (POSIX, lwIP) may use their OS's
# headers and, at start-up, the heap; they still build for any board of their OS.
set -euo pipefail
cd "$1"
fail=0
boards=$(find boards -mindepth 1 -maxdepth 1 -type d ! -name common -printf '%f\n')
[ -n "$boards" ] || { echo "no boards found"; exit 1; }
core=(firmware --exclude-dir=apps --exclude-dir=ports)
edge=(firmware/apps firmware/ports)
report() { # report MESSAGE GREP-ARGS...: print the hits under MESSAGE and fail
    local msg=$1 hits
    shift
    if hits=$(grep -rnE "$@"); then
        echo "$msg:"; echo "$hits"; fail=1
    fi
}
for b in $boards; do
    sym=$(echo "$b" | tr 'a-z-' 'A-Z_')
    report "firmware/ names board $b" "BOARD_${sym}\b|boards/${b}\b" firmware/
    report "firmware/ names board $b" "\b${b}\b" "${core[@]}"
    # In apps and ports a board name that is also a HAL backend (hal/sim) means the backend.
    [ -d "hal/$b" ] || report "firmware/ names board $b" "\b${b}\b" "${edge[@]}"
done
report "the portable core includes OS-specific headers" \
    '#include <(unistd|fcntl|pthread|poll|signal|sys/[a-z]+|linux/[a-z_]+|sys_arch|netinet/[a-z]+|arpa/[a-z]+)\.h>' \
    "${core[@]}"
report "the portable core calls the heap" '\b(malloc|calloc|realloc|strdup)\s*\(' \
    "${core[@]}" --include=*.c
edge_headers=$(find "${edge[@]}" -name '*.h' -printf '%f\n' | sort -u | sed 's/\./\\./g' | paste -sd'|')
if [ -n "$edge_headers" ]; then
    report "the portable core includes an app's or a port's header" \
        "#include \"(.*/)?(${edge_headers})\"" "${core[@]}"
fi
[ $fail -eq 0 ] && echo "firmware/ is portable (checked against: $(echo $boards))"
exit $fail
