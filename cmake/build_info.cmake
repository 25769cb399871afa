# Writes generated/build_info.cpp from cmake/build_info.cpp.in at every build (cmake -P), so that the commit a binary
# reports is the one it was built from, not the one of the last configure. `-dirty` marks a build with uncommitted
# changes (or untracked files) in the sources: CMakeLists.txt, cmake/, lib/, apps/, python/. configure_file leaves the file untouched when nothing changed (no recompilation).
# Inputs (-D): SRC (the source tree), IN, OUT, and the values of the template: PROJECT_VERSION, CMAKE_BUILD_TYPE,
# CMAKE_CXX_COMPILER_ID, CMAKE_CXX_COMPILER_VERSION, MHCLAB_BUILD_FLAGS, MHCLAB_NATIVE.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE MHCLAB_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _git_rc)
if(NOT _git_rc EQUAL 0 OR MHCLAB_GIT_COMMIT STREQUAL "")
  set(MHCLAB_GIT_COMMIT "unknown")
else()
  # Changes to tracked files, and new files among the sources (a new lib/src/*.cpp is compiled before it is added).
  # --no-optional-locks: a build never takes .git/index.lock from under the user's own git commands.
  execute_process(COMMAND git --no-optional-locks status --porcelain -- CMakeLists.txt cmake lib apps python
                  WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE _changes OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _status_rc)
  if(_status_rc EQUAL 0 AND NOT _changes STREQUAL "")
    string(APPEND MHCLAB_GIT_COMMIT "-dirty")
  endif()
endif()
configure_file(${IN} ${OUT} @ONLY)
