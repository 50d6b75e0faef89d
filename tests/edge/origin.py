"""A small real origin for the edge's tests: an HTTP/1.1 server in a thread whose answers
each test sets per path, and which records every request it gets."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    body: bytes = b"hello"
    delay: float = 0.0
    chunked: bool = False


Handler = Callable[[Seen], Answer]


class Origin:
    def __init__(self, port: int = 0) -> None:
        self.answers: dict[str, Answer | Handler] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        origin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                answer = origin._answer_for(seen)
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                pairs = (
                    answer.headers.items() if isinstance(answer.headers, dict) else answer.headers
                )
                for name, value in pairs:
                    self.send_header(name, value)
                if answer.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if self.command != "HEAD":
                        for start in range(0, len(answer.body), 4096):
                            piece = answer.body[start : start + 4096]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.write(b"0\r\n\r\n")
                    return
                if answer.status not in (204, 304):
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD" and answer.status not in (204, 304):
                    self.wfile.write(answer.body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer_for(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
        path = seen.target.split("?", 1)[0]
        answer = self.answers.get(seen.target) or self.answers.get(path) or Answer(404, {}, b"")
        return answer(seen) if callable(answer) else answer

    def start(self) -> Origin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def hits(self, path: str) -> int:
        """Requests the origin got for this path (any query)."""
        with self._lock:
            return sum(1 for s in self.seen if s.target.split("?", 1)[0] == path)
