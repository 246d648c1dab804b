"""A real MCP server from the Python SDK 2.3 (MCPServer, formerly FastMCP).

Usage: python_server.py PORT [--stateless] [--json] [--sse] [--tls FOLDER]
  Streamable HTTP on /mcp, dual era: a request whose MCP-Protocol-Version is 2026-07-28 is served
  statelessly; an `initialize` opens a 2025 session (or none, with --stateless). With --sse, the
  legacy HTTP+SSE transport instead (GET /sse, POST /messages/?session_id=...).
  PORT 0 picks a free port. Once the socket listens it prints one line to stdout:
    listening on http://127.0.0.1:PORT/mcp   (or /sse)
  With --tls FOLDER it serves HTTPS with a fresh self-signed certificate for 127.0.0.1, written to
  FOLDER/cert.pem (and key.pem), and prints https:// instead.

Tools: echo(message), add(a, b), confirm(question) (form elicitation), ask_llm(prompt) (sampling),
region_echo(region, message) (`region` carries `x-mcp-header: Region`). The elicitation and sampling
tools use the SDK's Resolve(...) markers, so one definition serves both eras: 2026-07-28 answers
`input_required` (the client sends the call again with inputResponses and requestState); 2025 sends
real elicitation/create and sampling/createMessage requests mid-call.
"""

import socket
import sys
from typing import Annotated

import anyio
import uvicorn
from mcp.server.mcpserver import ElicitationResult, Elicit, MCPServer, Resolve, Sample
from mcp_types import CreateMessageResult, SamplingMessage, TextContent
from pydantic import BaseModel, Field

server = MCPServer("python-sdk-test-server")


@server.tool()
def echo(message: str) -> str:
    """Echo back the message."""
    return message


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    return f"{a + b:g}"


class Confirmation(BaseModel):
    confirm: bool


def ask_confirmation(question: str) -> Elicit[Confirmation]:
    return Elicit(question, Confirmation)


@server.tool()
def confirm(question: str, answer: Annotated[ElicitationResult[Confirmation], Resolve(ask_confirmation)]) -> str:
    """Ask the user to confirm (elicitation)."""
    if answer.action == "accept":
        return f"confirmed: {answer.data.confirm}"
    return f"not confirmed: {answer.action}"


def ask_model(prompt: str) -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)


@server.tool()
def ask_llm(prompt: str, reply: Annotated[CreateMessageResult, Resolve(ask_model)]) -> str:
    """Ask the client LLM (sampling)."""
    content = reply.content
    return f"llm said: {content.text if isinstance(content, TextContent) else content}"


@server.tool()
def region_echo(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], message: str) -> str:
    """Echo with the region mirrored into the Mcp-Param-Region header."""
    return f"{region}: {message}"


def self_signed(folder: str) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 in `folder`: (cert.pem, key.pem)."""
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcp-remote test peer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def main() -> None:
    port = int(sys.argv[1])
    if "--sse" in sys.argv:
        app, path = server.sse_app(host="127.0.0.1"), "/sse"
    else:
        app = server.streamable_http_app(
            host="127.0.0.1", stateless_http="--stateless" in sys.argv, json_response="--json" in sys.argv
        )
        path = "/mcp"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    # Connections made from now on queue in the backlog until uvicorn accepts them.
    tls = {}
    scheme = "http"
    if "--tls" in sys.argv:
        # --tls FOLDER: HTTPS with a self-signed certificate written to FOLDER.
        cert, key = self_signed(sys.argv[sys.argv.index("--tls") + 1])
        tls, scheme = {"ssl_certfile": cert, "ssl_keyfile": key}, "https"
    print(f"listening on {scheme}://127.0.0.1:{sock.getsockname()[1]}{path}", flush=True)
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", **tls))
    anyio.run(lambda: uv.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
