# install.cmake - `make install` / `cmake --install`: what goes where
# (docs/deploy.md#file-locations). Included from CMakeLists.txt.
#
#   <prefix>/bin/xtrading
#   <prefix>/etc/xtrading/xtrading.conf     /etc/xtrading/xtrading.conf when the prefix is /usr
#   <prefix>/lib/systemd/system/xtrading.service
#   <prefix>/share/doc/xtrading/            README.md, LICENSE, docs/*.md, examples/
#
# The prefix is the one given at install time (cmake --install --prefix,
# which the Makefile's PREFIX sets); DESTDIR in the environment is put in
# front of every path. The config and the unit depend on that prefix, so
# deploy/install-files.cmake writes them at install time.

install(TARGETS xtrading RUNTIME DESTINATION bin)
install(FILES README.md LICENSE DESTINATION share/doc/xtrading)
install(DIRECTORY docs/ DESTINATION share/doc/xtrading FILES_MATCHING PATTERN "*.md")
install(FILES etc/xtrading.conf etc/credentials.example DESTINATION share/doc/xtrading/examples)
install(CODE "set(XT_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")\nset(XT_STAGE_DIR \"${PROJECT_BINARY_DIR}/xt-install\")")
install(SCRIPT deploy/install-files.cmake)
