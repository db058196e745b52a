"""The pyuvm environment: driver on the root complex, device-side and link monitors,
scoreboard against reference models, functional coverage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from cocotb.triggers import Event
from pyuvm import (ConfigDB, uvm_analysis_port, uvm_driver, uvm_env, uvm_monitor,
                   uvm_scoreboard, uvm_sequencer, uvm_subscriber)

from virtio_ep import layout
from virtio_ep.runconfig import RunConfig

from .covermodel import Group, export
from .items import BarAccess, ConfigAccess, Doorbell, MsiRequest

MSI_TIMEOUT_NS = 50_000


def tb_ready() -> Event:
    return ConfigDB().get(None, "", "TB_READY")


async def get_tb():
    await tb_ready().wait()
    return ConfigDB().get(None, "", "TB")


class HostDriver(uvm_driver):
    """Executes items on the real parts: BAR accesses and doorbells through the cocotbext-pcie
    root complex, MSI requests through the soft CPU (the host then waits for the vector)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        tb = await get_tb()
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.execute(tb, item)
            self.ap.write(item)
            self.seq_item_port.item_done()

    async def execute(self, tb, item) -> None:
        if isinstance(item, BarAccess):
            if item.write:
                await tb.host.write(layout.BAR_SRAM, item.offset, self.payload(item))
            else:
                item.result = await tb.host.read(layout.BAR_SRAM, item.offset, item.length)
        elif isinstance(item, Doorbell):
            await tb.host.ring_doorbell(item.slot, item.value)
        elif isinstance(item, ConfigAccess):
            await self.config(tb, item)
        elif isinstance(item, MsiRequest):
            before = tb.host.msi_count(item.vector)
            await tb.cpu.request_msi(item.vector)
            await tb.host.wait_msi(item.vector, before + 1, MSI_TIMEOUT_NS)

    def payload(self, item: BarAccess) -> bytes:
        return item.data

    async def config(self, tb, item: ConfigAccess) -> None:
        dev, H = tb.host.dev, layout.PciHeader
        offset = {"read_id": H.ID, "read_class": H.CLASS_REV, "read_cache_line": H.CACHE_LINE,
                  "write_cache_line": H.CACHE_LINE, "write_read_only": H.ID}[item.kind]
        if item.kind == "write_cache_line":
            await dev.config_write_byte(offset, item.value)
        elif item.kind == "write_read_only":
            await dev.config_write_dword(offset, item.value)
        item.result = await dev.config_read_dword(offset)


def corrupt_last_byte(data: bytes) -> bytes:
    """The injected bug's effect on a write's payload: its last byte inverted."""
    return data[:-1] + bytes([data[-1] ^ 0xFF])


class CorruptingDriver(HostDriver):
    """A known bug, injected by factory override: every BAR write loses its last byte's
    value. The scoreboard must catch it."""

    def payload(self, item: BarAccess) -> bytes:
        return corrupt_last_byte(item.data)


class DoorbellMonitor(uvm_monitor):
    """Device side: the soft CPU's doorbell service loop, publishing (slot, value) it takes."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        tb = await get_tb()

        async def handler(slot: int, value: int) -> None:
            self.ap.write((slot, value))
        self.stop = Event()
        await tb.cpu.service_doorbells(tb.params.db_slots, handler, self.stop)


class LinkMonitor(uvm_monitor):
    """Every TLP on the link (root complex side) and every frame on the core's CQ/CC/RQ/RC
    ports and MSI, published as (direction, kind, bytes)."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        tb = await get_tb()
        tb.tlps.listeners.append(lambda r: self.ap.write((r.direction, r.kind, len(r.tlp.data))))


class Scoreboard(uvm_scoreboard):
    """Reference models: BAR0 memory, latest doorbell value per slot, MSIs per vector."""

    def build_phase(self):
        self.host_fifo = []
        self.device_fifo = []
        self.mirror = bytearray(layout.DEFAULT_PARAMS.bar0_sram_size)
        self.errors: list[str] = []
        self.rung: dict[int, int] = {}
        self.taken: dict[int, int] = {}
        self.msis = Counter()
        self.cache_line = 0                 # reset value of the cache line size register

    def write_host(self, item) -> None:
        if isinstance(item, BarAccess):
            if item.write:
                self.mirror[item.offset:item.offset + item.length] = item.data
            else:
                expect = bytes(self.mirror[item.offset:item.offset + item.length])
                if item.result != expect:
                    self.errors.append(f"{item}: read {item.result.hex()} expected {expect.hex()}")
        elif isinstance(item, Doorbell):
            self.rung[item.slot] = item.value
        elif isinstance(item, ConfigAccess):
            self.check_config(item)
        elif isinstance(item, MsiRequest):
            self.msis[item.vector] += 1

    def check_config(self, item: ConfigAccess) -> None:
        """Identity registers never change; the cache line size holds the last value written."""
        if item.kind == "write_cache_line":
            self.cache_line = item.value
        if item.kind in ("read_id", "write_read_only"):
            expect = layout.EP_PCI_DEVICE_ID << 16 | layout.EP_PCI_VENDOR_ID
        elif item.kind == "read_class":
            expect = layout.EP_PCI_CLASS_CODE << 8 | layout.EP_PCI_REVISION
        else:
            expect = None
        got = item.result if expect is not None else item.result & 0xFF
        want = expect if expect is not None else self.cache_line
        if got != want:
            self.errors.append(f"{item}: read 0x{got:x}, expected 0x{want:x}")

    def write_device(self, slot_value) -> None:
        slot, value = slot_value
        self.taken[slot] = value

    def check_msis(self) -> None:
        """Every vector: the MSIs the host received (its handler per vector, fresh each test)
        equal the MSIs requested: none lost, duplicated or raised on another vector."""
        host = ConfigDB().get(None, "", "TB").host
        for vector in range(len(host.msi_vectors)):
            if host.msi_count(vector) != self.msis[vector]:
                self.errors.append(f"MSI vector {vector}: host received {host.msi_count(vector)}, "
                                   f"{self.msis[vector]} requested")

    def check_phase(self):
        for slot, value in self.rung.items():
            if self.taken.get(slot) != value:
                self.errors.append(f"doorbell slot {slot}: last rung 0x{value:08x}, firmware took "
                                   f"{self.taken.get(slot)}")
        self.check_msis()
        self.report_errors()

    def report_errors(self) -> None:
        for e in self.errors[:10]:
            self.logger.error(e)
        assert not self.errors, f"scoreboard: {len(self.errors)} mismatches (first: {self.errors[0]})"


class InjectedBugScoreboard(Scoreboard):
    """For the injected-bug test: the scoreboard's own checks must report mismatches, and
    every one of them must be the injected bug's (the read equals a mirror of the corrupted
    writes); anything else, or nothing at all, fails the test."""

    def build_phase(self):
        super().build_phase()
        self.corrupted = bytearray(self.mirror)
        self.unexplained: list[str] = []

    def write_host(self, item) -> None:
        super().write_host(item)
        if isinstance(item, BarAccess):
            span = slice(item.offset, item.offset + item.length)
            if item.write:
                self.corrupted[span] = corrupt_last_byte(item.data)
            elif item.result != bytes(self.corrupted[span]):
                self.unexplained.append(f"{item}: read {item.result.hex()}, not what the corrupted writes left")

    def check_phase(self):
        caught = len(self.errors)
        assert caught, "the scoreboard reported no mismatch although every BAR write was corrupted"
        assert not self.unexplained, f"mismatches not caused by the injected bug: {self.unexplained[:3]}"
        self.logger.info("scoreboard caught the injected bug in %d reads", caught)


class _Export(uvm_subscriber):
    """Adapter: forwards analysis writes to a callable (keeps the scoreboard's inputs apart)."""

    def __init__(self, name, parent, fn):
        super().__init__(name, parent)
        self.fn = fn

    def write(self, t):
        self.fn(t)


LENGTH_BINS = ["1", "2-3", "4", "5-15", "16-63", "64-127", "128-255", "256-511", "512+"]


def length_bin(n: int) -> str:
    for hi, label in zip((1, 3, 4, 15, 63, 127, 255, 511), LENGTH_BINS):
        if n <= hi:
            return label
    return LENGTH_BINS[-1]


def origin(item) -> str:
    """"directed" for items a directed sequence made, "random" otherwise."""
    return getattr(item, "origin", "random")


class Coverage(uvm_subscriber):
    """Functional coverage (cocotb-coverage, tb/uvm/covermodel.py): BAR operation, length,
    alignment and length x alignment; doorbell slot position; MSI vector; configuration
    access kind; TLP kinds on the link; each apart for directed and random items. Written
    as YAML and as a JSON summary for `make regress`."""

    TOP = "endpoint"

    def build_phase(self):
        self.bar = Group(self.TOP, "bar", {"op": ["read", "write"], "length": LENGTH_BINS, "alignment": [0, 1, 2, 3]},
                         crosses=(("length", "alignment"),))
        self.doorbell = Group(self.TOP, "doorbell", {"slot": ["first", "middle", "last"]})
        self.msi = Group(self.TOP, "msi", {"vector": list(range(layout.DEFAULT_PARAMS.msi_vectors))})
        self.config = Group(self.TOP, "config", {"kind": list(ConfigAccess.KINDS)})
        self.tlps = Group(self.TOP, "link", {"tlp_kind": ["down mem_read", "down mem_write", "up completion",
                                                          "up mem_write"]}, origins=("any",))

    def write(self, item):
        if isinstance(item, BarAccess):
            self.bar.sample(origin(item), op="write" if item.write else "read", length=length_bin(item.length),
                            alignment=item.offset % 4)
        elif isinstance(item, Doorbell):
            last = layout.DEFAULT_PARAMS.db_slots - 1
            self.doorbell.sample(origin(item), slot="first" if item.slot == 0 else "last" if item.slot == last else "middle")
        elif isinstance(item, MsiRequest):
            self.msi.sample(origin(item), vector=item.vector)
        elif isinstance(item, ConfigAccess):
            self.config.sample(origin(item), kind=item.kind)

    def link(self, t):
        direction, kind, _ = t
        self.tlps.sample("any", tlp_kind=f"{direction} {kind}")

    def report_phase(self):
        path = RunConfig.current().artifact
        rep = export(self.TOP, str(Path(path).with_suffix(".yml")) if path else None)
        hit = sum(1 for bins in rep.values() for v in bins.values() if v)
        total = sum(len(bins) for bins in rep.values())
        self.logger.info("coverage: %d of %d bins hit (directed and random apart)", hit, total)
        if path:
            with open(path, "w") as f:
                json.dump(rep, f, indent=1)


class EndpointEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = HostDriver.create("driver", self)
        self.doorbells = DoorbellMonitor("doorbells", self)
        self.link = LinkMonitor("link", self)
        self.scoreboard = Scoreboard.create("scoreboard", self)
        self.coverage = Coverage("coverage", self)
        self.sb_host = _Export("sb_host", self, lambda t: self.scoreboard.write_host(t))
        self.sb_device = _Export("sb_device", self, lambda t: self.scoreboard.write_device(t))
        self.cov_link = _Export("cov_link", self, lambda t: self.coverage.link(t))

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.sb_host.analysis_export)
        self.driver.ap.connect(self.coverage.analysis_export)
        self.doorbells.ap.connect(self.sb_device.analysis_export)
        self.link.ap.connect(self.cov_link.analysis_export)
