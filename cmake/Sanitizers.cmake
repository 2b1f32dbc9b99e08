# Global sanitizer flags, chosen with -DBENCHDIST_SANITIZE=address|thread.
# Applied to every target (including tests) because mixing instrumented and
# plain objects hides exactly the bugs a sanitizer run is for.
if(BENCHDIST_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(BENCHDIST_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT BENCHDIST_SANITIZE STREQUAL "")
  message(FATAL_ERROR "BENCHDIST_SANITIZE must be empty, 'address' or 'thread', not '${BENCHDIST_SANITIZE}'")
endif()
