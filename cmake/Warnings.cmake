# benchdist_warnings(<target>): the project's warning set. CI turns on
# BENCHDIST_WERROR so a new warning fails the build instead of scrolling by.
function(benchdist_warnings target)
  # -Wmissing-field-initializers is off: with C++20 designated initializers
  # over members that have defaults, GCC 12 warns about exactly the idiom
  # the defaults exist for.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(BENCHDIST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
