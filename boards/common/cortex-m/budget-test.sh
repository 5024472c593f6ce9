#!/bin/sh
# ctest driver: build a Cortex-M board's PRODUCT image (defconfig + product.conf: no self-tests,
# no semihosting) in BUILD/product and fail unless
#   - it links the reporting path: transport, TLS client, the static TLS pool, the flash
#     journal, the Ethernet controller's start-up and lwIP NIC counters (so the figure is not
#     that of an image the linker emptied), and not the sim backend (test images only), and
#   - tools/size-report --check finds it within the board's budget (size-report: BUDGET).
# RAM is static: .data + .bss (the TLS pool, lwIP's pools and heap, every agent buffer)
# + the reserved stack (CONFIG_WARD_STACK_SIZE) + heap (CONFIG_WARD_HEAP_AT_START_SIZE=0).
#
# usage: budget-test.sh SOURCE_DIR BUILD_DIR BOARD NIC-TEXT
#   NIC-TEXT  text only the Ethernet start-up prints, e.g. "no LAN9118 at 0x40200000"
set -eu
src=$1
out=$2/product
board=$3
nic=$4
cmake -S "$src" -B "$out" -G Ninja -DBOARD="$board" \
    -DWARD_PRODUCT_IMAGE=ON -DWARD_CONF_FILES="$src/boards/$board/product.conf" >"$out.log" 2>&1 ||
    { cat "$out.log"; echo "budget: FAIL: cannot configure the product image"; exit 1; }
cmake --build "$out" -j2 --target ward-agent.elf >>"$out.log" 2>&1 ||
    { tail -40 "$out.log"; echo "budget: FAIL: the product image does not build"; exit 1; }
elf=$out/board/ward-agent.elf
grep -q '^CONFIG_WARD_SELFTEST=y' "$out/.config" && { echo "budget: FAIL: self-tests in the product image"; exit 1; }
syms=$(arm-none-eabi-nm "$elf")
# The sim backend's pools and parse arena belong to the ward-sim.elf test image only.
echo "$syms" | grep -q " ward_sim_init\$" && { echo "budget: FAIL: the sim backend is in the product image"; exit 1; }
# The image is linked with LTO, which inlines most functions into their callers, so the
# evidence is a few functions the optimiser keeps out of line plus strings only the reporting
# path, the Ethernet start-up and the lwIP NIC device print or use.
for s in ward_transport_poll mbedtls_ssl_handshake s_pool_mem ward_store_flash_init; do
    echo "$syms" | grep -Eq " $s(\.lto_priv\.[0-9]+)?\$" ||
        { echo "budget: FAIL: $s is not in the product image"; exit 1; }
done
for str in "first handshake done" "$nic" "lwip-nic" "journal holds"; do
    grep -qaF "$str" "$elf" || { echo "budget: FAIL: \"$str\" is not in the product image"; exit 1; }
done
echo "budget: the product image links the transport, the TLS client, its pool and the NIC device"
"$src/tools/size-report" --check --image "$board=$elf"
