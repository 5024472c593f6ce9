#!/usr/bin/env bash
# tools/bootstrap's .dsc check (verify_dsc, run on every source fetch) refuses what it must,
# offline: a .dsc whose signed text was changed, one with no signature, and tarballs that do
# not match the checksums it signs. The genuine .dsc is the one tools/bootstrap verified and
# kept beside a source tree (.cache/debsrc/<name>-<version>/.ward-dsc).
#
#   tests/repo/bootstrap-dsc.sh ROOT [CACHE]     (exit 77: nothing to test with)
set -uo pipefail

ROOT=$1
CACHE=${2:-$ROOT/.cache/debsrc}
BOOTSTRAP=$ROOT/tools/bootstrap
fails=0

dsc=$(find "$CACHE"/ -mindepth 2 -maxdepth 2 -name .ward-dsc 2>/dev/null | sort | head -n 1)
if [ -z "$dsc" ]; then
    echo "SKIP: no verified .dsc under $CACHE (trees fetched before tools/bootstrap kept them;" \
        "remove one of $CACHE/<name>-<version> and run tools/bootstrap)"
    exit 77
fi
if [ ! -r /usr/share/keyrings/debian-keyring.gpg ]; then
    echo "SKIP: debian-keyring is not installed (tools/bootstrap installs it)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT_RC PATTERN DSC: run the check, compare its exit code and its one line.
expect() {
    local name=$1 want=$2 pattern=$3 out rc
    out=$("$BOOTSTRAP" --verify-dsc "$4" 2>&1)
    rc=$?
    if [ $rc -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want), output: $out"
        fails=$((fails + 1))
    else
        echo "ok   $name: $(tail -n 1 <<<"$out")"
    fi
}

# The genuine .dsc: its signature verifies; the tarballs are not here, which is refused.
cp "$dsc" "$tmp/genuine.dsc"
expect genuine-signature 1 'which it lists, is missing' "$tmp/genuine.dsc"

# Every file it lists present, with other contents: refused on the checksum.
mkdir "$tmp/files"
cp "$dsc" "$tmp/files/x.dsc"
sed -n '/^Checksums-Sha256:/,/^[^ ]/{s/^ [0-9a-f]\{64\} [0-9]\+ \([^ /]\+\)$/\1/p}' "$dsc" |
    while read -r f; do echo "not the release" >"$tmp/files/$f"; done
expect wrong-tarball 1 'does not match the SHA-256 and size it signs' "$tmp/files/x.dsc"

# One byte of the signed text changed: refused on the signature.
sed 's/^Version: \(.*\)$/Version: \1x/' "$dsc" >"$tmp/tampered.dsc"
cmp -s "$dsc" "$tmp/tampered.dsc" && { echo "FAIL: could not tamper with $dsc"; exit 1; }
expect tampered 1 'does not verify against the Debian keyrings: BAD signature' "$tmp/tampered.dsc"

# The signed text without its signature: refused.
sed -n '/^-----BEGIN PGP SIGNED MESSAGE-----$/,/^-----BEGIN PGP SIGNATURE-----$/p' "$dsc" |
    sed '1,3d;$d' >"$tmp/unsigned.dsc"
expect unsigned 1 'does not verify against the Debian keyrings' "$tmp/unsigned.dsc"

if [ $fails -ne 0 ]; then
    echo "bootstrap dsc: $fails FAILED"
    exit 1
fi
echo "bootstrap dsc: ok"
