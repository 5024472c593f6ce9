#!/usr/bin/env bash
# The demo's first run on a fresh Debian 12 machine, measured (docs/demo.md, "First run on a
# fresh machine"). A command, not a ctest test: it needs root, debootstrap and Debian's archive.
#
#   1. debootstrap --variant=minbase bookworm into a new temporary folder (not timed: that is
#      the fresh machine), or copy a pristine tree made that way before (--base DIR);
#   2. a fresh `git clone` of this repository at REV (default HEAD; committed work only, no
#      .cache/ and no build/) into /root/ward in it; the host's resolv.conf; /proc, /sys, /dev
#      and /dev/pts bind-mounted;
#   3. the README's first command, `tools/demo --for SECONDS`, as root in the chroot, on a
#      pseudo-terminal (as a person runs it: `wardctl watch` refreshes every second), every
#      output line stamped with the seconds since the start; prints the total, the time to
#      the first device row on screen, and where the time went: apt (index download, package
#      download, unpacking, from the chroot's dpkg.log), the Debian sources, each board's
#      configure and build (the demo's own "done (...)" lines), download volume and load;
#   4. unmounts everything it mounted and removes the folder (--keep leaves it).
#
# Usage: tools/bench/fresh_demo.sh [--mirror URL] [--rev REV] [--for SECONDS] [--base DIR]
#                                  [--keep] [--log FILE]
#   --mirror URL  Debian mirror for debootstrap (default: the host's first deb.debian.org-style
#                 URI from /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   --rev REV     what to clone (default HEAD)
#   --for SECONDS how long the demo watches once started (default 20)
#   --base DIR    copy this pristine debootstrap tree instead of running debootstrap
#   --keep        leave the chroot folder (its mounts are still removed)
#   --log FILE    also write the stamped demo output to FILE
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIRROR=
REV=HEAD
FOR=20
BASE=
KEEP=0
LOGFILE=

die() { printf 'fresh_demo: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'fresh_demo: %s\n' "$*"; }

while [ $# -gt 0 ]; do
    case $1 in
    --mirror) MIRROR=${2:?}; shift 2 ;;
    --rev) REV=${2:?}; shift 2 ;;
    --for) [[ ${2:-} =~ ^[1-9][0-9]{0,4}$ ]] || die "--for wants seconds"; FOR=$2; shift 2 ;;
    --base) BASE=$(realpath "${2:?}"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    --log) LOGFILE=$(realpath -m "${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
command -v script >/dev/null || die "script (util-linux) is missing"
[ -n "$BASE" ] || command -v debootstrap >/dev/null ||
    die "debootstrap is missing (apt-get install debootstrap)"
if [ -z "$MIRROR" ]; then
    MIRROR=$(sed -n 's/^URIs: \(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources \
        2>/dev/null | head -n 1)
    [ -n "$MIRROR" ] || MIRROR=$(sed -nE 's/^deb (\[[^]]*\] )?(http[^ ]*\/debian) .*/\2/p' \
        /etc/apt/sources.list 2>/dev/null | head -n 1)
    [ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
fi
commit=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}") || die "no commit $REV"

DIR=$(mktemp -d /var/tmp/ward-fresh.XXXXXX)
MOUNTS=()
cleanup() {
    local i p left=()
    # Anything still running inside the chroot was started by this run: stop it by PID.
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$DIR" ] && left+=("${p#/proc/}")
    done
    if [ ${#left[@]} -gt 0 ]; then
        say "still running in the chroot, stopped: ${left[*]}"
        kill -TERM "${left[@]}" 2>/dev/null || true
        sleep 1
        kill -KILL "${left[@]}" 2>/dev/null || true
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -R "${MOUNTS[$i]}" 2>/dev/null || umount -R -l "${MOUNTS[$i]}" 2>/dev/null || true
    done
    MOUNTS=()
    if [ "$KEEP" = 1 ]; then
        say "kept $DIR"
    else
        # Never follow into a mount that is still there.
        if ! grep -q " $DIR/" /proc/mounts; then rm -rf --one-file-system "$DIR"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

t=$SECONDS
if [ -n "$BASE" ]; then
    [ -x "$BASE/bin/bash" ] || die "$BASE is not a debootstrap tree"
    cp -a "$BASE/." "$DIR/"
    say "copied the pristine tree $BASE ($((SECONDS - t)) s, not timed)"
else
    debootstrap --variant=minbase bookworm "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 ||
        { tail -n 5 "$DIR.debootstrap.log"; die "debootstrap failed"; }
    rm -f "$DIR.debootstrap.log"
    say "debootstrap --variant=minbase bookworm from $MIRROR ($((SECONDS - t)) s, not timed)"
fi
# What the Debian installer writes and debootstrap does not: without /etc/hosts, "localhost"
# (the collector certificate's name, which wardctl connects to) does not resolve.
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
echo ward-fresh >"$DIR/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tward-fresh\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$DIR/etc/hosts"
git clone -q --no-hardlinks "$ROOT" "$DIR/root/ward"
git -C "$DIR/root/ward" checkout -q "$commit"
for m in proc sys dev dev/pts; do
    mkdir -p "$DIR/$m"
    case $m in
    proc) mount -t proc proc "$DIR/proc" ;;
    sys) mount --rbind /sys "$DIR/sys" && mount --make-rslave "$DIR/sys" ;;
    *) mount --bind "/$m" "$DIR/$m" ;;
    esac
    MOUNTS+=("$DIR/$m")
done

# What debootstrap left in apt's cache and lists is not the demo's download.
(cd "$DIR/var/cache/apt/archives" && ls) >"$DIR/root/.fresh-debs-before" 2>/dev/null || true
du -sb "$DIR/var/lib/apt/lists" | cut -f1 >"$DIR/root/.fresh-lists-before"
say "commit $(git -C "$ROOT" log -1 --format='%h %s' "$commit" | cut -c1-70)"
say "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
stamped=$DIR/demo.stamped
inner="cd /root/ward && exec tools/demo --for $FOR"
start=$(date +%s.%N)
set +e
script -qefc "chroot $DIR /usr/bin/env -i HOME=/root TERM=xterm \
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
bash -c '$inner'" /dev/null </dev/null |
    python3 -u -c '
import re, sys, time
t0 = float(sys.argv[1]); first = None
esc = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
for raw in sys.stdin.buffer:
    line = esc.sub("", raw.decode("utf-8", "replace")).rstrip("\n")
    if not line.strip():
        continue
    t = time.time() - t0
    print("%7.1f %s" % (t, line), flush=True)
    if first is None and re.match(r"^(linux|sim)-\S+\s+\S", line):
        first = t
        print("%7.1f FIRST DEVICE ON SCREEN" % t, flush=True)
' "$start" | tee "$stamped"
rc=${PIPESTATUS[0]}
set -e
total=$(python3 -c "import time; print('%.1f' % (time.time() - $start))")
# CPU time of everything the run waited for (apt, dpkg, compilers, the demo): on a loaded
# machine, wall time says little; CPU seconds / cores is what an idle machine would need at least.
times >"$DIR.times" # no pipe: a subshell would report its own (empty) children
cpu=$(sed -n 2p "$DIR.times" | awk '{ split($0, f, /[ ms]+/); printf "%.0f", 60 * f[1] + f[2] + 60 * f[3] + f[4] }')
rm -f "$DIR.times"
[ -n "$LOGFILE" ] && cp "$stamped" "$LOGFILE"

# Where the time went.
first=$(sed -n 's/^ *\([0-9.]*\) FIRST DEVICE ON SCREEN$/\1/p' "$stamped" | head -n 1)
say "---- $(date -u +%FT%TZ), commit ${commit:0:10}, exit $rc"
say "total (demo --for $FOR, from the command to its exit): $total s"
say "first device on screen: ${first:-never} s"
say "CPU time of the run (user + system, all processes): $cpu s; load during it: see below"
python3 - "$DIR" "$start" <<'PY'
import datetime, glob, os, re, sys
d, t0 = sys.argv[1], float(sys.argv[2])
def mb(paths):
    return sum(os.path.getsize(p) for p in paths if os.path.isfile(p)) / 1e6
before = set(open(d + "/root/.fresh-debs-before").read().split())
debs = [p for p in glob.glob(d + "/var/cache/apt/archives/*.deb")
        if os.path.basename(p) not in before]
lists = [p for p in glob.glob(d + "/var/lib/apt/lists/**", recursive=True)]
lists_mb = mb(lists) - int(open(d + "/root/.fresh-lists-before").read()) / 1e6
print("fresh_demo: apt: %d packages, %.0f MB of .deb; indexes grew by %.0f MB (as stored)" %
      (len(debs), mb(debs), lists_mb))
# dpkg.log: seconds resolution, local time of the host (the chroot has the same clock).
stamps = []
try:
    for line in open(d + "/var/log/dpkg.log"):
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (install|configure|status) ", line)
        if m:
            stamps.append(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp())
except OSError:
    pass
# debootstrap's own dpkg runs are older than t0.
stamps = [s for s in stamps if s >= int(t0)]
if stamps:
    print("fresh_demo: dpkg (unpack + configure): %.0f s to %.0f s after the start (%.0f s)" %
          (stamps[0] - t0, stamps[-1] - t0, stamps[-1] - stamps[0]))
debsrc = [p for p in glob.glob(d + "/root/ward/.cache/debsrc/*")
          if not os.path.islink(p) and os.path.isfile(p + "/.ward-dsc")]
print("fresh_demo: Debian sources fetched: %d" % len(debsrc))
PY
grep -E 'bootstrap:|demo: (building|  (linux|sim) )|FIRST DEVICE' "$stamped" | sed 's/^/fresh_demo:   /'
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
