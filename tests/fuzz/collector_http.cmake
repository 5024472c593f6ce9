# The collector's HTTP/1.1 request-head parser (tools/collector/http/http.c): portable C, so its
# corpus is replayed on every Linux board, the ARM ones under qemu-user included.
include(${CMAKE_SOURCE_DIR}/tools/collector/http/http.cmake)
ward_fuzz_target(collector_http LIBS wcol_http)
