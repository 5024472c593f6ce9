# Sanitizer build of a host board: -DWARD_SANITIZE=ON (tools/test-all builds it as
# build/<board>-asan). AddressSanitizer (with LeakSanitizer, on by default on x86-64 Linux) and
# UndefinedBehaviorSanitizer, every finding fatal (-fno-sanitize-recover=all), so ctest fails
# on the first one. Applied with add_compile_options()/add_link_options() before any target is
# declared, so ward's own code and the dependencies built from source (mbedTLS, cJSON) are
# instrumented alike and every executable links the same runtime.
#
# Also exports compile_commands.json on every build (tests/repo/clang-tidy.sh reads it).
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

option(WARD_SANITIZE "Build with ASan + UBSan + LeakSanitizer (host boards only)" OFF)
if(WARD_SANITIZE)
    if(CMAKE_CROSSCOMPILING)
        message(FATAL_ERROR "WARD_SANITIZE=ON is for host boards (linux-x86_64, sim), not ${BOARD}")
    endif()
    set(WARD_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer -g)
    add_compile_options(${WARD_SANITIZE_FLAGS})
    add_link_options(-fsanitize=address,undefined)
    # Tests can tell they run instrumented (e.g. to skip a resident-memory budget, which ASan's
    # shadow memory and quarantine make meaningless).
    add_compile_definitions(WARD_SANITIZE=1)
endif()
