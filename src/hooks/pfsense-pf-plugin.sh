#!/bin/sh
# statekill-hook: installed by `statekill hook install pfsense`; `statekill hook uninstall pfsense` removes it.
# statekill-hook-values: @VALUES@
#
# pfSense's filter_configure_sync() runs every /usr/local/pkg/pf/*.sh with "start" after it has
# loaded the new ruleset (filter.inc run_plugins()), on every reload, the ones a gateway alarm
# queues (rc.gateway_alarm) included. /usr/local/pkg survives pfSense upgrades. statekill detaches,
# reads every gateway's dpinger socket, acts on the gateways whose status changed, and waits for
# /var/run/filter_reload_status to say "Done". The reload is running while this script runs, and
# "Done" is written as soon as it returns, before statekill is up: --during-reload counts that one.
STATEKILL=@STATEKILL@
CONFIG=@CONFIG@
PATH="$PATH:/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"

[ "$1" = "start" ] || exit 0
if [ ! -x "$STATEKILL" ]; then
	logger -t statekill -p daemon.err "hook $0: $STATEKILL is missing or not executable: gateway changes not handled (reinstall statekill, then: statekill hook install pfsense)"
	exit 0
fi
SINCE=$(date +%s)
daemon -f "$STATEKILL" event --config="$CONFIG" --all --syslog --after-reload-status=/var/run/filter_reload_status --reload-since="$SINCE" --during-reload
exit 0
