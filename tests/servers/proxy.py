"""A TCP relay in front of a real server that can cut connections mid-transfer.

Dropped connections are what remote sources must survive, and no real server
drops on request. The relay forwards bytes unchanged (SSH and HTTP work
through it) and, when told, resets a connection once a number of bytes has
flowed from the server to the client, or refuses new connections outright.
"""

from __future__ import annotations

import socket
import struct
import threading


class DropProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.cut_bytes: int | None = None
        self.cut_upload = False
        self.refuse_after_cuts = False
        self.cuts_left = 0
        self.cuts_done = 0
        self.refusing = False
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(
        self, n_bytes: int, times: int = 1, *, upload: bool = False, then_refuse: bool = False
    ) -> None:
        """Reset a connection once it has relayed ``n_bytes`` to the client, ``times`` times over.

        Only connections that get that far count (a listing on its own
        connection is not cut). With ``upload``, bytes from the client count.
        With ``then_refuse``, the last cut also takes the server away for good.
        """
        with self.lock:
            self.cut_bytes, self.cuts_left, self.cut_upload = n_bytes, times, upload
            self.refuse_after_cuts = then_refuse

    def _take_cut(self) -> bool:
        with self.lock:
            if self.cuts_left <= 0:
                return False
            self.cuts_left -= 1
            self.cuts_done += 1
            if self.cuts_left == 0 and self.refuse_after_cuts:
                self.refusing = True
            return True

    def refuse(self, on: bool = True) -> None:
        self.refusing = on

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections += 1
            pair = _Pair(client, upstream)
            up, down = (self.cut_bytes, None) if self.cut_upload else (None, self.cut_bytes)
            threading.Thread(target=self._pump, args=(client, upstream, up, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, down, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, cut: int | None, pair: _Pair) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cut is not None and sent + len(data) > cut and self._take_cut():
                    dst.sendall(data[: max(0, cut - sent)])
                    pair.reset()
                    return
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pair.reset()
            return
        try:
            dst.shutdown(socket.SHUT_WR)  # pass the end of the stream along, gracefully
        except OSError:
            pass
        pair.finished()

    def stop(self) -> None:
        self._stop = True
        self.listener.close()


class _Pair:
    """Both sockets of one relayed connection; closed when both directions are done."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self.lock = threading.Lock()
        self.done = 0

    def finished(self) -> None:
        with self.lock:
            self.done += 1
            last = self.done == 2
        if last:
            for s in self.sockets:
                s.close()

    def reset(self) -> None:
        for s in self.sockets:
            _reset(s)


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a failing network or a killed peer does.

    ``shutdown(SHUT_RD)`` first wakes the other relay thread blocked in
    ``recv`` on this socket; without it the close would wait for that call
    and the peer would see nothing until its own timeout.
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
