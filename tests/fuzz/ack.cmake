# The agent's acknowledgement parser, journal event records and journal recovery (firmware/transport).
if(TARGET ward_transport)
    set(_t ${CMAKE_SOURCE_DIR}/firmware/transport)
    # The wire codec's reader and the scanner are compiled in too, so libFuzzer sees the code
    # ward_ack_parse() goes through (wire_decode.cmake fuzzes the codec from both ends).
    set(_w ${CMAKE_SOURCE_DIR}/firmware/wire/src)
    ward_fuzz_target(ack SOURCES ${_t}/src/ack.c ${_w}/ack_read.c ${_w}/boot.c
        ${CMAKE_SOURCE_DIR}/firmware/base/src/jscan.c LIBS ward_core)
    ward_fuzz_target(outbox_record
        SOURCES ${_t}/src/outbox.c ${_t}/src/ack.c ${_t}/src/journal.c ${CMAKE_SOURCE_DIR}/firmware/base/src/crc32.c
        LIBS ward_core)
    # Journal recovery over a RAM store holding the fuzzed bytes (fuzz_journal_restore.c).
    ward_fuzz_target(journal_restore
        SOURCES ${_t}/src/journal.c ${_t}/src/store_ram.c ${CMAKE_SOURCE_DIR}/firmware/base/src/crc32.c
        LIBS ward_core)
    foreach(_h ack outbox_record journal_restore)
        foreach(_exe fuzz_${_h}_replay fuzz_${_h}_lf)
            if(TARGET ${_exe})
                target_include_directories(${_exe} PRIVATE ${_t}/include)
            endif()
        endforeach()
    endforeach()
endif()
