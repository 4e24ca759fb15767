# The man pages (cityrisk.1, cityrisk-COMMAND.1) and the bash completion, generated from the
# library's command table at build time by cityrisk-docgen (not installed), into
# cli/docs/ of the build tree; installed in man1 and bash-completion's folder.
include(GNUInstallDirs)

add_executable(cityrisk-docgen docgen.c)
target_link_libraries(cityrisk-docgen PRIVATE cityrisk)

set(docs ${CMAKE_CURRENT_BINARY_DIR}/docs)
# Which pages there are is the table's to say, so the folder is made afresh (no page of a
# command gone stays behind) and installed whole; the two files every table gives stand
# for the rest as the outputs. The library's file is a dependency: with a shared library
# the generator is not relinked when the table changes.
add_custom_command(
  OUTPUT ${docs}/cityrisk.1 ${docs}/cityrisk.bash
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${docs}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${docs}
  COMMAND cityrisk-docgen ${docs}
  DEPENDS cityrisk-docgen $<TARGET_FILE:cityrisk>
  COMMENT "Generating the man pages and the bash completion from the command table"
  VERBATIM)
add_custom_target(cityrisk-docs ALL DEPENDS ${docs}/cityrisk.1 ${docs}/cityrisk.bash)
# Where the tests find them (tests/e2e/test_docs.py, through CITYRISK_DOCS).
set_target_properties(cityrisk-docs PROPERTIES CITYRISK_DOCS_DIR ${docs})

install(DIRECTORY ${docs}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
  FILES_MATCHING PATTERN "*.1")
install(FILES ${docs}/cityrisk.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME cityrisk)
