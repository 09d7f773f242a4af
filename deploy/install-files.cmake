# install-files.cmake - run by `cmake --install` (see deploy/install.cmake):
# installs the config and the systemd unit with the paths of the install
# prefix written into them. XT_SOURCE_DIR is set by the install rules.
#
# The config: etc/xtrading.conf with journal.dir = /var/lib/xtrading (the
# unit's StateDirectory). Under the prefix /usr it goes to /etc/xtrading
# (the FHS place for a package's config), otherwise to <prefix>/etc/xtrading.
# An existing config is never overwritten: the new one is written next to
# it as xtrading.conf.new.
#
# The unit: deploy/systemd/xtrading.service is written for the prefix /usr;
# its /usr/bin/xtrading, /etc/xtrading and /usr/share/doc/xtrading become the
# prefix's.

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/")
  set(xt_confdir "/etc/xtrading")
else()
  set(xt_confdir "${CMAKE_INSTALL_PREFIX}/etc/xtrading")
endif()
string(REGEX REPLACE "/+$" "" xt_prefix "${CMAKE_INSTALL_PREFIX}")
set(xt_stage "${XT_STAGE_DIR}")
file(MAKE_DIRECTORY "${xt_stage}")

# The config, its data directory set.
file(READ "${XT_SOURCE_DIR}/etc/xtrading.conf" xt_conf)
string(REPLACE "\ndir = data\n" "\ndir = /var/lib/xtrading\n" xt_conf_new "${xt_conf}")
if(xt_conf_new STREQUAL xt_conf)
  message(FATAL_ERROR "etc/xtrading.conf: no 'dir = data' line to point at /var/lib/xtrading")
endif()
if(EXISTS "$ENV{DESTDIR}${xt_confdir}/xtrading.conf")
  set(xt_conf_name "xtrading.conf.new")
  message(STATUS "Keeping: $ENV{DESTDIR}${xt_confdir}/xtrading.conf (the new one: xtrading.conf.new)")
else()
  set(xt_conf_name "xtrading.conf")
endif()
file(WRITE "${xt_stage}/${xt_conf_name}" "${xt_conf_new}")
file(INSTALL DESTINATION "${xt_confdir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${xt_stage}/${xt_conf_name}")

# The systemd unit, its paths those of the prefix.
file(READ "${XT_SOURCE_DIR}/deploy/systemd/xtrading.service" xt_unit)
string(REPLACE "/usr/bin/xtrading" "${xt_prefix}/bin/xtrading" xt_unit "${xt_unit}")
string(REPLACE "/usr/share/doc/xtrading" "${xt_prefix}/share/doc/xtrading" xt_unit "${xt_unit}")
string(REPLACE "/etc/xtrading" "${xt_confdir}" xt_unit "${xt_unit}")
file(WRITE "${xt_stage}/xtrading.service" "${xt_unit}")
file(INSTALL DESTINATION "${xt_prefix}/lib/systemd/system" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES "${xt_stage}/xtrading.service")
