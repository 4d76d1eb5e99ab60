# Sanitizer and fuzzing builds.
#
# THB_SANITIZE instruments every target of the project:
#   address,undefined  AddressSanitizer + UndefinedBehaviorSanitizer (the
#                      Debug build of scripts/test.sh)
#   thread             ThreadSanitizer (the concurrency tests)
# THB_FUZZ builds the libFuzzer targets of fuzz/ and adds the coverage
# instrumentation libFuzzer needs (-fsanitize=fuzzer-no-link) to every
# library; only the fuzz targets link libFuzzer itself. Both need clang
# (CMAKE_CXX_COMPILER=clang++-14); the Debian libraries (gRPC, Protobuf,
# Abseil, SQLite) stay uninstrumented, see docs/DECISIONS.md.
set(THB_SANITIZE "" CACHE STRING
    "Sanitizers for every target: address,undefined | thread | empty")
option(THB_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

set(THB_SANITIZER_FLAGS "")
if(THB_SANITIZE STREQUAL "address,undefined")
  # Any undefined behaviour ends the process, so a test cannot pass over it.
  set(THB_SANITIZER_FLAGS -fsanitize=address,undefined
      -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(THB_SANITIZE STREQUAL "thread")
  set(THB_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT THB_SANITIZE STREQUAL "")
  message(FATAL_ERROR
          "THB_SANITIZE must be address,undefined, thread or empty")
endif()

if(THB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "THB_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(NOT THB_SANITIZE STREQUAL "address,undefined")
    message(FATAL_ERROR "THB_FUZZ needs -DTHB_SANITIZE=address,undefined")
  endif()
endif()

if(THB_SANITIZER_FLAGS)
  add_compile_options(${THB_SANITIZER_FLAGS})
  add_link_options(${THB_SANITIZER_FLAGS})
  # -O0 makes sanitized tests several times slower for no better report.
  add_compile_options($<$<CONFIG:Debug>:-O1>)
endif()
if(THB_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# The sanitizers' default options and suppressions, compiled into every
# executable (tests, servers, tools, fuzz targets) so that a binary behaves
# the same under CTest, during gtest discovery at build time and when run by
# hand. ASAN_OPTIONS and the like still override them.
if(THB_SANITIZER_FLAGS)
  add_library(thb_sanitizer_defaults OBJECT
              ${CMAKE_CURRENT_LIST_DIR}/sanitizer_defaults.cc)
  if(THB_SANITIZE STREQUAL "thread")
    # Debian's Abseil is not built with TSan; see the file.
    target_sources(thb_sanitizer_defaults PRIVATE
                   ${PROJECT_SOURCE_DIR}/tests/tsan/absl_tsan_shim.cc)
    target_link_libraries(thb_sanitizer_defaults PUBLIC absl::synchronization
                          ${CMAKE_DL_LIBS})
  endif()
endif()

# Links thb_sanitizer_defaults into every executable defined under `dir`.
function(thb_add_sanitizer_defaults dir)
  if(NOT TARGET thb_sanitizer_defaults)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_link_libraries(${target} PRIVATE thb_sanitizer_defaults)
    endif()
  endforeach()
  get_property(children DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(child IN LISTS children)
    thb_add_sanitizer_defaults(${child})
  endforeach()
endfunction()
