#!/bin/sh
# A stand-in browser for the tests, given to mcp-remote as BROWSER: it notes each invocation in
# $BROWSER_LOG (when set) and follows the authorization URL's redirects with curl, as a user would
# who approves at an authorization server that approves at once. The redirect ends on mcp-remote's
# loopback callback.
#
# With BROWSER_PRECONNECT set to a Python, it first does what real browsers do: opens a
# speculative connection to the callback listener (the authorization URL's redirect_uri) and
# holds it open for a minute without sending a byte; the redirect is followed once it is open.
# With BROWSER_IGNORE_FIRST=N, the first N invocations ($BROWSER_LOG's first N lines) open
# nothing, as when a user walks away from a tab.
if [ -n "${BROWSER_LOG:-}" ]; then
  echo "opened" >> "$BROWSER_LOG"
  if [ -n "${BROWSER_IGNORE_FIRST:-}" ] && [ "$(wc -l < "$BROWSER_LOG")" -le "$BROWSER_IGNORE_FIRST" ]; then
    exit 0
  fi
fi
if [ -n "${BROWSER_PRECONNECT:-}" ]; then
  held=$(mktemp -u)
  mkfifo "$held"
  "$BROWSER_PRECONNECT" -c '
import socket, sys, time, urllib.parse as parse
callback = parse.urlsplit(parse.parse_qs(parse.urlsplit(sys.argv[1]).query)["redirect_uri"][0])
connection = socket.create_connection((callback.hostname, callback.port))
print("held", flush=True)
time.sleep(60)
' "$1" > "$held" &
  read -r _ < "$held"
  rm -f "$held"
fi
exec curl --silent --location --output /dev/null --max-time 30 "$1"
