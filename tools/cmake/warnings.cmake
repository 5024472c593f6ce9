# One warning policy for every target ward builds (firmware, HAL, boards, tests, tools).
# Third-party libraries built from Debian's sources get their own, quieter flags in deps.cmake.
set(WARD_WARNINGS
    -Wall -Wextra -Werror -Wshadow -Wundef -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wcast-align -Wwrite-strings -Wformat=2 -Wvla -Wdouble-promotion)

function(ward_target_warnings target)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANGUAGE:C>:${WARD_WARNINGS}>)
endfunction()

# The sanitizer option and compile_commands.json export (sanitize.cmake) are part of the same
# build policy; included here so they apply before any target is declared.
include(sanitize)
