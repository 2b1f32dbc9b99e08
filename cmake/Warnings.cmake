# benchdist_warnings(<target>): the project's warning set. CI turns on
# BENCHDIST_WERROR so a new warning fails the build instead of scrolling by.
function(benchdist_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(BENCHDIST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
