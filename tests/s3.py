"""pytest plugin: a local S3 (moto_server) and a fault-injecting proxy in front of it.

Load with ``pytest_plugins = ["tests.s3"]``. Fixtures:
- ``s3_server`` (session): endpoint URL of a moto_server on 127.0.0.1; dummy AWS credentials and region are
  set in os.environ for the whole session so child processes (spark-submit, ...) inherit them.
- ``s3_root``: ``("s3://<fresh bucket>/prefix", S3Settings)`` with a new bucket per test.
- ``faulty_s3``: factory ``faulty_s3(n_failures, status=503, method=None) -> FaultProxy``; the proxy answers the
  first n_failures requests (only those with HTTP method ``method`` if given) with an S3 error, then forwards
  everything to moto. ``proxy.endpoint_url`` to connect, ``proxy.injected`` counts the injected failures.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

from seedlib.storage import S3Settings

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAMOTOTESTINGDUMMY",
    "AWS_SECRET_ACCESS_KEY": "moto-dummy-secret-5f0e7c2a9b1d",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Anything that could point the SDKs at real credentials or another endpoint.
_CLEARED_ENV = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    moto = Path(sys.executable).with_name("moto_server")
    for _ in range(3):  # the free port can be taken between probing and binding: retry on a new one
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url + "/", timeout=1):
                    return proc, url
            except OSError:
                time.sleep(0.05)
        _stop(proc)
    raise RuntimeError(f"moto_server did not start; log: {log}\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name in _CLEARED_ENV:
            mp.delenv(name, raising=False)
        for name, value in DUMMY_ENV.items():
            mp.setenv(name, value)
        nowhere = str(tmp_path_factory.mktemp("aws") / "absent")
        mp.setenv("AWS_CONFIG_FILE", nowhere)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
        proc, url = _start_moto(tmp_path_factory.mktemp("moto") / "moto_server.log")
        try:
            yield url
        finally:
            _stop(proc)


@pytest.fixture
def s3_root(s3_server: str) -> tuple[str, S3Settings]:
    import boto3

    bucket = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_server, region_name=DUMMY_ENV["AWS_DEFAULT_REGION"]).create_bucket(
        Bucket=bucket
    )
    return f"s3://{bucket}/prefix", S3Settings(endpoint_url=s3_server)


_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
    429: ("TooManyRequestsException", "Too many requests."),
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect",
               "proxy-connection", "content-length"}


class FaultProxy:
    """A threaded HTTP proxy to moto that fails the first n matching requests with an S3 error."""

    def __init__(self, upstream: str, n_failures: int, status: int = 503, method: str | None = None) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.remaining, self.status, self.method = n_failures, status, method
        self.injected = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _should_fail(self, method: str) -> bool:
        with self._lock:
            if self.remaining > 0 and (self.method is None or self.method == method):
                self.remaining -= 1
                self.injected += 1
                return True
            self.forwarded += 1
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue handled for us

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, length: int) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()  # always consume the request so the connection stays in sync
                if proxy._should_fail(self.command):
                    code, message = _ERRORS.get(proxy.status, ("ServiceUnavailable", "Injected failure."))
                    xml = (
                        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{}</Code><Message>{}</Message>'
                        "<RequestId>injected</RequestId></Error>".format(code, message)
                    ).encode()
                    self._reply(proxy.status, [("Content-Type", "application/xml")], xml, len(xml))
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP_BY_HOP:
                            conn.putheader(name, value)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    resp = conn.getresponse()
                    data = resp.read()
                    headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                    length = int(resp.getheader("Content-Length") or 0) if self.command == "HEAD" else len(data)
                    self._reply(resp.status, headers, data, length)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


@pytest.fixture
def faulty_s3(s3_server: str) -> Iterator[Callable[..., FaultProxy]]:
    proxies: list[FaultProxy] = []

    def make(n_failures: int, status: int = 503, method: str | None = None) -> FaultProxy:
        proxy = FaultProxy(s3_server, n_failures, status, method)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
