# The rules-file parser (firmware/src/rules.c, jscan.c) and the agent that loads the rules.
# The code under test is compiled into the harness (SOURCES), so the libFuzzer build
# instruments it; the dependencies come as libraries.
set(_fw ${CMAKE_SOURCE_DIR}/firmware/src)
set(WARD_FUZZ_AGENT_SOURCES
    ${_fw}/agent.c ${_fw}/feed.c ${_fw}/defaults.c ${_fw}/evlog.c ${_fw}/health.c
    ${CMAKE_SOURCE_DIR}/firmware/base/src/jscan.c
    ${_fw}/report.c ${_fw}/report_delta.c ${_fw}/inventory.c ${_fw}/rules.c ${_fw}/sample.c ${_fw}/sched.c
    ${_fw}/trace.c ${_fw}/digest.c ${_fw}/version.c)
ward_fuzz_target(rules SOURCES ${WARD_FUZZ_AGENT_SOURCES}
    LIBS ward_wire ward_base ward_base_json ward_hal ward::mbedtls ward::cjson)
# 32-bit readdir() fails with EOVERFLOW on 64-bit directory cookies under qemu-user.
target_compile_definitions(fuzz_rules_replay PRIVATE _FILE_OFFSET_BITS=64)
