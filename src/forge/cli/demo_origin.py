"""`forge demo-origin`: a tiny origin for trying the edge (the README walkthrough).

`/products/{n}` is an HTML page cacheable for five minutes and tagged `product-{n}` and
`products`; anything else is a plain-text page cacheable for a minute. Each body says when the
origin made it, so a cached answer is easy to tell from a fresh one.
"""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from forge.clock import utcnow

_PRODUCT = re.compile(r"^/products/([A-Za-z0-9_-]{1,64})$")


class _DemoOrigin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "forge-demo-origin"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        made = utcnow().isoformat(timespec="milliseconds")
        path = self.path.split("?", 1)[0]
        product = _PRODUCT.match(path)
        if product:
            name = product.group(1)
            body = f"<h1>Product {name}</h1><p>made by the origin at {made}</p>\n".encode()
            headers = {
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "public, max-age=300",
                "Surrogate-Key": f"product-{name} products",
            }
        else:
            body = f"{path}: made by the origin at {made}\n".encode()
            headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "max-age=60"}
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


def serve(host: str, port: int) -> None:
    server = ThreadingHTTPServer((host, port), _DemoOrigin)
    print(f"demo origin listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
