# Copies the checker into the build tree and installs its npm dependencies
# there with `npm ci`, exactly as package-lock.json pins them; skips the
# install while the lock file is the one last installed.
#
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DNPM=npm -P npm_setup.cmake
foreach(variable SOURCE_DIR BINARY_DIR NPM)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "npm_setup.cmake needs -D${variable}=")
  endif()
endforeach()

file(MAKE_DIRECTORY ${BINARY_DIR})
file(COPY ${SOURCE_DIR}/package.json ${SOURCE_DIR}/package-lock.json
          ${SOURCE_DIR}/check_deploy.mjs ${SOURCE_DIR}/checker_test.mjs
          ${SOURCE_DIR}/lib
     DESTINATION ${BINARY_DIR})

set(stamp ${BINARY_DIR}/node_modules/.installed-package-lock.json)
if(EXISTS ${stamp})
  file(SHA256 ${stamp} installed)
  file(SHA256 ${SOURCE_DIR}/package-lock.json wanted)
  if(installed STREQUAL wanted)
    return()
  endif()
endif()

execute_process(
  COMMAND ${NPM} ci --no-audit --no-fund
  WORKING_DIRECTORY ${BINARY_DIR}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "npm ci failed (${result})")
endif()
file(COPY_FILE ${SOURCE_DIR}/package-lock.json ${stamp})
