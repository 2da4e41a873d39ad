#!/bin/sh
# statekill-hook: installed by `statekill hook install opnsense`; `statekill hook uninstall opnsense` removes it.
# statekill-hook-values: @VALUES@
#
# OPNsense runs every script in /usr/local/etc/rc.syshook.d/carp/ with $1 = VHID@IFACE and
# $2 = MASTER, BACKUP or INIT. A backup skips kills (pfsync would carry them to the master) and
# remembers them; once this node is master, statekill re-checks every gateway.
STATEKILL=@STATEKILL@
CONFIG=@CONFIG@
PATH="$PATH:/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"

[ "$2" = "MASTER" ] || exit 0
if [ ! -x "$STATEKILL" ]; then
	logger -t statekill -p daemon.err "hook $0: $STATEKILL is missing or not executable: CARP re-check not done (reinstall statekill, then: statekill hook install opnsense)"
	exit 0
fi
daemon -f "$STATEKILL" event --config="$CONFIG" --all --syslog
exit 0
