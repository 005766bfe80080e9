"""A fault-injecting HTTP proxy on 127.0.0.1, in front of the moto server.

moto has no generic fault injection, so tests point the S3 clients at this proxy and tell it
which requests to fail and how: answer 503 SlowDown (throttling), drop the connection before
forwarding (the PUT never landed), or forward and then drop the connection (it landed, but
the client cannot know). Every request is recorded with what happened to it.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

THROTTLE = "throttle"          # 503 SlowDown, nothing forwarded
DROP_BEFORE = "drop_before"    # connection closed, nothing forwarded
DROP_AFTER = "drop_after"      # forwarded (it lands), then the connection is closed unanswered
REJECT_CONDITIONAL = "reject_conditional"  # 501 for conditional PUTs, as stores without them answer
DELAY = "delay"                # forwarded after `seconds`, like a far-away store

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
               "expect", "content-length", "server", "date"}
_SLOW_DOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
              b"<Message>Please reduce your request rate.</Message></Error>")
_NOT_IMPLEMENTED = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NotImplemented</Code>"
                    b"<Message>A header you provided implies functionality that is not implemented</Message>"
                    b"<Header>If-None-Match</Header></Error>")


@dataclass
class Rule:
    method: str
    path: re.Pattern
    action: str
    times: int | None = 1     # None: every matching request
    seconds: float = 0.0
    hits: int = 0

    def take(self, method: str, path: str, headers) -> bool:
        if method != self.method or not self.path.search(path):
            return False
        if self.action == REJECT_CONDITIONAL and "If-None-Match" not in headers:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    outcome: str      # "forwarded <status>" or an action name
    query: str = ""
    start: float = 0.0
    end: float = 0.0


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        parts = urlsplit(self.upstream)
        self._host, self._port = parts.hostname, parts.port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, path: str, action: str, times: int | None = 1) -> Rule:
        rule = Rule(method, re.compile(path), action, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def slow(self, method: str, path: str, seconds: float) -> Rule:
        rule = Rule(method, re.compile(path), DELAY, None, seconds)
        with self._lock:
            self.rules.append(rule)
        return rule

    def peak_concurrency(self, method: str, path: str) -> int:
        """The most matching requests that were in flight at once."""
        events = sorted([(s.start, 1) for s in self.requests(method, path)] +
                        [(s.end, -1) for s in self.requests(method, path)])
        peak = now = 0
        for _, step in events:
            now += step
            peak = max(peak, now)
        return peak

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def requests(self, method: str, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method and re.search(path, s.path)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------ per request
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        path, _, query = req.path.partition("?")
        body = _read_body(req)
        started = time.monotonic()
        with self._lock:
            rule = next((r for r in self.rules if r.take(req.command, path, req.headers)), None)
        action = rule.action if rule else None
        if action == DELAY:
            time.sleep(rule.seconds)
        if action == THROTTLE:
            self._record(req.command, path, query, THROTTLE)
            return _reply(req, 503, _SLOW_DOWN, {"Content-Type": "application/xml"})
        if action == REJECT_CONDITIONAL:
            self._record(req.command, path, query, REJECT_CONDITIONAL)
            return _reply(req, 501, _NOT_IMPLEMENTED, {"Content-Type": "application/xml"})
        if action == DROP_BEFORE:
            self._record(req.command, path, query, DROP_BEFORE)
            req.close_connection = True
            return None
        status, headers, payload = self._forward(req, body)
        if action == DROP_AFTER:
            self._record(req.command, path, query, f"{DROP_AFTER} {status}")
            req.close_connection = True
            return None
        self._record(req.command, path, query, f"forwarded {status}", started)
        return _reply(req, status, payload, headers, head=req.command == "HEAD")

    def _record(self, method: str, path: str, query: str, outcome: str, started: float = 0.0) -> None:
        with self._lock:
            self.seen.append(Seen(method, path, outcome, query, started, time.monotonic()))

    def _forward(self, req: BaseHTTPRequestHandler, body: bytes):
        conn = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or req.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            conn.request(req.command, req.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            if req.command == "HEAD":
                length = resp.getheader("Content-Length")
                if length is not None:
                    out.append(("Content-Length", length))
            return resp.status, out, payload
        finally:
            conn.close()


def _read_body(req: BaseHTTPRequestHandler) -> bytes:
    if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(req.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while req.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(req.rfile.read(size))
            req.rfile.readline()
    length = int(req.headers.get("Content-Length") or 0)
    return req.rfile.read(length) if length else b""


def _reply(req: BaseHTTPRequestHandler, status: int, payload: bytes, headers, *, head: bool = False) -> None:
    items = headers.items() if isinstance(headers, dict) else headers
    req.send_response(status)
    has_length = False
    for k, v in items:
        if k.lower() == "content-length":
            has_length = True
        req.send_header(k, v)
    if not has_length:
        req.send_header("Content-Length", str(len(payload)))
    req.end_headers()
    if not head and payload:
        req.wfile.write(payload)
