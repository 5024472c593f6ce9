# Golden replay cases, run through the real ward-agent of this board (under qemu-user on the
# ARM boards): every tests/replay/<case>/ with rules.json, trace.jsonl and expected.jsonl or
# expected.err. Included from firmware/apps/linux/CMakeLists.txt, where ward-agent is built.
file(GLOB _replay_cases LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/tests/replay/*)
foreach(_case IN LISTS _replay_cases)
    if(IS_DIRECTORY ${_case} AND EXISTS ${_case}/rules.json)
        get_filename_component(_name ${_case} NAME)
        add_test(NAME replay_${_name}
            COMMAND ${CMAKE_SOURCE_DIR}/tests/replay/run-case.sh ${_case}
                    ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:ward-agent>)
    endif()
endforeach()
