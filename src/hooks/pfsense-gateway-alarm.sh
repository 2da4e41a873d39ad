#!/bin/sh
# statekill-hook: installed by `statekill hook install pfsense`; `statekill hook uninstall pfsense` restores the original.
#
# dpinger runs its alarm command as: rc.gateway_alarm GATEWAY TARGET ALARM LATENCY_US STDDEV_US LOSS_PERCENT
# pfSense's own script (kept as @ORIGINAL@) runs first and queues the filter reload; statekill then
# detaches and kills only after /tmp/rules.debug has been rewritten by that reload.
STATEKILL="@STATEKILL@"
CONFIG="@CONFIG@"
LOG="@LOG@"
ORIGINAL="@ORIGINAL@"

SINCE=$(date +%s)
rc=0
if [ -f "$ORIGINAL" ]; then
	/bin/sh "$ORIGINAL" "$@"
	rc=$?
fi
if [ -n "$1" ] && [ -x "$STATEKILL" ]; then
	/usr/sbin/daemon -f /bin/sh -c '"$0" event --config "$1" --gateway "$2" --status auto --alarm "$3" --sample "$4" --after-reload /tmp/rules.debug --reload-since "$5" >>"$6" 2>&1' \
		"$STATEKILL" "$CONFIG" "$1" "$3" "$4 $5 $6" "$SINCE" "$LOG"
fi
exit $rc
