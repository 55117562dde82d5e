# Every vmkit target gets these; third-party headers are system includes and stay quiet.
set(VMKIT_WARNINGS
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wsuggest-override -Wnon-virtual-dtor -Werror)

function(vmkit_target_defaults target)
  target_compile_options(${target} PRIVATE ${VMKIT_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
endfunction()

# vmkit_library(name SOURCES ... DEPS ...): one static library per src/ directory.
function(vmkit_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  vmkit_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# vmkit_unit_test(name SOURCES ... DEPS ...): a GoogleTest binary registered with CTest (label unit).
function(vmkit_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  vmkit_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name} PROPERTIES LABELS unit TIMEOUT 60 DISCOVERY_TIMEOUT 60)
endfunction()
