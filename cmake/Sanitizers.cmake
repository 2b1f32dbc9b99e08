# Global sanitizer flags, chosen with -DBENCHDIST_SANITIZE=address|thread.
# Applied to every target (including tests) because mixing instrumented and
# plain objects hides exactly the bugs a sanitizer run is for.
if(BENCHDIST_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(BENCHDIST_SANITIZE STREQUAL "thread")
  # GCC 12 warns (-Wtsan) that TSan does not model std::atomic_thread_fence,
  # which Boost.Asio's std_fenced_block uses around handler calls; with
  # -Werror that stops the build. The cost of the warning's cause is false
  # reports (synchronisation resting on a fence alone looks like a race),
  # not missed ones; Asio's queues also lock mutexes, which TSan sees, and
  # the generator tests under TSan report nothing.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  add_link_options(-fsanitize=thread)
elseif(NOT BENCHDIST_SANITIZE STREQUAL "")
  message(FATAL_ERROR "BENCHDIST_SANITIZE must be empty, 'address' or 'thread', not '${BENCHDIST_SANITIZE}'")
endif()
