# The AgentX PDU decoder and the subagent session fed what a broken master might send
# (firmware/nms). The code under test is compiled into the harness so libFuzzer instruments it.
if(TARGET ward_nms)
    set(_nms ${CMAKE_SOURCE_DIR}/firmware/nms)
    ward_fuzz_target(agentx_pdu
        SOURCES ${_nms}/src/agentx_pdu.c ${_nms}/src/agentx.c ${_nms}/src/mib.c
            ${_nms}/src/mib_disk.c
        LIBS ward_core)
    foreach(_exe fuzz_agentx_pdu_replay fuzz_agentx_pdu_lf)
        if(TARGET ${_exe})
            target_include_directories(${_exe} PRIVATE ${_nms}/include)
        endif()
    endforeach()
endif()
