# Global sanitizer flags, chosen with -DBENCHDIST_SANITIZE=address|thread.
#
# Both build with -g1 (line tables and function names, no types or
# variables), the last -g on the command line, after the Debug build's -g:
# a sanitizer's report needs file:line and function names for every frame,
# inlined ones included, and nothing more. With full -g every library's
# debug info is copied into each of the ~130 executables (the ci preset's
# build directory is 6.5 GB, .debug_str alone 112 MB in one unit test), and
# CI's disk ran out during the ASan build (docs/reliability.md#sanitizers).
# Applied to every target (including tests) because mixing instrumented and
# plain objects hides exactly the bugs a sanitizer run is for.
if(BENCHDIST_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g1)
  add_link_options(-fsanitize=address,undefined)
elseif(BENCHDIST_SANITIZE STREQUAL "thread")
  # GCC 12 warns (-Wtsan) that TSan does not model std::atomic_thread_fence,
  # which Boost.Asio's std_fenced_block uses around handler calls; with
  # -Werror that stops the build. The cost of the warning's cause is false
  # reports (synchronisation resting on a fence alone looks like a race),
  # not missed ones; Asio's queues also lock mutexes, which TSan sees, and
  # the generator tests under TSan report nothing.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g1 $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  add_link_options(-fsanitize=thread)
elseif(NOT BENCHDIST_SANITIZE STREQUAL "")
  message(FATAL_ERROR "BENCHDIST_SANITIZE must be empty, 'address' or 'thread', not '${BENCHDIST_SANITIZE}'")
endif()
