# The collector's HTTP/1.1 request-head parser (tools/collector/http.c): portable C, so its
# corpus is replayed on every Linux board, the ARM ones under qemu-user included.
ward_fuzz_target(collector_http SOURCES ${CMAKE_SOURCE_DIR}/tools/collector/http.c
    LIBS ward_collector_test_api)
