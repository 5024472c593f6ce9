#!/usr/bin/env bash
# Kconfig behaves like Zephyr's: fragments merge over the defconfig, a misspelt symbol is a
# clear error, edits to .config (what menuconfig saves) survive and reach autoconf.h,
# changing a fragment regenerates the configuration, and savedefconfig writes a minimal file.
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

configure() { cmake -S "$src" -B "$work/b" -G Ninja -DBOARD=linux-x86_64 "$@" >"$work/log" 2>&1; }

# 1. A misspelt symbol stops the configure with one line naming it.
echo 'CONFIG_WARD_NO_SUCH_OPTION=y' >"$work/bad.conf"
if configure -DWARD_CONF_FILES="$work/bad.conf"; then fail "misspelt symbol accepted"; fi
grep -q 'kconfig: .*WARD_NO_SUCH_OPTION' "$work/log" || { cat "$work/log"; fail "error does not name the symbol"; }
rm -rf "$work/b"

# 2. A fragment overrides the board's defconfig.
echo 'CONFIG_WARD_JSON_ARENA_SIZE=12345' >"$work/frag.conf"
configure -DWARD_CONF_FILES="$work/frag.conf" || { cat "$work/log"; fail "configure with fragment"; }
grep -q '#define CONFIG_WARD_JSON_ARENA_SIZE 12345' "$work/b/include/generated/autoconf.h" ||
    fail "fragment value not in autoconf.h"
grep -q '#define CONFIG_WARD_BOARD_NAME "linux-x86_64"' "$work/b/include/generated/autoconf.h" ||
    fail "defconfig value not in autoconf.h"

# 3. Changing the fragment regenerates autoconf.h on the next build.
sleep 1
echo 'CONFIG_WARD_JSON_ARENA_SIZE=23456' >"$work/frag.conf"
cmake --build "$work/b" --target savedefconfig >"$work/log" 2>&1 || { cat "$work/log"; fail "build after fragment change"; }
grep -q '#define CONFIG_WARD_JSON_ARENA_SIZE 23456' "$work/b/include/generated/autoconf.h" ||
    fail "fragment change did not regenerate autoconf.h"

# 4. An edit to .config (as menuconfig saves it) is kept and reaches autoconf.h and the digest.
before=$(grep WARD_CONFIG_SHA256_HEX "$work/b/include/generated/config_digest.h")
sleep 1
sed -i 's/^CONFIG_WARD_JSON_NESTING_LIMIT=.*/CONFIG_WARD_JSON_NESTING_LIMIT=9/' "$work/b/.config"
cmake --build "$work/b" --target savedefconfig >"$work/log" 2>&1 || { cat "$work/log"; fail "build after .config edit"; }
grep -q '#define CONFIG_WARD_JSON_NESTING_LIMIT 9' "$work/b/include/generated/autoconf.h" ||
    fail ".config edit lost"
after=$(grep WARD_CONFIG_SHA256_HEX "$work/b/include/generated/config_digest.h")
[ "$before" != "$after" ] || fail "config digest did not change with the configuration"

# 5. savedefconfig writes only what differs from the defaults.
grep -qx 'CONFIG_WARD_JSON_NESTING_LIMIT=9' "$work/b/defconfig" || fail "savedefconfig lacks the change"
grep -q 'CONFIG_WARD_SELFTEST' "$work/b/defconfig" && fail "savedefconfig kept a default value"
# 6. Defaults have one source: a symbol this board leaves out (the sim backend's pools, its
#    dependency off on linux-x86_64) gets its Kconfig default in config_defaults.h, a symbol
#    the board sets is not repeated there, and the C bridges state no values of their own.
defs="$work/b/include/generated/config_defaults.h"
grep -q '^#define CONFIG_WARD_SIM_MAX_SENSORS 64$' "$defs" || fail "left-out symbol has no Kconfig default in config_defaults.h"
grep -q 'CONFIG_WARD_JSON_ARENA_SIZE' "$defs" && fail "config_defaults.h repeats a symbol autoconf.h sets"
bridges=$(grep -rl --include='*.h' '^#define WARD_[A-Z0-9_]* CONFIG_' "$src/firmware" "$src/hal")
[ -n "$bridges" ] || fail "no configuration bridge headers found"
if grep -n -A3 '^#ifdef CONFIG_WARD_' $bridges | grep -q '#else'; then
    fail "a bridge header states its own default (#ifdef CONFIG_... #else); put it in Kconfig"
fi
echo "kconfig: errors, fragments, regeneration, .config edits, savedefconfig and defaults all behave"
