# The collector's HTTP/1.1 request-head parser (tools/collector/http/http.c): portable C, so its
# corpus is replayed on every Linux board, the ARM ones under qemu-user included. The parser is
# compiled into the harness (instrumented with the fuzzer's flags), its header found through
# wcol_http_headers.
include(${CMAKE_SOURCE_DIR}/tools/collector/http/http.cmake)
ward_fuzz_target(collector_http SOURCES ${CMAKE_SOURCE_DIR}/tools/collector/http/http.c
    LIBS wcol_http_headers)
