"""A fake ``sns.<region>.amazonaws.com`` on loopback, reached the way a real one would be.

It is an HTTPS proxy: give the service ``HTTPS_PROXY`` and ``SSL_CERT_FILE`` from :meth:`env`
and its ordinary HTTPS requests to any host arrive here (``CONNECT``); the fake then speaks TLS
with a certificate for that host, signed by its own test CA, and answers like SNS:

- ``GET /SimpleNotificationService-*.pem``: the signing certificate of :attr:`signer` (a key
  standing in for Amazon's), or 404 for paths in :attr:`missing`;
- ``GET /?Action=ConfirmSubscription&...``: recorded in :attr:`confirmations`;
- paths for which :attr:`hang` says so are held, without an answer, until :meth:`release`.

Plain-HTTP proxy requests to loopback (slack_sdk sends every request through ``HTTPS_PROXY``) are
forwarded. Every CONNECT and request is recorded, so a test can assert what was *not* fetched.
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.service.sns_testing import SnsSigner

_CERT_PATH = re.compile(r"^/SimpleNotificationService-[A-Za-z0-9-]+\.pem$")


class FakeSnsHost:
    def __init__(self, directory: Path, signer: SnsSigner | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.signer = signer or SnsSigner()
        self.connects: list[str] = []  # "host:port" per CONNECT
        self.requests: list[tuple[str, str]] = []  # (host, path) per request inside a tunnel
        self.confirmations: list[str] = []
        self.missing: set[str] = set()
        self.hang: Callable[[str, str], bool] = lambda host, path: False
        self.hanging = 0
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca = _certificate("sleuth fake SNS CA", self._ca_key.public_key(), self._ca_key, ca=True)
        self.ca_file = self.directory / "fake-sns-ca.pem"
        self.ca_file.write_bytes(self._ca.public_bytes(serialization.Encoding.PEM))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """Environment for a process whose HTTPS requests should reach this fake."""
        return {
            "HTTPS_PROXY": self.proxy_url,
            "SSL_CERT_FILE": str(self.ca_file),
            "NO_PROXY": "127.0.0.1,localhost",
        }

    def __enter__(self) -> FakeSnsHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        """Let every held request answer (and every later one pass unheld)."""
        self._released.set()

    def wait_for(self, check: Callable[[FakeSnsHost], bool], timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: check(self), timeout):
                raise TimeoutError(f"fake SNS host: condition not met within {timeout:.0f} s")

    def fetched(self, path: str) -> int:
        return sum(1 for _, p in self.requests if p == path)

    def connected(self, host: str) -> int:
        return sum(1 for c in self.connects if c.split(":")[0] == host)

    def _record(self, update: Callable[[], None]) -> None:
        with self._changed:
            update()
            self._changed.notify_all()

    def _context(self, host: str) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(host)
            if context is None:
                key = ec.generate_private_key(ec.SECP256R1())
                cert = _certificate(host, key.public_key(), self._ca_key, issuer=self._ca, san=host)
                cert_file, key_file = self.directory / f"{host}.crt", self.directory / f"{host}.key"
                cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
                key_file.write_bytes(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert_file, key_file)
                self._contexts[host] = context
            return context

    def _answer(self, host: str, path: str) -> tuple[int, bytes]:
        if path.startswith("/?") and "Action=ConfirmSubscription" in path:
            self._record(lambda: self.confirmations.append(f"https://{host}{path}"))
            return 200, b"<ConfirmSubscriptionResponse/>"
        if _CERT_PATH.match(path) and path not in self.missing:
            return 200, self.signer.certificate_pem()
        return 404, b"<Error><Code>NotFound</Code></Error>"

    def _hold(self) -> None:
        self._record(lambda: setattr(self, "hanging", self.hanging + 1))
        self._released.wait(120)
        self._record(lambda: setattr(self, "hanging", self.hanging - 1))


def _handler(fake: FakeSnsHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:
            self.close_connection = True
            host = self.path.rsplit(":", 1)[0]
            fake._record(lambda: fake.connects.append(self.path))
            self.send_response(200, "Connection established")
            self.end_headers()
            try:
                tunnel = fake._context(host).wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return
            with tunnel:
                reader = tunnel.makefile("rb")
                request_line = reader.readline(65536).decode("latin-1").split()
                while reader.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                if len(request_line) < 2:
                    return
                path = request_line[1]
                fake._record(lambda: fake.requests.append((host, path)))
                if fake.hang(host, path) and not fake._released.is_set():
                    fake._hold()
                status, body = fake._answer(host, path)
                head = f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                try:
                    tunnel.sendall(head.encode() + body)
                except OSError:
                    return

        def _forward(self) -> None:
            """Plain-HTTP proxying, to loopback only (slack_sdk ignores NO_PROXY)."""
            self.close_connection = True
            target = urlsplit(self.path)
            if target.hostname not in ("127.0.0.1", "localhost"):
                self.send_error(403, "this fake forwards only to loopback")
                return
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")
            }
            upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=120)
            try:
                upstream.request(
                    self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers
                )
                reply = upstream.getresponse()
                payload = reply.read()
            except OSError as exc:
                self.send_error(502, f"upstream failed: {exc}")
                return
            finally:
                upstream.close()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _forward
        do_POST = _forward

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


def _certificate(
    name: str,
    public_key: Any,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    issuer: x509.Certificate | None = None,
    ca: bool = False,
    san: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.subject if issuer else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer is not None:  # strict verifiers (Python 3.13's default) want the chain spelled out
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())
