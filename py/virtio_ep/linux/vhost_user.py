"""A vhost-user back end: the end of the unix socket User-Mode Linux's virtio_uml connects to.

UML's virtio drivers own the rings and buffers in UML's memory, which arrives as file
descriptors (SET_MEM_TABLE) and is mapped here; the queues' addresses, sizes, kick eventfds
and call pipes arrive one message each. What the device does with them is the `device`'s
business (`BackendDevice`): the bridge into the simulation gives the rings to the RTL.
Requests are served in the calling thread (`serve`); kicks are read from their eventfds
by the same loop and handed to the device. Layouts: virtio_ep.layout.vhost_user.
"""

from __future__ import annotations

import logging
import mmap
import os
import selectors
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..layout.vhost_user import (VHOST_USER_F_PROTOCOL_FEATURES, VHOST_USER_HEADER, VHOST_USER_MAX_FDS,
                                 VHOST_USER_VERSION, VHOST_USER_VRING_INDEX_MASK, VHOST_USER_VRING_NOFD,
                                 VhostUserConfig, VhostUserFlag, VhostUserHeader, VhostUserMemRegion,
                                 VhostUserMemTable, VhostUserProtocolFeature, VhostUserRequest, VhostUserVringAddr,
                                 VhostUserVringState)

# what this back end offers: acknowledgements, the slave channel (UML 6.1 registers its
# interrupts only with it) and the device config
PROTOCOL_FEATURES = (1 << VhostUserProtocolFeature.REPLY_ACK | 1 << VhostUserProtocolFeature.SLAVE_REQ
                     | 1 << VhostUserProtocolFeature.CONFIG)
U64 = 8


class VhostUserError(RuntimeError):
    """The front end sent what this back end cannot serve, or the socket broke."""


@dataclass
class MemRegion:
    guest_addr: int
    size: int
    user_addr: int
    view: mmap.mmap


class GuestMemory:
    """The front end's memory regions, mapped; addressed by guest (physical) address."""

    def __init__(self) -> None:
        self.regions: list[MemRegion] = []

    def set_table(self, payload: bytes, fds: list[int]) -> None:
        num = VhostUserMemTable.NUM.get(payload)
        if num != len(fds):
            raise VhostUserError(f"SET_MEM_TABLE: {num} regions but {len(fds)} file descriptors")
        self.close()
        for k, fd in enumerate(fds):
            raw = payload[VhostUserMemTable.REGIONS + k * VhostUserMemRegion.SIZE:][:VhostUserMemRegion.SIZE]
            size, offset = VhostUserMemRegion.SIZE_BYTES.get(raw), VhostUserMemRegion.MMAP_OFFSET.get(raw)
            try:
                view = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
            finally:
                os.close(fd)                    # the mapping keeps the memory
            self.regions.append(MemRegion(VhostUserMemRegion.GUEST_ADDR.get(raw), size,
                                          VhostUserMemRegion.USER_ADDR.get(raw), view))

    def _find(self, addr: int, length: int, user: bool = False) -> tuple[MemRegion, int]:
        for r in self.regions:
            base = r.user_addr if user else r.guest_addr
            if base <= addr and addr + length <= base + r.size:
                return r, addr - base
        kind = "user" if user else "guest"
        spans = ", ".join(f"0x{(r.user_addr if user else r.guest_addr):x}+0x{r.size:x}" for r in self.regions)
        raise VhostUserError(f"{kind} address 0x{addr:x} (+{length}) is in no memory region ({spans or 'none'})")

    def to_guest(self, user_addr: int) -> int:
        region, off = self._find(user_addr, 1, user=True)
        return region.guest_addr + off

    def read(self, addr: int, length: int) -> bytes:
        region, off = self._find(addr, length)
        try:
            return region.view[off:off + length]
        except ValueError as exc:               # unmapped meanwhile by the back end's thread
            raise self._gone(addr) from exc

    def write(self, addr: int, data: bytes) -> None:
        region, off = self._find(addr, len(data))
        try:
            region.view[off:off + len(data)] = data
        except ValueError as exc:
            raise self._gone(addr) from exc

    @staticmethod
    def _gone(addr: int) -> VhostUserError:
        return VhostUserError(f"guest address 0x{addr:x}: its memory was unmapped (the connection closed)")

    def close(self) -> None:
        # the regions go first, so a reader in another thread finds none rather than a closed map
        regions, self.regions = self.regions, []
        for r in regions:
            r.view.close()


@dataclass
class Vring:
    """One queue as the front end set it up (addresses are guest addresses)."""

    index: int
    num: int = 0
    base: int = 0
    desc: int = 0
    avail: int = 0
    used: int = 0
    kick_fd: int | None = None
    call_fd: int | None = None
    enabled: bool = False
    kicks: int = 0
    calls: int = 0


class BackendDevice(Protocol):
    """What a vhost-user back end serves: the device behind it."""

    features: int                       # virtio features offered
    queues: int                         # queues the device has

    def config(self) -> bytes: ...
    def set_features(self, features: int) -> None: ...
    def vring_enabled(self, vring: Vring, memory: GuestMemory) -> None: ...
    def vring_stopped(self, vring: Vring) -> int: ...        # the next avail index, for GET_VRING_BASE
    def kicked(self, vring: Vring) -> None: ...


@dataclass
class Session:
    """The state of one front end's connection."""

    features: int = 0
    protocol_features: int = 0
    memory: GuestMemory = field(default_factory=GuestMemory)
    vrings: dict[int, Vring] = field(default_factory=dict)
    slave_fd: int | None = None

    def vring(self, index: int) -> Vring:
        return self.vrings.setdefault(index, Vring(index))

    def close(self) -> None:
        self.memory.close()
        fds = [v.kick_fd for v in self.vrings.values()] + [v.call_fd for v in self.vrings.values()] + [self.slave_fd]
        for fd in fds:
            if fd is not None:
                os.close(fd)
        self.vrings.clear()
        self.slave_fd = None


class VhostUserBackend:
    """Listens on `path`; `serve` takes one front end and answers it until it hangs up."""

    def __init__(self, path: Path, device: BackendDevice, log: logging.Logger | None = None):
        self.path = Path(path)
        self.device = device
        self.log = log or logging.getLogger("vhost_user")
        self.path.unlink(missing_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(1)
        self.session = Session()
        self.conn: socket.socket | None = None
        self._stop_r, self._stop_w = os.pipe()
        self.closed = False

    def stop(self) -> None:
        """Ends `serve` from another thread (nothing to do once it has ended)."""
        if not self.closed:
            os.write(self._stop_w, b"x")

    def call(self, index: int) -> None:
        """Interrupt the front end for queue `index` (its call pipe: an 8-byte count)."""
        vring = self.session.vrings.get(index)
        if vring is None or vring.call_fd is None:
            raise VhostUserError(f"call on queue {index}, which has no call file descriptor")
        vring.calls += 1
        os.write(vring.call_fd, (1).to_bytes(U64, "little"))

    def serve(self, accept_timeout_s: float = 30.0) -> None:
        """Accept one front end; serve its requests and its kicks until it hangs up or
        `stop` is called. A request this back end cannot serve raises VhostUserError. A
        front end gone before its reply (EPIPE, as UML halting right after a request) has
        hung up: there is nobody left to answer."""
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ, "accept")
        sel.register(self._stop_r, selectors.EVENT_READ, "stop")
        try:
            events = {key.data for key, _ in sel.select(accept_timeout_s)}
            if "stop" in events:
                return
            if "accept" not in events:
                raise VhostUserError(f"no front end connected to {self.path} within {accept_timeout_s} s")
            self.conn, _ = self.listener.accept()
            sel.unregister(self.listener)
            sel.register(self.conn, selectors.EVENT_READ, "request")
            while True:
                for key, _ in sel.select():
                    if key.data == "stop":
                        return
                    if key.data == "request":
                        try:
                            if not self._serve_one(sel):
                                return
                        except (BrokenPipeError, ConnectionResetError):
                            self.log.debug("vhost-user front end hung up before its reply")
                            return
                    else:                       # a kick eventfd
                        vring = key.data
                        os.read(vring.kick_fd, U64)
                        vring.kicks += 1
                        self.device.kicked(vring)
        finally:
            sel.close()
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.session.close()
        self.listener.close()
        self.path.unlink(missing_ok=True)
        os.close(self._stop_r)
        os.close(self._stop_w)

    # -- messages ----------------------------------------------------------------------------

    def _recv(self, n: int) -> tuple[bytes, list[int]]:
        data, fds = b"", []
        while len(data) < n:
            chunk, got, _, _ = socket.recv_fds(self.conn, n - len(data), VHOST_USER_MAX_FDS)
            if not chunk:
                return data, fds
            data += chunk
            fds += got
        return data, fds

    def _serve_one(self, sel: selectors.BaseSelector) -> bool:
        """One request; False when the front end hung up."""
        head, fds = self._recv(VHOST_USER_HEADER)
        if not head:
            return False
        if len(head) < VHOST_USER_HEADER:
            raise VhostUserError(f"front end hung up inside a message header ({len(head)} of 12 bytes)")
        request, flags, size = (f.get(head) for f in (VhostUserHeader.REQUEST, VhostUserHeader.FLAGS,
                                                      VhostUserHeader.SIZE))
        payload, more = self._recv(size) if size else (b"", [])
        fds += more
        if flags & VhostUserFlag.VERSION_MASK != VHOST_USER_VERSION:
            raise VhostUserError(f"request {request}: protocol version {flags & VhostUserFlag.VERSION_MASK}, "
                                 f"expected {VHOST_USER_VERSION}")
        try:
            req = VhostUserRequest(request)
        except ValueError:
            raise VhostUserError(f"request {request} ({size} bytes) is not one this back end serves") from None
        self.log.debug("vhost-user %s (%d bytes, %d fds)", req.name, size, len(fds))
        reply = self._handle(req, payload, fds, sel)
        if reply is not None:
            self._send(req, reply)
        elif flags & VhostUserFlag.NEED_REPLY:
            self._send(req, (0).to_bytes(U64, "little"))        # acknowledged: success
        return True

    def _send(self, req: VhostUserRequest, payload: bytes) -> None:
        head = bytearray(VHOST_USER_HEADER)
        VhostUserHeader.REQUEST.put(head, req)
        VhostUserHeader.FLAGS.put(head, VHOST_USER_VERSION | VhostUserFlag.REPLY)
        VhostUserHeader.SIZE.put(head, len(payload))
        self.conn.sendall(bytes(head) + payload)

    def _handle(self, req: VhostUserRequest, payload: bytes, fds: list[int],
                sel: selectors.BaseSelector) -> bytes | None:
        """The reply's payload for requests that have one; None for the others."""
        s, dev = self.session, self.device
        u64 = lambda: int.from_bytes(payload[:U64], "little")          # noqa: E731
        R = VhostUserRequest
        if req == R.GET_FEATURES:
            return (dev.features | 1 << VHOST_USER_F_PROTOCOL_FEATURES).to_bytes(U64, "little")
        if req == R.GET_PROTOCOL_FEATURES:
            return PROTOCOL_FEATURES.to_bytes(U64, "little")
        if req == R.GET_QUEUE_NUM:
            return dev.queues.to_bytes(U64, "little")
        if req == R.SET_PROTOCOL_FEATURES:
            if u64() & ~PROTOCOL_FEATURES:
                raise VhostUserError(f"protocol features 0x{u64():x} beyond those offered (0x{PROTOCOL_FEATURES:x})")
            s.protocol_features = u64()
        elif req == R.SET_FEATURES:
            s.features = u64() & ~(1 << VHOST_USER_F_PROTOCOL_FEATURES)
            if s.features & ~dev.features:
                raise VhostUserError(f"features 0x{s.features:x} beyond those offered (0x{dev.features:x})")
            dev.set_features(s.features)
        elif req in (R.SET_OWNER, R.RESET_OWNER):
            pass
        elif req == R.SET_SLAVE_REQ_FD:
            s.slave_fd = self._one_fd(req, fds)
        elif req == R.SET_MEM_TABLE:
            s.memory.set_table(payload, fds)
        elif req == R.GET_CONFIG:
            offset, size = VhostUserConfig.OFFSET.get(payload), VhostUserConfig.SIZE.get(payload)
            config = dev.config()
            if offset + size > len(config):
                raise VhostUserError(f"GET_CONFIG of {size} bytes at {offset}: the device has {len(config)}")
            return payload[:VhostUserConfig.PAYLOAD] + config[offset:offset + size]
        elif req in (R.SET_VRING_NUM, R.SET_VRING_BASE, R.SET_VRING_ENABLE, R.GET_VRING_BASE):
            index, num = VhostUserVringState.INDEX.get(payload), VhostUserVringState.NUM.get(payload)
            vring = self._vring(index)
            if req == R.SET_VRING_NUM:
                vring.num = num
            elif req == R.SET_VRING_BASE:
                vring.base = num
            elif req == R.SET_VRING_ENABLE:
                vring.enabled = bool(num)
                if vring.enabled:
                    dev.vring_enabled(vring, s.memory)
            else:
                vring.enabled = False
                state = bytearray(payload[:VhostUserVringState.SIZE])
                VhostUserVringState.NUM.put(state, dev.vring_stopped(vring))
                return bytes(state)
        elif req == R.SET_VRING_ADDR:
            vring = self._vring(VhostUserVringAddr.INDEX.get(payload))
            vring.desc, vring.used, vring.avail = (s.memory.to_guest(f.get(payload)) for f in (
                VhostUserVringAddr.DESC, VhostUserVringAddr.USED, VhostUserVringAddr.AVAIL))
        elif req in (R.SET_VRING_KICK, R.SET_VRING_CALL, R.SET_VRING_ERR):
            index = u64() & VHOST_USER_VRING_INDEX_MASK
            vring = self._vring(index)
            fd = None if u64() & VHOST_USER_VRING_NOFD else self._one_fd(req, fds)
            if req == R.SET_VRING_KICK:
                if vring.kick_fd is not None:
                    sel.unregister(vring.kick_fd)
                    os.close(vring.kick_fd)
                vring.kick_fd = fd
                if fd is None:
                    raise VhostUserError(f"queue {index}: kicks without a file descriptor are not served")
                sel.register(fd, selectors.EVENT_READ, vring)
            elif req == R.SET_VRING_CALL:
                if vring.call_fd is not None:
                    os.close(vring.call_fd)
                vring.call_fd = fd
            elif fd is not None:
                os.close(fd)                    # errors are reported by failing the run, not by this fd
        else:
            raise VhostUserError(f"request {req.name} is not served by this back end")
        return None

    def _vring(self, index: int) -> Vring:
        if index >= self.device.queues:
            raise VhostUserError(f"queue {index}: the device has {self.device.queues}")
        return self.session.vring(index)

    @staticmethod
    def _one_fd(req: VhostUserRequest, fds: list[int]) -> int:
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise VhostUserError(f"{req.name} carries {len(fds)} file descriptors, expected 1")
        return fds[0]
