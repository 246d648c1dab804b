#!/bin/sh
# The BROWSER of the device-flow tests: the person who opens the verification link the sidecar
# hands over and approves the device (tests/peers/device_user.mjs). Notes each run in BROWSER_LOG.
[ -n "$BROWSER_LOG" ] && echo "device $1" >> "$BROWSER_LOG"
exec node "$(dirname "$0")/device_user.mjs" "$@"
