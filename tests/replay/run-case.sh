#!/bin/sh
# One golden replay case: run-case.sh CASE_DIR AGENT [EMULATOR...]
#   CASE_DIR/rules.json + CASE_DIR/trace.jsonl through `ward-agent replay`;
#   CASE_DIR/expected.jsonl: stdout must equal it and the exit status be 0;
#   CASE_DIR/expected.err:   stdout must be empty, stderr must be exactly
#                            "ward-agent: replay: " + its line, and the exit status 1.
set -u
case_dir=$1
shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
cd "$case_dir" || exit 1
"$@" replay --rules rules.json trace.jsonl >"$out" 2>"$err"
rc=$?
if [ -f expected.err ]; then
    want="ward-agent: replay: $(cat expected.err)"
    [ "$rc" -eq 1 ] || { echo "FAIL: exit status $rc, want 1"; cat "$err"; exit 1; }
    [ ! -s "$out" ] || { echo "FAIL: output on stdout despite the error:"; cat "$out"; exit 1; }
    [ "$(cat "$err")" = "$want" ] || { echo "FAIL: stderr"; echo " got: $(cat "$err")"; echo "want: $want"; exit 1; }
else
    [ "$rc" -eq 0 ] || { echo "FAIL: exit status $rc"; cat "$err"; exit 1; }
    diff -u expected.jsonl "$out" || { echo "FAIL: output differs (above)"; exit 1; }
fi
echo "ok: $(basename "$case_dir")"
