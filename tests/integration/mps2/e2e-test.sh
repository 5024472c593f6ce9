#!/bin/sh
# ctest driver for integration_<name>_e2e: build what mps2_e2e_test.py needs beside the board's
# tree, then run it. Three trees under BUILD/<name>-e2e (incremental after the first run):
#   product/  the product image (defconfig + product.conf), ward-agent.elf/.bin, as
#             budget-test.sh checks it
#   e2e/      the e2e test image (product.conf + e2e.conf), ward-net-sim.elf/.bin
#   host/     a linux-x86_64 build of ward-collector, wardctl (and ward-pki)
# usage: e2e-test.sh SOURCE_DIR BUILD_DIR BOARD MACHINE NAME
#   (mps2-an385 mps2-an385 mps2, lm3s6965evb lm3s6965evb lm3s6965evb)
set -eu
src=$1
board=$3
machine=$4
name=$5
out=$2/$name-e2e
mkdir -p "$out"
build() { # DIR TARGETS CMAKE-ARGS...
    dir=$1 targets=$2
    shift 2
    if [ ! -f "$out/$dir/build.ninja" ]; then
        cmake -S "$src" -B "$out/$dir" -G Ninja "$@" >"$out/$dir.log" 2>&1 ||
            { tail -30 "$out/$dir.log"; echo "${name}_e2e: FAIL: cannot configure $dir"; exit 1; }
    fi
    # shellcheck disable=SC2086
    cmake --build "$out/$dir" -j2 --target $targets >>"$out/$dir.log" 2>&1 ||
        { tail -30 "$out/$dir.log"; echo "${name}_e2e: FAIL: $dir does not build"; exit 1; }
}
conf=$src/boards/$board
build product ward-agent.elf -DBOARD="$board" -DWARD_PRODUCT_IMAGE=ON \
    -DWARD_CONF_FILES="$conf/product.conf"
build e2e ward-net-sim.elf -DBOARD="$board" -DWARD_PRODUCT_IMAGE=ON \
    -DWARD_CONF_FILES="$conf/product.conf;$conf/e2e.conf"
build host "ward-collector wardctl" -DBOARD=linux-x86_64
exec /usr/bin/python3 "$src/tests/integration/mps2/mps2_e2e_test.py" \
    --product-elf "$out/product/board/ward-agent.elf" --sim-elf "$out/e2e/board/ward-net-sim.elf" \
    --host-build "$out/host" --provision "$src/tools/mps2-provision" --workdir "$out/run" \
    --timeout 240 --machine "$machine" --name "$name"
