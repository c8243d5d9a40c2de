"""A TCP proxy for fault tests: forwards a loopback port to another, with added latency and dropped connections.

It runs its own event loop in a background thread, so a test can switch latency on, drop every connection, and
stop it from anywhere. Only for loopback fault tests; bounded by the test that starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FaultProxy:
    """127.0.0.1:listen_port → 127.0.0.1:target_port, each chunk delayed by `latency` seconds."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port, self.target_port = listen_port, target_port
        self.latency = 0.0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    def start(self) -> None:
        """Listen (returns once the port accepts connections)."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)

    def drop_all(self) -> int:
        """Close every open connection in both directions; returns how many pairs were dropped."""
        return asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(timeout=10)

    def stop(self) -> None:
        """Drop everything, stop listening and end the thread."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        pair = {client_writer, server_writer}
        self._writers |= pair
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer), return_exceptions=True
        )
        self._writers -= pair
        for writer in pair:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            if self.latency:
                await asyncio.sleep(self.latency)
            writer.write(chunk)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    async def _drop(self) -> int:
        dropped = len(self._writers) // 2
        for writer in list(self._writers):
            writer.transport.abort()
        return dropped

    async def _close(self) -> None:
        await self._drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
