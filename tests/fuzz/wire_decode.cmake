# The wire codec (firmware/wire) from both ends: the collector's decoder and ack writer, the
# agent's encoder and ack reader, on one input. The codec's sources are compiled into the
# harness (ward_wire gives their headers) so a libFuzzer build instruments them.
get_target_property(_wire_dir ward_wire SOURCE_DIR)
get_target_property(_wire_src ward_wire SOURCES)
list(TRANSFORM _wire_src PREPEND ${_wire_dir}/)
ward_fuzz_target(wire_decode SOURCES ${_wire_src} ${CMAKE_SOURCE_DIR}/firmware/base/src/jscan.c LIBS ward_wire)
