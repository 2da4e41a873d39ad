#!/bin/sh
# statekill-hook: installed by `statekill hook install opnsense`; `statekill hook uninstall opnsense` removes it.
#
# OPNsense's rc.routing_configure runs every script in /usr/local/etc/rc.syshook.d/monitor/ with
# $1 = the comma-separated gateways whose alarm fired, BEFORE it reloads the ruleset. So statekill
# detaches, reads each gateway's status from its dpinger socket, and kills only after
# /tmp/rules.debug has been rewritten by the reload (OPNsense #10684).
STATEKILL="@STATEKILL@"
CONFIG="@CONFIG@"
LOG="@LOG@"

[ -n "$1" ] || exit 0
[ -x "$STATEKILL" ] || exit 0
/usr/sbin/daemon -f /bin/sh -c '"$0" event --config "$1" --gateway "$2" --status auto --after-reload /tmp/rules.debug --reload-since "$3" >>"$4" 2>&1' \
	"$STATEKILL" "$CONFIG" "$1" "$(date +%s)" "$LOG"
exit 0
