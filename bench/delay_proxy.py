"""A small TCP proxy on 127.0.0.1 that holds every chunk for a fixed delay in each direction,
so a database on this machine answers like one a network hop away.

    python bench/delay_proxy.py --listen 15432 --target 127.0.0.1:5432 --delay-ms 1

Order is kept per direction; bytes are never merged or split beyond what the sockets do. The
proxy's own cost is the same at any delay, so benches run both arms through it (0 ms and
1 ms) and compare those.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib

import uvloop

CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queued: collections.deque[tuple[float, bytes]] = collections.deque()
    arrived = asyncio.Event()
    done = False

    async def deliver() -> None:
        while queued or not done:
            if not queued:
                arrived.clear()
                await arrived.wait()
                continue
            due, data = queued.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            queued.append((loop.time() + delay, data))
            arrived.set()
    except ConnectionError:
        pass
    finally:
        done = True
        arrived.set()
        with contextlib.suppress(ConnectionError):
            await sender
        writer.close()


async def serve(listen: int, target_host: str, target_port: int, delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pump(client_r, server_w, delay), _pump(server_r, client_w, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", default="127.0.0.1:5432")
    parser.add_argument("--delay-ms", type=float, default=1.0)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    uvloop.run(serve(args.listen, host, int(port), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
