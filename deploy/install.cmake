# install.cmake - `make install` / `cmake --install`: what goes where
# (docs/deploy.md#file-locations). Included from CMakeLists.txt.
#
#   <prefix>/bin/xtrading
#   <prefix>/etc/xtrading/xtrading.conf     /etc/xtrading/xtrading.conf when the prefix is /usr
#   <prefix>/lib/systemd/system/xtrading.service
#   <prefix>/share/doc/xtrading/            README.md and LICENSE, with docs/, etc/,
#                                           examples/, deploy/ and bench/RESULTS.md
#                                           (and its raw results/) below them as
#                                           in the source tree, so that the docs'
#                                           relative links resolve there too
#
# The prefix is the one given at install time (cmake --install --prefix,
# which the Makefile's PREFIX sets); DESTDIR in the environment is put in
# front of every path. The config and the unit depend on that prefix, so
# deploy/install-files.cmake writes them at install time.

install(TARGETS xtrading RUNTIME DESTINATION bin)
install(FILES README.md LICENSE DESTINATION share/doc/xtrading)
install(DIRECTORY docs/ DESTINATION share/doc/xtrading/docs FILES_MATCHING PATTERN "*.md")
install(FILES etc/xtrading.conf etc/credentials.example DESTINATION share/doc/xtrading/etc)
install(DIRECTORY examples/ DESTINATION share/doc/xtrading/examples)
install(DIRECTORY deploy/ DESTINATION share/doc/xtrading/deploy)
install(FILES .dockerignore DESTINATION share/doc/xtrading)
install(FILES bench/RESULTS.md DESTINATION share/doc/xtrading/bench)
install(DIRECTORY bench/results/ DESTINATION share/doc/xtrading/bench/results)
install(CODE "set(XT_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")\nset(XT_STAGE_DIR \"${PROJECT_BINARY_DIR}/xt-install\")")
install(SCRIPT deploy/install-files.cmake)
