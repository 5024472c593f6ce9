#!/usr/bin/env bash
# Tier rules (docs/architecture.md): every #include and every CMake link goes down the tiers
# (base <- hal <- core/wire <- apps/ports <- boards; tools use base, wire and public headers).
# First proves the checker can fail: on a small fixture tree it must pass clean and then
# reject each kind of wrong-way include or link with a line naming the file and the rule.
set -euo pipefail
src=$1
work=$2
py=/usr/bin/python3
checker="$src/tests/repo/tiers.py"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A clean miniature of the layout.
fixture() {
    local t=$1
    rm -rf "$t"
    mkdir -p "$t/firmware/base/include/ward/base" "$t/firmware/base/src" "$t/firmware/include/ward" \
        "$t/firmware/src" "$t/hal/include/ward/hal" "$t/hal/sim/src" "$t/tools/collector" "$t/tests/unit/x"
    echo '#include <stdint.h>' >"$t/firmware/base/include/ward/base/fmt.h"
    echo '#include "ward/base/fmt.h"' >"$t/firmware/base/src/fmt.c"
    echo '#include "ward/base/fmt.h"' >"$t/hal/include/ward/hal/temp.h"
    printf '#include "ward/hal/temp.h"\n#include "sim_internal.h"\n' >"$t/hal/sim/src/sim.c"
    echo '#include "ward/hal/temp.h"' >"$t/hal/sim/src/sim_internal.h"
    printf '#include "ward/hal/temp.h"\n#include "ward/base/fmt.h"\n' >"$t/firmware/include/ward/agent.h"
    echo '#include "ward/agent.h"' >"$t/firmware/src/agent.c"
    printf '#include "ward/base/fmt.h"\n#include "ward/agent.h"\n' >"$t/tools/collector/main.c"
    echo '#include "ward/agent.h"' >"$t/tests/unit/x/test_x.c"
    printf 'add_library(ward_base STATIC src/fmt.c)\n' >"$t/firmware/base/CMakeLists.txt"
    printf 'add_library(ward_core STATIC src/agent.c)\ntarget_link_libraries(ward_core PUBLIC ward_hal ward_base)\n' \
        >"$t/firmware/CMakeLists.txt"
    printf 'add_library(ward_hal STATIC x.c)\ntarget_link_libraries(ward_hal PUBLIC ward_base)\n' \
        >"$t/hal/CMakeLists.txt"
    printf 'add_library(ward_hal_sim STATIC src/sim.c)\ntarget_link_libraries(ward_hal_sim PUBLIC ward_hal)\n' \
        >"$t/hal/sim/CMakeLists.txt"
}

# expect_reject <what> <pattern the message must match>: the checker fails and says why.
expect_reject() {
    if $py "$checker" "$work/t" >"$work/out" 2>&1; then
        cat "$work/out"; fail "checker accepted $1"
    fi
    grep -qE "$2" "$work/out" || { cat "$work/out"; fail "checker's message for $1 does not match '$2'"; }
}

fixture "$work/t"
$py "$checker" "$work/t" >"$work/out" 2>&1 || { cat "$work/out"; fail "checker rejects a clean fixture"; }

fixture "$work/t"
echo '#include "ward/agent.h"' >>"$work/t/hal/sim/src/sim.c"
expect_reject "a hal file including ward/agent.h" \
    '^tiers: hal/sim/src/sim.c:3: includes ward/agent.h .*hal/ includes only ward/hal/\* interfaces and the base tier'

fixture "$work/t"
echo '#include "ward/agent.h"' >>"$work/t/firmware/base/src/fmt.c"
expect_reject "the base tier including the core" 'firmware/base/src/fmt.c:2: .*base tier includes nothing'

fixture "$work/t"
mkdir -p "$work/t/hal/linux"
echo '#include "../sim/src/sim_internal.h"' >"$work/t/hal/linux/x.c"
expect_reject "a backend including another's private header" "hal/linux/x.c:1: .*another backend's private"

fixture "$work/t"
mkdir -p "$work/t/boards/b"
echo '#include <stdint.h>' >"$work/t/boards/b/net_board.h"
echo '#include "net_board.h"' >>"$work/t/tools/collector/main.c"
expect_reject "tools including a board's file" "tools/collector/main.c:3: .*tools/ never includes a board"

fixture "$work/t"
echo '#include "../../../tools/collector/x.h"' >>"$work/t/tests/unit/x/test_x.c"
expect_reject "a test reaching into tools/ by ../ path" "tests/unit/x/test_x.c:2: .*not \.\./ paths"

fixture "$work/t"
echo 'target_link_libraries(ward_hal_sim PRIVATE ward_core)' >>"$work/t/hal/sim/CMakeLists.txt"
expect_reject "a hal target linking ward_core" 'hal/sim/CMakeLists.txt: ward_hal_sim links ward_core'

fixture "$work/t"
echo 'target_include_directories(ward_hal PUBLIC ${CMAKE_SOURCE_DIR}/firmware/include)' \
    >>"$work/t/hal/CMakeLists.txt"
expect_reject "a hal target adding firmware/include" 'ward_hal adds include dir firmware/include'

fixture "$work/t"
echo 'target_link_libraries(ward_core PUBLIC ward_hal_sim)' >>"$work/t/firmware/CMakeLists.txt"
expect_reject "the core linking a HAL backend" 'ward_core links ward_hal_sim.*portable core links a HAL backend'

echo "tiers: self-check: the checker rejects each kind of wrong-way include and link"

# The real tree.
$py "$checker" "$src"
