#!/bin/sh
# A stand-in browser for the tests, given to mcp-remote as BROWSER: it notes each invocation in
# $BROWSER_LOG (when set) and follows the authorization URL's redirects with curl, as a user would
# who approves at an authorization server that approves at once. The redirect ends on mcp-remote's
# loopback callback.
if [ -n "${BROWSER_LOG:-}" ]; then
  echo "opened" >> "$BROWSER_LOG"
fi
exec curl --silent --location --output /dev/null --max-time 30 "$1"
