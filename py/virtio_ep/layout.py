"""Every register offset, bit and size of the endpoint: the one source of truth.

The RTL does not restate these numbers: ``hdl/ep_regs.vh`` is generated from this
module (``python -m virtio_ep.layout --verilog``) and a test fails when the committed
header differs from what this module generates.

Address spaces
--------------
* Host side (PCIe BARs):
    BAR0: SRAM, ``BAR0_SRAM_SIZE`` bytes (the BAR aperture may be larger; the tail is
          unbacked and answers Unsupported Request / drops writes).
    BAR2: doorbells, one 32-bit slot per ``DB_SLOT_STRIDE`` bytes.
* Local side (AXI4-Lite slave of the endpoint, used by the soft CPU):
    ``LocalBus`` regions below.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass

# --------------------------------------------------------------------------
# Build parameters of the endpoint (the RTL top-level parameter defaults)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointParams:
    """Top-level RTL parameters; defaults are the ones the RTL is built with."""

    bar0_sram_size: int = 64 * 1024     # bytes of BAR0 SRAM
    db_slots: int = 64                  # BAR2 doorbell slots
    db_fifo_depth: int = 16             # ordered doorbell FIFO entries
    msi_vectors: int = 32               # MSI vectors the generator can request
    np_fifo_depth: int = 16             # non-posted requests queued for completion
    msi_timeout_cycles: int = 4096      # cycles to wait for cfg_interrupt_msi_sent/fail

    def rtl_parameters(self) -> dict[str, int]:
        """Parameter overrides for the top-level module."""
        return {
            "BAR0_SRAM_SIZE": self.bar0_sram_size,
            "DB_SLOTS": self.db_slots,
            "DB_FIFO_DEPTH": self.db_fifo_depth,
            "MSI_VECTORS": self.msi_vectors,
            "NP_FIFO_DEPTH": self.np_fifo_depth,
            "MSI_TIMEOUT_CYCLES": self.msi_timeout_cycles,
        }

    def to_env(self) -> str:
        """Compact form passed to the simulation's test bench (see from_env)."""
        return ",".join(f"{k}={v}" for k, v in self.__dict__.items())

    @classmethod
    def from_env(cls, text: str | None) -> "EndpointParams":
        if not text:
            return cls()
        return cls(**{k: int(v) for k, v in (item.split("=") for item in text.split(","))})


DEFAULT_PARAMS = EndpointParams()

# Identity of the endpoint, readable by the local CPU.
EP_ID = 0x7645_5030                 # "vEP0"
EP_VERSION = 0x0001_0000            # major.minor in 16.16

# PCIe user interface: UltraScale+ 256-bit AXI4-Stream, dword aligned.
AXIS_DATA_WIDTH = 256
AXIS_KEEP_WIDTH = AXIS_DATA_WIDTH // 32
CQ_USER_WIDTH = 88
CC_USER_WIDTH = 33
USER_CLK_HZ = 250_000_000

# Host-side BARs.
BAR_SRAM = 0
BAR_DOORBELL = 2
BAR2_SIZE = 4096
DB_SLOT_STRIDE = 4
MAX_DB_SLOTS = 256                  # the local-bus windows hold this many slots

# --------------------------------------------------------------------------
# Local bus (AXI4-Lite, 32-bit data)
# --------------------------------------------------------------------------

AXIL_ADDR_WIDTH = 18
AXIL_DATA_WIDTH = 32
REGION_SIZE = 0x1000                # each register block decodes 4 KiB


class Region(enum.IntEnum):
    """Base addresses of the local-bus regions."""

    CSR = 0x0_0000
    DOORBELL = 0x0_1000
    MSI = 0x0_2000
    SRAM_WINDOW = 0x2_0000          # upper half of the local address space


SRAM_WINDOW_SIZE = (1 << AXIL_ADDR_WIDTH) - Region.SRAM_WINDOW


class Csr(enum.IntEnum):
    """Offsets inside Region.CSR."""

    ID = 0x000                      # reads EP_ID ("vEP0")
    VERSION = 0x004                 # reads EP_VERSION, major.minor in 16.16
    INT_STATUS = 0x008              # read-only: level of each source (IntSource)
    INT_ENABLE = 0x00C              # read/write: which sources drive irq
    BAR0_SIZE = 0x010               # read-only: SRAM bytes (build parameter)
    DB_SLOTS = 0x014                # read-only: doorbell slots (build parameter)
    DB_FIFO_DEPTH = 0x018           # read-only: ordered doorbell FIFO entries (build parameter)
    MSI_VECTORS = 0x01C             # read-only: MSI vectors (build parameter)
    NP_FIFO_DEPTH = 0x020           # read-only: queued non-posted requests (build parameter)
    # TLP counters, read-only, wrap at 2**32
    CNT_CQ_MEM_RD = 0x040           # memory reads received
    CNT_CQ_MEM_WR = 0x044           # memory writes received
    CNT_CQ_POSTED_DROP = 0x048      # posted requests dropped (bad target or type)
    CNT_CQ_NP_UR = 0x04C            # non-posted requests answered Unsupported Request
    CNT_CC_CPL = 0x050              # completion TLPs sent (any status)
    CNT_CC_DW = 0x054               # completion payload dwords sent


class IntSource(enum.IntFlag):
    """Bits of Csr.INT_STATUS / Csr.INT_ENABLE; all are levels cleared at their source."""

    DB_PENDING = 1 << 0             # some enabled doorbell slot is pending
    DB_FIFO = 1 << 1                # the ordered doorbell FIFO is not empty
    DB_OVERFLOW = 1 << 2            # the doorbell FIFO dropped an entry
    MSI_FAIL = 1 << 3               # an MSI request failed (see MsiReg.FAILED_VECTORS)


INT_ENABLE_RESET = 0


class DbReg(enum.IntEnum):
    """Offsets inside Region.DOORBELL."""

    PENDING = 0x000                 # bitmap, 32 slots per word; write 1 to clear
    ENABLE = 0x080                  # bitmap; a pending slot raises DB_PENDING only if enabled
    FIFO_STATUS = 0x100             # DbFifoStatus fields; write OVERFLOW bit to clear it
    FIFO_HEAD_SLOT = 0x104          # DbFifoHead fields of the oldest entry
    FIFO_HEAD_VALUE = 0x108         # value of the oldest entry
    FIFO_POP = 0x10C                # write anything: drop the oldest entry
    FIFO_DROPS = 0x110              # entries dropped because the FIFO was full
    WRITES = 0x114                  # doorbell writes accepted
    BAD_WRITES = 0x118              # BAR2 writes dropped (slot out of range or length != 1)
    VALUE = 0x800                   # VALUE + 4*k: last value written to slot k (no side effect)
    TAKE = 0xC00                    # TAKE + 4*k: same value, and clears pending[k] atomically


DB_ENABLE_RESET = 0xFFFF_FFFF       # every slot enabled after reset


class DbFifoStatus(enum.IntFlag):
    """Fields of DbReg.FIFO_STATUS (COUNT is a 16-bit field at bit 0)."""

    COUNT_MASK = 0xFFFF             # entries in the FIFO
    EMPTY = 1 << 16                 # no entry
    FULL = 1 << 17                  # a new doorbell would be dropped
    OVERFLOW = 1 << 31              # sticky: an entry was dropped; write 1 to clear


class DbFifoHead(enum.IntFlag):
    """Fields of DbReg.FIFO_HEAD_SLOT (SLOT is a 16-bit field at bit 0)."""

    SLOT_MASK = 0xFFFF              # slot of the oldest entry
    VALID = 1 << 31                 # the FIFO holds an entry


class MsiReg(enum.IntEnum):
    """Offsets inside Region.MSI."""

    REQUEST = 0x000                 # write vector number: request one MSI of that vector
    PENDING = 0x004                 # bitmap of requested, not yet sent vectors
    STATUS = 0x008                  # MsiStatus fields (from the PCIe core's cfg interface)
    MASK = 0x00C                    # per-vector mask bits as the core reports them
    SENT = 0x010                    # MSIs sent
    FAILED = 0x014                  # MSI requests failed (disabled, vector not enabled, timeout, core fail)
    FAILED_VECTORS = 0x018          # bitmap of vectors whose request failed; write 1 to clear


class MsiStatus(enum.IntFlag):
    """Fields of MsiReg.STATUS (MMENABLE is a 3-bit field at bit 4)."""

    ENABLE = 1 << 0                 # MSI enabled by the host (cfg_interrupt_msi_enable)
    BUSY = 1 << 1                   # waiting for the core to send an MSI
    MMENABLE_SHIFT = 4
    MMENABLE_MASK = 0x7 << 4        # log2 of the vectors the host enabled


# --------------------------------------------------------------------------
# Echo mailbox: the foundation's system scenario (`make sim`)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EchoMailbox:
    """Host writes a request into BAR0 and rings a doorbell; firmware answers in BAR0
    and sends an MSI. Request: u32 seq, u32 length, payload. Reply: u32 seq, u32
    length, the payload reversed (so the host can check it was really processed)."""

    request_offset: int = 0x0000
    reply_offset: int = 0x1000
    max_payload: int = 1024
    doorbell_slot: int = 0          # doorbell value: the request's seq
    msi_vector: int = 0
    header_bytes: int = 8


ECHO = EchoMailbox()


# --------------------------------------------------------------------------
# PCIe constants used by the RTL (UltraScale+ descriptor encodings)
# --------------------------------------------------------------------------


class ReqType(enum.IntEnum):
    """Request type field of the UltraScale+ CQ/RQ descriptor (PG213)."""

    MEM_READ = 0b0000
    MEM_WRITE = 0b0001
    IO_READ = 0b0010
    IO_WRITE = 0b0011
    MEM_FETCH_ADD = 0b0100
    MEM_SWAP = 0b0101
    MEM_CAS = 0b0110
    MEM_READ_LOCKED = 0b0111
    MSG = 0b1100
    MSG_VENDOR = 0b1101
    MSG_ATS = 0b1110


class CplStatus(enum.IntEnum):
    SC = 0b000
    UR = 0b001
    CRS = 0b010
    CA = 0b100


class MsiCap(enum.IntEnum):
    """Register offsets in the PCI MSI capability (64-bit address, per-vector masking)."""

    CONTROL = 0x02                  # 16-bit message control; bit 0: MSI enable
    MASK = 0x10                     # per-vector mask bits
    PENDING = 0x14                  # per-vector pending bits


MSI_CONTROL_ENABLE = 1 << 0


class NpKind(enum.IntEnum):
    """How the completer answers a queued non-posted request (internal RTL encoding)."""

    SRAM = 0                        # data from BAR0 SRAM
    ZERO = 1                        # data reads as zero (BAR2 doorbells are write-only)
    UR = 2                          # Unsupported Request completion, no data


# --------------------------------------------------------------------------
# Verilog header generation
# --------------------------------------------------------------------------

VERILOG_HEADER_PATH = "hdl/ep_regs.vh"


def _verilog_items() -> list[tuple[str, int, int, str]]:
    """(name, value, width, comment) for every constant the RTL uses."""
    items: list[tuple[str, int, int, str]] = [
        ("EP_ID", EP_ID, 32, "CSR ID value"),
        ("EP_VERSION", EP_VERSION, 32, "CSR VERSION value"),
        ("DB_SLOT_STRIDE", DB_SLOT_STRIDE, 32, "bytes per BAR2 doorbell slot"),
        ("MAX_DB_SLOTS", MAX_DB_SLOTS, 32, "slots the local-bus windows can hold"),
        ("BAR_SRAM", BAR_SRAM, 3, "BAR id of the SRAM"),
        ("BAR_DOORBELL", BAR_DOORBELL, 3, "BAR id of the doorbells"),
        ("DB_ENABLE_RESET", DB_ENABLE_RESET, 32, "doorbell enable word after reset"),
        ("INT_ENABLE_RESET", INT_ENABLE_RESET, 32, "CSR INT_ENABLE after reset"),
    ]
    for r in Region:
        items.append((f"REGION_{r.name}", int(r), AXIL_ADDR_WIDTH, "local-bus region base"))
    for group, enum_cls in (("CSR", Csr), ("DB", DbReg), ("MSI", MsiReg)):
        for m in enum_cls:
            items.append((f"{group}_{m.name}", int(m), 12, f"offset in Region.{group}"))
    for m in IntSource:
        items.append((f"INT_{m.name}_BIT", int(m).bit_length() - 1, 32, "bit in INT_STATUS"))
    for m in (DbFifoStatus.EMPTY, DbFifoStatus.FULL, DbFifoStatus.OVERFLOW):
        items.append((f"DB_FIFO_STATUS_{m.name}_BIT", int(m).bit_length() - 1, 32, "bit in FIFO_STATUS"))
    items.append(("DB_FIFO_HEAD_VALID_BIT", int(DbFifoHead.VALID).bit_length() - 1, 32, "bit in FIFO_HEAD_SLOT"))
    items.append(("MSI_STATUS_ENABLE_BIT", int(MsiStatus.ENABLE).bit_length() - 1, 32, "bit in MSI STATUS"))
    items.append(("MSI_STATUS_BUSY_BIT", int(MsiStatus.BUSY).bit_length() - 1, 32, "bit in MSI STATUS"))
    items.append(("MSI_STATUS_MMENABLE_SHIFT", int(MsiStatus.MMENABLE_SHIFT), 32, "field in MSI STATUS"))
    for m in ReqType:
        items.append((f"REQ_{m.name}", int(m), 4, "CQ descriptor request type"))
    for m in CplStatus:
        items.append((f"CPL_STATUS_{m.name}", int(m), 3, "CC descriptor completion status"))
    for m in NpKind:
        items.append((f"NP_KIND_{m.name}", int(m), 2, "completer action for a non-posted request"))
    return items


def verilog_header() -> str:
    lines = [
        "// Generated by `python -m virtio_ep.layout --verilog` from py/virtio_ep/layout.py.",
        "// Do not edit: change layout.py and regenerate (a test checks this file is current).",
        "// Included inside module bodies: localparams only.",
        "",
    ]
    for name, value, width, comment in _verilog_items():
        lines.append(f"localparam [{width - 1}:0] {name} = {width}'h{value:x};  // {comment}")
    return "\n".join(lines) + "\n"


MARKDOWN_PATH = "docs/register_map.md"


def _doc(member: enum.Enum) -> str:
    """The comment written next to an enum member in this file."""
    import inspect
    src = inspect.getsource(type(member))
    for line in src.splitlines():
        stripped = line.strip()
        if stripped.startswith(f"{member.name} =") and "#" in stripped:
            return stripped.split("#", 1)[1].strip()
    return ""


def markdown() -> str:
    """docs/register_map.md: the register map as tables, generated from this module."""
    p = DEFAULT_PARAMS
    out = [
        "# Register map",
        "",
        "Generated by `python -m virtio_ep.layout --markdown` from `py/virtio_ep/layout.py`;",
        "a test fails when this file is not current. Do not edit by hand.",
        "",
        "## Host side (PCIe BARs)",
        "",
        "| BAR | size | contents |",
        "|---|---|---|",
        f"| {BAR_SRAM} | {p.bar0_sram_size // 1024} KiB (parameter `BAR0_SRAM_SIZE`) | SRAM, any length and alignment; "
        "an aperture larger than the SRAM is unbacked: reads there get Unsupported Request, writes are dropped and counted |",
        f"| {BAR_DOORBELL} | {BAR2_SIZE} bytes | {p.db_slots} doorbell slots (parameter `DB_SLOTS`), slot k at "
        f"offset {DB_SLOT_STRIDE}*k, one-dword writes; reads return zero |",
        "",
        f"MSI: {p.msi_vectors} vectors (parameter `MSI_VECTORS`), per-vector masking honoured.",
        "",
        f"## Local bus (AXI4-Lite, {AXIL_ADDR_WIDTH}-bit address, 32-bit data)",
        "",
        "| region | base |",
        "|---|---|",
    ]
    for r in Region:
        out.append(f"| {r.name} | 0x{int(r):05x} |")
    out.append("")
    out.append(f"Unmapped local addresses answer DECERR. SRAM_WINDOW maps BAR0 byte for byte.")
    for title, region, enum_cls in (("CSR", Region.CSR, Csr), ("Doorbell block", Region.DOORBELL, DbReg),
                                    ("MSI block", Region.MSI, MsiReg)):
        out += ["", f"### {title} (base 0x{int(region):05x})", "", "| offset | name | description |", "|---|---|---|"]
        for m in enum_cls:
            out.append(f"| 0x{int(m):03x} | {m.name} | {_doc(m)} |")
    out += ["", "### Bit fields", "", "| register | field | bits | description |", "|---|---|---|---|"]
    for reg, flag_cls in (("INT_STATUS / INT_ENABLE", IntSource), ("FIFO_STATUS", DbFifoStatus),
                          ("FIFO_HEAD_SLOT", DbFifoHead), ("MSI STATUS", MsiStatus)):
        for m in flag_cls.__members__.values():
            v = int(m)
            if m.name.endswith("_SHIFT"):
                continue
            lo = (v & -v).bit_length() - 1
            hi = v.bit_length() - 1
            bits = f"{lo}" if lo == hi else f"{hi}:{lo}"
            out.append(f"| {reg} | {m.name.removesuffix('_MASK')} | {bits} | {_doc(m)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--verilog"]:
        sys.stdout.write(verilog_header())
        return 0
    if argv[1:] == ["--markdown"]:
        sys.stdout.write(markdown())
        return 0
    sys.stderr.write("usage: python -m virtio_ep.layout --verilog | --markdown\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
