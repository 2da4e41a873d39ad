#!/bin/sh
# statekill-hook: installed by `statekill hook install opnsense`; `statekill hook uninstall opnsense` removes it.
# statekill-hook-values: @VALUES@
#
# OPNsense's rc.routing_configure runs every script in /usr/local/etc/rc.syshook.d/monitor/ with
# $1 = the comma-separated gateways whose alarm fired (rc.syshook passes its arguments on), after
# monitor/20-recover (which restarts dpinger for down gateways) and BEFORE filter_configure_sync()
# reloads the ruleset. So statekill detaches, reads every gateway's status through pluginctl, and
# kills only once the reload's flock on /tmp/rules.debug is released (filter.inc).
STATEKILL=@STATEKILL@
CONFIG=@CONFIG@
PATH="$PATH:/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"

[ -n "$1" ] || exit 0
if [ ! -x "$STATEKILL" ]; then
	logger -t statekill -p daemon.err "hook $0: $STATEKILL is missing or not executable: gateway alarm not handled (reinstall statekill, then: statekill hook install opnsense)"
	exit 0
fi
# The alarm's time to the millisecond (OPNsense ships PHP; FreeBSD's date has whole seconds only,
# which cannot order a reload that ends within the same second), else whole seconds.
SINCE=$(php -r 'printf("%.3f", microtime(true));' 2>/dev/null)
case "$SINCE" in
	''|*[!0-9.]*|*.*.*|.*|*.) SINCE=$(date +%s) ;;
esac
# Every value is one argument in --opt=value form: a gateway name is never an option or code.
daemon -f "$STATEKILL" event --config="$CONFIG" --gateway="$1" --syslog --after-filter-lock=/tmp/rules.debug --reload-since="$SINCE"
exit 0
