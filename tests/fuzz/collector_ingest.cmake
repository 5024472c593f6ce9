# The collector's ingest-batch decoder with the firmware's JSON scanner and state vocabulary:
# the agent's encoder output (the corpus) read by the collector's side.
set(_fw ${CMAKE_SOURCE_DIR}/firmware/src)
ward_fuzz_target(collector_ingest SOURCES ${CMAKE_SOURCE_DIR}/tools/collector/ingest_decode.c
    ${CMAKE_SOURCE_DIR}/firmware/base/src/jscan.c ${_fw}/state.c
    LIBS ward_collector_test_api ward_base)
