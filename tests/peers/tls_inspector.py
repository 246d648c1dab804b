"""A real TLS-inspecting proxy for the tests: mitmdump (mitmproxy 11.0.2) on loopback, plus this addon.

Usage: tls_inspector.py CONFDIR [MITMDUMP ARGS...]   (run with the mitmproxy venv's python)
  The CA is made in CONFDIR on first start: clients trust CONFDIR/mitmproxy-ca-cert.pem.
  It always listens on 127.0.0.1, on port 0 (a free one) unless --listen-port is given.
  Reverse proxy:  --mode reverse:https://127.0.0.1:UPSTREAM --ssl-insecure
  Forward proxy for a name that is not loopback-looking (no DNS needed; map-remote also
  rewrites Host, which the SDK's DNS-rebinding check wants):
      --ssl-insecure --set connection_strategy=lazy
      --map-remote '|//mcp\\.test(:443)?/|//127.0.0.1:UPSTREAM/'  [--proxyauth user:pass]
  Once listening it prints one JSON line to stdout:
    {"tls_inspector": "ready", "port": P, "ca_cert": "CONFDIR/mitmproxy-ca-cert.pem"}
  then one per CONNECT ("connect": host, port, status) and per request ("request": method, url
  as the client sent it, before map-remote). Upstream connections to anything but loopback are
  refused. Responses are streamed, so SSE flows live. It stops on SIGTERM/SIGINT, when its parent
  exits, and at EOF on stdin if that is a pipe.
"""

import ipaddress
import json
import os
import stat
import sys
import threading
import time

from mitmproxy import ctx

PARENT = os.getppid()


def say(**fields) -> None:
    print(json.dumps({"tls_inspector": fields.pop("event"), **fields}), flush=True)


class Inspector:
    def running(self) -> None:
        port = ctx.master.addons.get("proxyserver").listen_addrs()[0][1]
        ca = os.path.join(os.path.expanduser(ctx.options.confdir), "mitmproxy-ca-cert.pem")
        say(event="ready", port=port, ca_cert=ca)
        master = ctx.master  # shutdown() is thread-safe

        def orphaned() -> None:  # polled: PR_SET_PDEATHSIG would fire when the spawning *thread* exits
            while os.getppid() == PARENT:
                time.sleep(0.2)

        threading.Thread(target=lambda: (orphaned(), master.shutdown()), daemon=True).start()
        if stat.S_ISFIFO(os.fstat(0).st_mode):
            threading.Thread(target=lambda: (sys.stdin.buffer.read(), master.shutdown()), daemon=True).start()

    def http_connect(self, flow) -> None:
        status = flow.response.status_code if flow.response else 200
        say(event="connect", host=flow.request.host, port=flow.request.port, status=status)

    def request(self, flow) -> None:
        say(event="request", method=flow.request.method, url=flow.request.url)

    def responseheaders(self, flow) -> None:
        flow.response.stream = True  # else mitmproxy holds SSE until the stream ends (mitmproxy#4469)

    def server_connect(self, data) -> None:
        host = data.server.address[0] if data.server.address else ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            data.server.error = f"tls_inspector: refusing non-loopback upstream {host!r}"


addons = [Inspector()]

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    from mitmproxy.tools.main import mitmdump

    confdir, rest = sys.argv[1], sys.argv[2:]
    port = [] if "--listen-port" in rest or "-p" in rest else ["--listen-port", "0"]
    mitmdump(["--set", f"confdir={confdir}", *port, *rest, "--listen-host", "127.0.0.1", "-s", __file__])
