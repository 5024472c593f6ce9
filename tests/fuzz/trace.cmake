# The replay trace-line parser (firmware/src/trace.c) through an agent, and the ack parser.
# Uses WARD_FUZZ_AGENT_SOURCES from rules.cmake (harness files are included in name order).
if(NOT WARD_FUZZ_AGENT_SOURCES)
    message(FATAL_ERROR "tests/fuzz/trace.cmake needs rules.cmake included first")
endif()
ward_fuzz_target(trace SOURCES ${WARD_FUZZ_AGENT_SOURCES}
    LIBS ward_wire ward_base ward_base_json ward_hal ward::mbedtls ward::cjson)
# 32-bit readdir() fails with EOVERFLOW on 64-bit directory cookies under qemu-user.
target_compile_definitions(fuzz_trace_replay PRIVATE _FILE_OFFSET_BITS=64)
