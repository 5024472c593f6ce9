#!/usr/bin/env bash
# The pinned dependency versions (tools/bootstrap, PIN=(...)) against docs/dependencies.md's
# table: fails when a pin is below the table's minimum, when a pinned dependency has no row or
# a row no pin, or when a row's support window has ended (the next EOL must not go unnoticed).
#
# Usage: dependency-versions.sh SOURCE_DIR [--self-check]
#   --self-check: also prove the check can fail: run it on a copy of tools/bootstrap with
#   each pin lowered by one patch release (expect a failure), and on the real files (expect a
#   pass).
set -uo pipefail
src=$1

# check BOOTSTRAP DOC: prints one line per problem; status 1 if any.
check() {
    local bootstrap=$1 doc=$2 pins rows bad=0 today
    pins=$(sed -n 's/^declare -A PIN=(\(.*\))$/\1/p' "$bootstrap" | tr ' ' '\n' |
        sed -n 's/^\[\([a-z0-9]*\)\]=\([0-9.]*\)$/\1 \2/p')
    [ -n "$pins" ] || { echo "no PIN=(...) line in $bootstrap"; return 1; }
    rows=$(sed -n '/<!-- dependency-table -->/,/<!-- \/dependency-table -->/p' "$doc" |
        awk -F'|' 'NR > 1 && $2 ~ /[a-z]/ && $3 ~ /[0-9]/ {
            gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4)
            end = $6; sub(/.*: */, "", end); sub(/ .*/, "", end)
            print $2, $3, $4, end }')
    [ -n "$rows" ] || { echo "no dependency table in $doc"; return 1; }
    today=$(date -u +%F)
    while read -r name pin; do
        local row min end
        row=$(awk -v n="$name" '$1 == n' <<<"$rows")
        if [ -z "$row" ]; then
            echo "$name: pinned to $pin in tools/bootstrap but not listed in docs/dependencies.md"
            bad=1
            continue
        fi
        read -r _ _ min end <<<"$row"
        if [ "$(printf '%s\n%s\n' "$min" "$pin" | sort -V | head -n 1)" != "$min" ]; then
            echo "$name: pinned $pin is below the minimum $min in docs/dependencies.md"
            bad=1
        fi
        if ! [[ "$end" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
            echo "$name: no support end date (YYYY-MM-DD) in docs/dependencies.md"
            bad=1
        elif [[ "$end" < "$today" ]]; then
            echo "$name: support window ended $end: pin a supported release"
            bad=1
        fi
    done <<<"$pins"
    while read -r name _; do
        grep -q "^$name " <<<"$pins" ||
            { echo "$name: listed in docs/dependencies.md but not pinned in tools/bootstrap"; bad=1; }
    done <<<"$rows"
    return $bad
}

if ! out=$(check "$src/tools/bootstrap" "$src/docs/dependencies.md"); then
    echo "$out"
    echo "dependency versions: FAIL"
    exit 1
fi
if [ "${2:-}" = "--self-check" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # Lower each pin's last number by one (3.6.6 -> 3.6.5): every dependency must be caught.
    lowered=$(grep '^declare -A PIN=' "$src/tools/bootstrap" |
        perl -pe 's/(\]=(?:[0-9]+\.)*)([0-9]+)/$1 . ($2 - 1)/ge')
    sed "s/^declare -A PIN=.*/$lowered/" "$src/tools/bootstrap" >"$tmp/bootstrap"
    echo "self-check: lowered pins: $lowered"
    if out=$(check "$tmp/bootstrap" "$src/docs/dependencies.md"); then
        echo "dependency versions: FAIL: lowered pins were not caught"
        exit 1
    fi
    echo "$out" | sed 's/^/self-check: caught: /'
    n=$(grep -c 'is below the minimum' <<<"$out")
    pins=$(grep -o '\]=' <<<"$lowered" | wc -l)
    [ "$n" -eq "$pins" ] ||
        { echo "dependency versions: FAIL: $n of $pins lowered pins caught"; exit 1; }
fi
echo "dependency versions: ok (pins at or above docs/dependencies.md's minimums, support windows open)"
