#!/bin/sh
# ctest driver for the Cortex-M boards: boot an image in qemu-system-arm and pass only if QEMU exits
# with the expected status AND every expected line appears on the console.
#
# usage: qemu-test.sh [--corrupt-config] IMAGE STATUS REGEX...
#   --corrupt-config  boot a copy of IMAGE (then the flat .bin, which QEMU loads at address
#                     0) with one byte of the configuration text overwritten, as a flash
#                     fault would; every other byte is the build's
#   IMAGE             ward-agent.elf, or ward-agent.bin
#   STATUS            the exit status the image must give through semihosting
#                     (0 all passed, 1 a test failed, 2 crash)
#   REGEX             extended regular expressions; each must match a whole line
#
# Environment: QEMU (default qemu-system-arm), QEMU_MACHINE (default mps2-an385),
# WARD_QEMU_TIMEOUT in seconds (default 120).
set -eu

qemu=${QEMU:-qemu-system-arm}
machine=${QEMU_MACHINE:-mps2-an385}
limit=${WARD_QEMU_TIMEOUT:-120}
corrupt=0

die() {
    echo "qemu-test: $*" >&2
    exit 1
}

if [ "${1:-}" = "--corrupt-config" ]; then
    corrupt=1
    shift
fi
[ $# -ge 2 ] || die "usage: qemu-test.sh [--corrupt-config] IMAGE STATUS REGEX..."
image=$1
want=$2
shift 2
[ -f "$image" ] || die "$image does not exist; build the ward-agent.elf target first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

if [ "$corrupt" -eq 1 ]; then
    case "$image" in *.bin) ;; *) die "--corrupt-config needs the flat .bin image" ;; esac
    # "CONFIG_WARD_ARCH=" occurs in the image only inside the configuration text.
    hits=$(grep -obaF 'CONFIG_WARD_ARCH=' "$image" | cut -d: -f1) ||
        die "no configuration text in $image"
    [ "$(echo "$hits" | wc -l)" -eq 1 ] || die "configuration text is not unique in $image"
    cp "$image" "$tmp/corrupt.bin"
    # '#' over the 'C' of "CONFIG_": the text, and so its digest, no longer match the build.
    printf '#' | dd of="$tmp/corrupt.bin" bs=1 seek="$hits" conv=notrunc status=none
    echo "qemu-test: configuration text at 0x$(printf '%x' "$hits") overwritten"
    image="$tmp/corrupt.bin"
fi

set +e
timeout "$limit" "$qemu" -M "$machine" -nographic -monitor none -serial stdio \
    -semihosting-config enable=on,target=native -kernel "$image" </dev/null >"$tmp/raw" 2>&1
status=$?
set -e
tr -d '\r' <"$tmp/raw" >"$tmp/log" # the UART sends CRLF line ends
cat "$tmp/log"

fail=0
if [ "$status" -eq 124 ]; then
    echo "qemu-test: FAIL: no exit within ${limit}s (hung, or semihosting is off)"
    fail=1
fi
if [ "$status" -ne "$want" ]; then
    echo "qemu-test: FAIL: exit status $status, expected $want"
    fail=1
fi
for re in "$@"; do
    if ! grep -Eq "^($re)\$" "$tmp/log"; then
        echo "qemu-test: FAIL: no line matches: $re"
        fail=1
    fi
done
if [ "$fail" -eq 0 ]; then
    echo "qemu-test: ok (exit status $status, all $# expected lines seen)"
fi
exit "$fail"
