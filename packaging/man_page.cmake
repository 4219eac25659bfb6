# One manual page from `tessera [COMMAND] --help` (cmake -P, from packaging/CMakeLists.txt):
# help2man names the page after the program it runs, so a command's page runs a two-line
# wrapper called tessera-COMMAND. The version is given, not read: `tessera --version` also names
# the SIMD level of the machine that builds.
get_filename_component(dir ${OUTPUT} DIRECTORY)
set(program ${dir}/${PAGE})
file(WRITE ${program} "#!/bin/sh\nexec '${TESSERA}' ${COMMAND} \"$@\"\n")
file(CHMOD ${program} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
execute_process(
  COMMAND ${HELP2MAN} --no-info --section=1 --manual "User Commands" --source "tessera ${VERSION}"
          --version-string=${VERSION} --include=${INCLUDE} --output=${OUTPUT} ${program}
  COMMAND_ERROR_IS_FATAL ANY)
file(REMOVE ${program})
# Compressed, as Debian installs manual pages; -n keeps the time out of the file.
execute_process(COMMAND gzip -9nf ${OUTPUT} COMMAND_ERROR_IS_FATAL ANY)
