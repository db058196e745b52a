"""What the bench measures: TLPs at the root complex (by direction and kind), TLPs where the
RTL sees them (the core's CQ/CC/RQ/RC interfaces and its MSIs), and per named operation
the TLPs, time, firmware and host CPU time it took."""

from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Callable

from cocotb.utils import get_sim_time
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice

from .. import layout
from .pcie_model import RootComplexTap, tlp_kind


@dataclass
class TlpRecord:
    time_ns: float
    direction: str      # "down" (host to endpoint) or "up"
    kind: str
    tlp: object


@dataclass
class TlpCounter:
    """Every TLP crossing the root complex, by direction and kind, with bytes."""

    records: list[TlpRecord] = field(default_factory=list)
    listeners: list[Callable[[TlpRecord], None]] = field(default_factory=list)   # monitors

    def attach(self, tap: RootComplexTap) -> None:
        tap.observers.append(self._add)

    def _add(self, direction: str, tlp) -> None:
        rec = TlpRecord(get_sim_time("ns"), direction, tlp_kind(tlp), tlp)
        self.records.append(rec)
        for listener in self.listeners:
            listener(rec)

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int) -> list[TlpRecord]:
        return self.records[mark:]

    def counts(self, mark: int = 0) -> Counter:
        c: Counter = Counter()
        for r in self.records[mark:]:
            if r.kind == "mem_write" and r.direction == "up":
                c["up msi/mem_write"] += 1
            else:
                c[f"{r.direction} {r.kind}"] += 1
        return c

    def payload_bytes(self, mark: int = 0) -> int:
        return sum(len(r.tlp.data) for r in self.records[mark:])


@dataclass
class OpStats:
    """TLPs and time of one named operation, as seen at the root complex."""

    name: str
    host_reads: int = 0          # non-posted reads by the host (BAR reads)
    host_writes: int = 0         # posted writes by the host, doorbells excluded
    doorbells: int = 0           # host writes to BAR2
    msis: int = 0                # MSI writes by the endpoint
    device_writes: int = 0       # other endpoint writes to host memory (DMA: the async mirror)
    device_reads: int = 0        # reads of host memory by the endpoint (DMA)
    cycles: float = 0.0
    firmware_cycles: int = 0     # modelled firmware compute inside the operation
    host_stall_ns: float = 0.0   # host CPU time stalled in BAR reads
    start_ns: float = 0.0
    read_offsets: list[tuple[int, int]] = field(default_factory=list)   # (BAR0 offset, bytes) read


class PortMonitor:
    """Counts TLPs where the RTL sees them: frames on the core's CQ, CC, RQ and RC interfaces
    and MSIs the core issues on the RTL's request, with payload dwords; it hooks the core
    model's interface objects (no per-cycle sampling)."""

    def __init__(self, dev: UltraScalePlusPcieDevice):
        self.counts: Counter = Counter()
        self._wrap_send(dev.cq_source, "cq", 4)
        self._wrap_recv(dev.cc_sink, "cc", 3)
        self._wrap_recv(dev.rq_sink, "rq", 4)
        self._wrap_send(dev.rc_source, "rc", 3)
        msi = dev.functions[0].msi_cap
        issue = msi.issue_msi_interrupt

        async def counted_msi(*args, **kwargs):
            self.counts["msi"] += 1
            return await issue(*args, **kwargs)
        msi.issue_msi_interrupt = counted_msi

    def _record(self, port: str, frame, header_dw: int) -> None:
        self.counts[port] += 1
        self.counts[f"{port}_dw"] += max(len(frame.data) - header_dw, 0)
        if port == "rq":
            req_type = (frame.data[2] >> 11) & 0xF
            self.counts["rq_read" if req_type == layout.ReqType.MEM_READ else "rq_write"] += 1

    def _wrap_send(self, source, port: str, header_dw: int) -> None:
        send = source.send

        async def counted(frame):
            self._record(port, frame, header_dw)
            return await send(frame)
        source.send = counted

    def _wrap_recv(self, sink, port: str, header_dw: int) -> None:
        recv = sink.recv

        async def counted():
            frame = await recv()
            self._record(port, frame, header_dw)
            return frame
        sink.recv = counted

    def snapshot(self) -> Counter:
        return Counter(self.counts)


class OpRecorder:
    """Context manager per operation: `async with rec.op("reset"): ...`."""

    def __init__(self, tb):
        self.tb = tb
        self.ops: list[OpStats] = []

    @asynccontextmanager
    async def op(self, name: str):
        tb = self.tb
        mark, t0, busy0, stall0 = tb.tlps.mark(), tb.now_ns(), tb.cpu.busy_cycles, tb.host.mmio_read_ns
        yield
        st = OpStats(name, cycles=tb.cycles(t0, tb.now_ns()), firmware_cycles=tb.cpu.busy_cycles - busy0,
                     host_stall_ns=tb.host.mmio_read_ns - stall0, start_ns=t0)
        bar0 = tb.host.dev.bar_addr[layout.BAR_SRAM]
        bar2 = tb.host.dev.bar_addr[layout.BAR_DOORBELL]
        msi = tb.rc.msi_region.get_absolute_address(0)
        for r in tb.tlps.since(mark):
            if r.kind == "mem_read" and r.direction == "down":
                st.host_reads += 1
                st.read_offsets.append((r.tlp.address - bar0, r.tlp.length * 4))
            elif r.kind == "mem_write" and r.direction == "down":
                if bar2 <= r.tlp.address < bar2 + layout.BAR2_SIZE:
                    st.doorbells += 1
                else:
                    st.host_writes += 1
            elif r.kind == "mem_write" and r.direction == "up":
                if r.tlp.address == msi:
                    st.msis += 1
                else:
                    st.device_writes += 1
            elif r.kind == "mem_read" and r.direction == "up":
                st.device_reads += 1
        self.ops.append(st)
