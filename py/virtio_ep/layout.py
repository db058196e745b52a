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
    dma_buf_size: int = 64 * 1024       # bytes of DMA buffer RAM
    dma_tags: int = 16                  # read requests the DMA engine keeps outstanding
    dma_desc_depth: int = 16            # queued DMA descriptors
    dma_timeout_cycles: int = 16384     # completion timeout of a DMA read request

    def rtl_parameters(self) -> dict[str, int]:
        """Parameter overrides for the top-level module."""
        return {
            "BAR0_SRAM_SIZE": self.bar0_sram_size,
            "DB_SLOTS": self.db_slots,
            "DB_FIFO_DEPTH": self.db_fifo_depth,
            "MSI_VECTORS": self.msi_vectors,
            "NP_FIFO_DEPTH": self.np_fifo_depth,
            "MSI_TIMEOUT_CYCLES": self.msi_timeout_cycles,
            "DMA_BUF_SIZE": self.dma_buf_size,
            "DMA_TAGS": self.dma_tags,
            "DMA_DESC_DEPTH": self.dma_desc_depth,
            "DMA_TIMEOUT_CYCLES": self.dma_timeout_cycles,
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


@dataclass(frozen=True)
class HostLatencies:
    """Latencies the test bench adds to the root-complex model, which itself answers at once.

    Defaults from published measurements (see docs/results.md when it exists):
    device_read_ns  a device's read of host memory, request to completion, Gen3 x8: about
                    0.5 to 0.9 us; an FPGA endpoint measured about 850 ns
    host_read_ns    a host CPU load from a device BAR: about 1 us, the CPU stalled meanwhile
    msi_ns          MSI write to the driver's handler running (interrupt delivery and entry)
    firmware_wake_ns  the endpoint's CPU: irq to its handler running, beyond the modelled
                    entry cost (FirmwareCosts.irq_entry). 0 for a bare-metal core waiting in
                    WFI (about 0.1 us, already in irq_entry); microseconds for an interrupt
                    controller and OS in the path (Linux: several us, threaded handlers
                    tens of us). Not a host latency, but swept with them (make report).
    """

    device_read_ns: int = 850
    host_read_ns: int = 1000
    msi_ns: int = 1000
    firmware_wake_ns: int = 0

    def to_env(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.__dict__.items())

    @classmethod
    def from_env(cls, text: str | None) -> "HostLatencies":
        if text is None or text in ("", "default"):
            return cls()
        if text == "none":
            return cls(0, 0, 0, 0)
        return cls(**{k: int(v) for k, v in (item.split("=") for item in text.split(","))})


NO_LATENCY = HostLatencies(0, 0, 0, 0)

# Identity of the endpoint, readable by the local CPU.
EP_ID = 0x7645_5030                 # "vEP0"
EP_VERSION = 0x0001_0000            # major.minor in 16.16

# The endpoint function's PCI identity (configuration space, read-only to the host). The
# device side is generic: a Xilinx vendor ID and an "other memory controller" class; the
# virtio identity lives in the transport, not here.
EP_PCI_VENDOR_ID = 0x10EE
EP_PCI_DEVICE_ID = 0x9038
EP_PCI_REVISION = 0x01
EP_PCI_CLASS_CODE = 0x058000

# PCIe user interface: UltraScale+ 256-bit AXI4-Stream, dword aligned.
AXIS_DATA_WIDTH = 256
AXIS_KEEP_WIDTH = AXIS_DATA_WIDTH // 32
CQ_USER_WIDTH = 88
CC_USER_WIDTH = 33
RQ_USER_WIDTH = 62
RC_USER_WIDTH = 75
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
    DMA = 0x0_3000
    DMA_BUF = 0x1_0000              # DMA buffer RAM, up to 64 KiB
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
    DMA_BUF_SIZE = 0x024            # read-only: DMA buffer RAM bytes (build parameter)
    DMA_TAGS = 0x028                # read-only: outstanding DMA read requests (build parameter)
    FLR = 0x02C                     # function-level reset handshake (FlrBit)
    RESET_EVENT = 0x030             # the endpoint logic was reset (ResetEventBit)
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
    DMA_DONE = 1 << 4               # the DMA done FIFO is not empty
    FLR = 1 << 5                    # the host started a function-level reset, not yet done
    RESET = 1 << 6                  # the endpoint logic was reset (power-on, hot reset, link down)


class FlrBit(enum.IntFlag):
    """Csr.FLR. The core holds cfg_flr_in_process while the host's FLR lasts; the firmware
    quiesces (DMA, MSIs, its transport state) and writes DONE, which pulses cfg_flr_done."""

    IN_PROCESS = 1 << 0             # read: the core's cfg_flr_in_process[0]
    DONE = 1 << 1                   # read: done signalled for this FLR; write 1: signal it


class ResetEventBit(enum.IntFlag):
    """Csr.RESET_EVENT. The endpoint's logic is reset with the PCIe core's user_reset (power-on,
    hot reset, link down) while the local CPU runs on: its doorbells, DMA, MSI and interrupt
    enables are gone. PENDING (and IntSource.RESET, enabled at reset) tells the firmware."""

    PENDING = 1 << 0                # read: reset since the firmware last acknowledged; write 1: acknowledge


# a reset enables only its own interrupt: firmware sleeping on irq wakes to re-initialise
INT_ENABLE_RESET = int(IntSource.RESET)


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
    WATCH = 0x180                   # WATCH + 16*w: write-watch window w (DbWatch fields), w < DB_WATCH_WINDOWS
    VALUE = 0x800                   # VALUE + 4*k: last value written to slot k (no side effect)
    TAKE = 0xC00                    # TAKE + 4*k: same value, and clears pending[k] atomically


DB_ENABLE_RESET = 0xFFFF_FFFF       # every slot enabled after reset
DB_WATCH_WINDOWS = 4
DB_WATCH_STRIDE = 0x10


class DbWatch(enum.IntEnum):
    """Registers of one write-watch window (offsets from DbReg.WATCH + 16*w). A host write to
    BAR0 that ends inside [BASE, BASE+SIZE) rings doorbell SLOT with the index of the first
    entry (of 2**ENTRY_LOG2 bytes) not yet completely written, modulo SIZE >> ENTRY_LOG2:
    the write of a push-ring entry is itself the notification (as Mellanox BlueFlame)."""

    BASE = 0x0                      # BAR0 byte offset of the window
    SIZE = 0x4                      # bytes; 0 disables the window
    ENTRY_LOG2 = 0x8                # log2 of the entry size
    SLOT = 0xC                      # doorbell slot rung


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


class DmaReg(enum.IntEnum):
    """Offsets inside Region.DMA."""

    HOST_LO = 0x000                 # descriptor: host address [31:0]
    HOST_HI = 0x004                 # descriptor: host address [63:32]
    LOCAL = 0x008                   # descriptor: DMA buffer byte offset (same address mod 4 as the host's)
    LENGTH = 0x00C                  # descriptor: bytes, 1 to 65536
    SUBMIT = 0x010                  # write {tag[31:16], DmaDir[0]}: queue the descriptor
    STATUS = 0x014                  # DmaEngineStatus fields
    DONE_HEAD = 0x018               # oldest completion: DmaDone fields
    DONE_POP = 0x01C                # write anything: drop the oldest completion
    CNT_RD_REQ = 0x020              # read request TLPs sent
    CNT_WR_TLP = 0x024              # write TLPs sent
    CNT_CPL = 0x028                 # completion TLPs received
    CNT_ERRORS = 0x02C              # descriptors completed with an error
    CNT_RD_DW = 0x030               # completion payload dwords received
    CNT_WR_DW = 0x034               # write payload dwords sent


class DmaDir(enum.IntEnum):
    READ = 0                        # host memory to DMA buffer (RQ reads, RC completions)
    WRITE = 1                       # DMA buffer to host memory (RQ writes)


class DmaResult(enum.IntEnum):
    """Completion status of a DMA descriptor (DmaDone STATUS field)."""

    OK = 0
    UR = 1                          # a read completed with Unsupported Request
    CA = 2                          # a read completed with Completer Abort
    POISONED = 3                    # a completion carried poisoned data
    TIMEOUT = 4                     # a read request got no (complete) answer in time
    NO_BUS_MASTER = 5               # bus mastering disabled: nothing was sent
    BAD_DESCRIPTOR = 6              # zero or too long, beyond the buffer, or host/local alignment differs
    COMPLETION_ERROR = 7            # the core flagged the completion (bad length, address, tag)


class DmaEngineStatus(enum.IntFlag):
    """Fields of DmaReg.STATUS (QUEUED is a 16-bit field at bit 0)."""

    QUEUED_MASK = 0xFFFF            # descriptors waiting
    BUSY = 1 << 16                  # a descriptor is being processed
    DESC_FULL = 1 << 17             # SUBMIT would be refused (counted in CNT_ERRORS, nothing queued)
    DONE_FULL = 1 << 18             # the done FIFO is full: the engine waits


class DmaDone(enum.IntFlag):
    """Fields of DmaReg.DONE_HEAD (TAG is a 16-bit field at bit 0, STATUS 8 bits at 16)."""

    TAG_MASK = 0xFFFF               # the descriptor's tag
    STATUS_MASK = 0xFF << 16        # DmaResult
    VALID = 1 << 31                 # an entry is present


DMA_MAX_LENGTH = 0x10000


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
# virtio definitions (virtio 1.2 specification; Linux UAPI virtio_config.h,
# virtio_ids.h, virtio_net.h, virtio_blk.h)
# --------------------------------------------------------------------------


class VirtioStatus(enum.IntFlag):
    """Device status bits (virtio 1.2, 2.1)."""

    ACKNOWLEDGE = 1
    DRIVER = 2
    DRIVER_OK = 4
    FEATURES_OK = 8
    DEVICE_NEEDS_RESET = 0x40
    FAILED = 0x80


class VirtioDeviceId(enum.IntEnum):
    NET = 1
    BLOCK = 2
    ENTROPY = 4


class VirtioFeature(enum.IntEnum):
    """Device-independent feature bit numbers (virtio 1.2, 6)."""

    INDIRECT_DESC = 28
    EVENT_IDX = 29
    VERSION_1 = 32
    RING_PACKED = 34


class NetFeature(enum.IntEnum):
    MTU = 3
    MAC = 5
    STATUS = 16


class BlkFeature(enum.IntEnum):
    SIZE_MAX = 1
    SEG_MAX = 2
    BLK_SIZE = 6
    FLUSH = 9


@dataclass(frozen=True)
class Field:
    """A field of a little-endian structure: byte offset and width in bytes."""

    offset: int
    size: int

    def get(self, buf: bytes) -> int:
        """The field's value in a buffer holding the structure."""
        return int.from_bytes(buf[self.offset:self.offset + self.size], "little")

    def put(self, buf: bytearray, value: int) -> None:
        buf[self.offset:self.offset + self.size] = value.to_bytes(self.size, "little")


class NetConfig:
    """struct virtio_net_config (fields used here)."""

    MAC = Field(0, 6)
    STATUS = Field(6, 2)
    MAX_VIRTQUEUE_PAIRS = Field(8, 2)
    MTU = Field(10, 2)
    SIZE = 12


NET_S_LINK_UP = 1


class BlkConfig:
    """struct virtio_blk_config (fields used here)."""

    CAPACITY = Field(0, 8)          # in 512-byte sectors
    SIZE_MAX = Field(8, 4)
    SEG_MAX = Field(12, 4)
    GEOMETRY = Field(16, 4)
    BLK_SIZE = Field(20, 4)
    SIZE = 24


BLK_SECTOR_SIZE = 512


class QueueMode(enum.IntEnum):
    """Data-path mode of a queue (async transport)."""

    SPLIT = 0                       # virtio split ring in host memory
    PACKED = 1                      # virtio packed ring in host memory
    PUSH = 2                        # device-allocated ring in BAR0, filled with posted writes
    PUSH_SELF = 3                   # push ring whose entry writes are the notification (no doorbell TLP)


# Alignment of a driver-allocated ring's three areas (descriptors, driver, device), per
# mode (virtio 1.2, 2.7 and 2.8); push mode has only its used ring in host memory.
RING_AREA_ALIGN = {QueueMode.SPLIT: (16, 2, 4), QueueMode.PACKED: (16, 4, 4)}
PUSH_USED_ALIGN = 4


# --------------------------------------------------------------------------
# Rings (virtio 1.2, 2.7 split and 2.8 packed virtqueues) and the push ring
# --------------------------------------------------------------------------


class DescFlag(enum.IntFlag):
    """Descriptor flags, split and packed."""

    NEXT = 1
    WRITE = 2                       # device-writable buffer
    INDIRECT = 4
    AVAIL = 1 << 7                  # packed only
    USED = 1 << 15                  # packed only


class SplitDesc:
    """struct virtq_desc, 16 bytes."""

    ADDR = Field(0, 8)
    LEN = Field(8, 4)
    FLAGS = Field(12, 2)
    NEXT = Field(14, 2)
    SIZE = 16


class SplitAvail:
    """struct virtq_avail: flags, idx, ring[size], used_event."""

    FLAGS = Field(0, 2)
    IDX = Field(2, 2)
    RING = 4                        # u16 entries
    ENTRY = 2
    HEADER = 4


class SplitUsed:
    """struct virtq_used: flags, idx, ring[size] of {id u32, len u32}, avail_event."""

    FLAGS = Field(0, 2)
    IDX = Field(2, 2)
    RING = 4
    ENTRY = 8
    ELEM_ID = Field(0, 4)
    ELEM_LEN = Field(4, 4)
    HEADER = 4


AVAIL_F_NO_INTERRUPT = 1
USED_F_NO_NOTIFY = 1


class PackedDesc:
    """struct pvirtq_desc, 16 bytes."""

    ADDR = Field(0, 8)
    LEN = Field(8, 4)
    ID = Field(12, 2)
    FLAGS = Field(14, 2)
    SIZE = 16


class PackedEvent:
    """struct pvirtq_event_suppress: off_wrap, flags."""

    OFF_WRAP = Field(0, 2)
    FLAGS = Field(2, 2)
    SIZE = 4


class PackedEventFlag(enum.IntEnum):
    ENABLE = 0
    DISABLE = 1
    DESC = 2


PACKED_WRAP_SHIFT = 15              # off_wrap: bit 15 is the wrap counter


class PushEntry:
    """One slot of a device-allocated push ring in BAR0 (the driver writes it with posted
    writes, then rings the queue doorbell with the new producer index). A chain is one or
    more slots: NEXT links to the following slot. Payloads up to the slot's inline space
    travel in the slot; larger ones are described by ADDR and read by the device."""

    ID = Field(0, 2)                # buffer id, returned in the used entry
    FLAGS = Field(2, 2)             # PushFlag
    LEN = Field(4, 4)               # bytes of this buffer
    ADDR = Field(8, 8)              # host address when not inline (or device-writable)
    INLINE = 16                     # inline payload starts here
    SIZE = 128                      # slot size: 112 bytes inline (as AWS ENA's 128-byte LLQ entries)


class PushFlag(enum.IntFlag):
    NEXT = 1                        # the chain continues in the next slot
    WRITE = 2                       # device-writable buffer at ADDR (for responses)
    INLINE = 4                      # the payload is in the slot


PUSH_INLINE_MAX = PushEntry.SIZE - PushEntry.INLINE
PUSH_RING_AREA = 0x2000             # BAR0 offset of push ring q: PUSH_RING_AREA + q * PUSH_RING_STRIDE
PUSH_RING_STRIDE = 0x4000
PUSH_RING_SLOTS = PUSH_RING_STRIDE // PushEntry.SIZE

# The firmware moves host memory through the DMA buffer RAM in transfers of at most this
# many bytes (one descriptor each; the scratch area at the start of the buffer RAM).
DMA_CHUNK = 0x4000


# --------------------------------------------------------------------------
# Device requests (virtio 1.2, 5.1 net, 5.2 block, 5.4 entropy)
# --------------------------------------------------------------------------


class NetHdr:
    """struct virtio_net_hdr with VERSION_1 (num_buffers present): 12 bytes."""

    FLAGS = Field(0, 1)
    GSO_TYPE = Field(1, 1)
    HDR_LEN = Field(2, 2)
    GSO_SIZE = Field(4, 2)
    CSUM_START = Field(6, 2)
    CSUM_OFFSET = Field(8, 2)
    NUM_BUFFERS = Field(10, 2)
    SIZE = 12


NET_RX_QUEUE = 0
NET_TX_QUEUE = 1


class BlkReq:
    """struct virtio_blk_req header; the status byte is the last device-writable byte."""

    TYPE = Field(0, 4)
    RESERVED = Field(4, 4)
    SECTOR = Field(8, 8)
    SIZE = 16


class BlkType(enum.IntEnum):
    IN = 0
    OUT = 1
    FLUSH = 4
    GET_ID = 8


class BlkStatus(enum.IntEnum):
    OK = 0
    IOERR = 1
    UNSUPP = 2


BLK_ID_BYTES = 20
ENTROPY_MAX_REQUEST = 4096          # entropy bytes the device gives one request at most (virtio-rng allows less)
DEVICE_MAX_READ = 1 << 20           # device-readable bytes of one chain the device accepts; more: BAD_RING


# --------------------------------------------------------------------------
# Transport 1: virtio-pci modern (baseline), common configuration in BAR0
# --------------------------------------------------------------------------


class PciCommonCfg:
    """struct virtio_pci_common_cfg (virtio 1.2, 4.1.4.3), placed at PCI_COMMON_CFG_OFFSET of BAR0."""

    DEVICE_FEATURE_SELECT = Field(0x00, 4)
    DEVICE_FEATURE = Field(0x04, 4)
    DRIVER_FEATURE_SELECT = Field(0x08, 4)
    DRIVER_FEATURE = Field(0x0C, 4)
    CONFIG_MSIX_VECTOR = Field(0x10, 2)
    NUM_QUEUES = Field(0x12, 2)
    DEVICE_STATUS = Field(0x14, 1)
    CONFIG_GENERATION = Field(0x15, 1)
    QUEUE_SELECT = Field(0x16, 2)
    QUEUE_SIZE = Field(0x18, 2)
    QUEUE_MSIX_VECTOR = Field(0x1A, 2)
    QUEUE_ENABLE = Field(0x1C, 2)
    QUEUE_NOTIFY_OFF = Field(0x1E, 2)
    QUEUE_DESC = Field(0x20, 8)
    QUEUE_DRIVER = Field(0x28, 8)
    QUEUE_DEVICE = Field(0x30, 8)
    SIZE = 0x38


PCI_COMMON_CFG_OFFSET = 0x0000
PCI_VENDOR_ID_VIRTIO = 0x1AF4
PCI_DEVICE_ID_MODERN_BASE = 0x1040            # modern virtio-pci device ID = 0x1040 + virtio device ID
VIRTIO_MSI_NO_VECTOR = 0xFFFF
PCI_DEVICE_CFG_OFFSET = 0x0100
PCI_NOTIFY_OFF_MULTIPLIER = DB_SLOT_STRIDE    # queue q notifies doorbell slot queue_notify_off

# Workaround of Marvell's OCTEON virtio firmware: after a select or status write the driver
# sets an acknowledge word and polls it until the firmware clears it (OCTEON polls in
# 10 us steps; the bench uses PCI_ACK_POLL_NS).
PCI_ACK = Field(0x0040, 4)
PCI_ACK_POLL_NS = 1000


# --------------------------------------------------------------------------
# Transport 2: resource table (remoteproc/rpmsg style), in BAR0
# --------------------------------------------------------------------------

RSC_MAGIC = 0x5253_4331             # "RSC1"
RSC_VERSION = 1


class RscTable:
    """Device-written resource table at offset 0 of BAR0; the driver reads it once."""

    MAGIC = Field(0x00, 4)
    VERSION = Field(0x04, 4)
    DEVICE_ID = Field(0x08, 4)
    NUM_VRINGS = Field(0x0C, 4)
    DEVICE_FEATURES = Field(0x10, 16)     # 128 bits, little endian
    CONFIG_OFFSET = Field(0x20, 4)        # BAR0 offset of the device config
    CONFIG_LEN = Field(0x24, 4)
    VRINGS = 0x40                         # first vring entry (RscVring), RSC_VRING_STRIDE apart
    CONFIG = 0x100                        # device config
    SIZE = 0x200


class RscVring:
    """One vring entry of the resource table: rings at device-chosen BAR0 offsets."""

    DESC = Field(0x00, 4)
    DRIVER = Field(0x04, 4)               # avail ring
    DEVICE = Field(0x08, 4)               # used ring
    NUM = Field(0x0C, 4)
    NOTIFY_SLOT = Field(0x10, 4)
    MSI_VECTOR = Field(0x14, 4)


RSC_VRING_STRIDE = 0x20


class RscDriver:
    """Driver-written words of the resource-table transport, written once per setup."""

    BASE = 0x0800
    DRIVER_FEATURES = Field(0x0800, 16)
    STATUS = Field(0x0810, 4)


RSC_RING_AREA = 0x4000              # vrings are placed from here, RSC_RING_STRIDE apart
RSC_RING_STRIDE = 0x2000


# --------------------------------------------------------------------------
# Transport 3: asynchronous one-writer-per-word transport (docs/transport.md)
# --------------------------------------------------------------------------

ASYNC_MAGIC = 0x7641_5359           # "vASY"
ASYNC_VERSION = 1
ASYNC_MAX_QUEUES = 16
ASYNC_MAILBOX_DATA = 0x1F8          # bytes of mailbox payload each way
SEQ_MASK = 0xFFFF                   # sequence numbers are 16-bit, compared modulo 2**16


class AsyncDevicePage:
    """Written only by the device, read by the driver. BAR0 offset 0x0000, 4 KiB."""

    BASE = 0x0000
    MAGIC = Field(0x000, 4)               # ASYNC_MAGIC once the page is complete; written last
    VERSION = Field(0x004, 4)             # ASYNC_VERSION
    DEVICE_ID = Field(0x008, 4)           # virtio device ID (VirtioDeviceId)
    VENDOR_ID = Field(0x00C, 4)           # vendor of the device
    NUM_QUEUES = Field(0x010, 2)          # queues the device offers
    MAX_QUEUE_SIZE = Field(0x012, 2)      # largest queue size accepted
    MAILBOX_SIZE = Field(0x014, 4)        # mailbox payload bytes, each way
    QUEUE_MODES = Field(0x018, 4)         # bitmap of supported QueueMode values
    DEVICE_FEATURES = Field(0x020, 16)    # 128 offered feature bits, no select window
    ACK = Field(0x030, 4)                 # seq[15:0] | accepted status[23:16] | AsyncResult[31:24]
    DEVICE_STATE = Field(0x034, 4)        # flags[7:0] | AsyncReason[15:8] | event seq[31:16]
    CONFIG_LEN = Field(0x038, 4)          # bytes of DEVICE_CONFIG in use
    QUEUE_STATE = Field(0x040, 4)         # queue q at +4q: enabled[0] | AsyncQueueError[15:8]
    CONFIG_GENERATION = Field(0x0FC, 4)   # seqlock: odd while the device rewrites the config
    DEVICE_CONFIG = Field(0x100, 0x100)   # the device class's config structure
    MBOX_RESP_HDR = Field(0x200, 4)       # seq[15:0] | MboxStatus[31:16]
    MBOX_RESP_LEN = Field(0x204, 4)       # response bytes in MBOX_RESP_DATA
    MBOX_RESP_DATA = Field(0x208, ASYNC_MAILBOX_DATA)   # response payload
    HEADER_SIZE = 0x080                   # MAGIC..QUEUE_STATE[15]: what discovery reads at once
    SIZE = 0x1000                         # one 4 KiB page


ASYNC_QUEUE_STATE_STRIDE = 4


class AsyncDriverPage:
    """Written only by the driver, read by the device. BAR0 offset 0x1000, 4 KiB."""

    BASE = 0x1000
    DRIVER_FEATURES = Field(0x1000, 16)   # 128 accepted feature bits, read on a new FEATURES_OK
    DRIVER_STATUS = Field(0x1010, 4)      # seq[15:0] | virtio status[23:16] | DriverFlag[31:24]
    QUEUE_TABLE = 0x1100                  # per queue AsyncQueueEntry, ASYNC_QUEUE_ENTRY_STRIDE apart
    MBOX_REQ_HDR = Field(0x1400, 4)       # seq[15:0] | MboxOp[31:16]
    MBOX_REQ_LEN = Field(0x1404, 4)       # request bytes in MBOX_REQ_DATA
    MBOX_REQ_DATA = Field(0x1408, ASYNC_MAILBOX_DATA)   # request payload
    SIZE = 0x1000


class AsyncQueueEntry:
    """One queue of the driver page's queue table."""

    DESC = Field(0x00, 8)                 # descriptor area (split/packed) in host memory
    DRIVER = Field(0x08, 8)               # driver area (avail ring / driver event suppression)
    DEVICE = Field(0x10, 8)               # device area (used ring / device event suppression)
    SIZE = Field(0x18, 2)                 # entries (power of two for split)
    MSI_VECTOR = Field(0x1A, 2)           # MSI vector for this queue's used-buffer notifications
    CONTROL = Field(0x1C, 4)              # QueueMode[7:0] | enable[8]: written last


ASYNC_QUEUE_ENTRY_STRIDE = 0x20
ASYNC_QUEUE_TABLE_SIZE = ASYNC_QUEUE_ENTRY_STRIDE * ASYNC_MAX_QUEUES


class DriverFlag(enum.IntFlag):
    """DRIVER_STATUS[31:24]: what else this change carries."""

    MAILBOX = 1 << 0                # a new mailbox request with this change's seq
ASYNC_QUEUE_ENABLE = 1 << 8
ASYNC_DOORBELL_CONFIG = 0           # doorbell slot 0: config change, value = seq
ASYNC_DOORBELL_QUEUE0 = 1           # doorbell slot 1 + q: queue q, value = ring index
ASYNC_MSI_CONFIG = 0                # MSI vector 0: acknowledgement / device event
ASYNC_MSI_QUEUE0 = 1                # MSI vector 1 + q (default; the queue table may choose)


class AsyncResult(enum.IntEnum):
    """Result code in the ACK word."""

    OK = 0
    FEATURES_REFUSED = 1            # FEATURES_OK not granted: features not offered or VERSION_1 missing
    QUEUE_INVALID = 2               # a queue could not be enabled: see its QUEUE_STATE error
    BAD_STATE = 3                   # status transition not allowed (e.g. DRIVER_OK before FEATURES_OK)
    NEEDS_RESET = 4                 # the device needs a reset: only status 0 is accepted


class AsyncQueueError(enum.IntEnum):
    """Error code in QUEUE_STATE[15:8]."""

    NONE = 0
    BAD_SIZE = 1                    # zero, not a power of two (split/packed), or above MAX_QUEUE_SIZE
    BAD_MODE = 2                    # mode not offered in QUEUE_MODES, or packed without RING_PACKED
    BAD_ADDRESS = 3                 # an area address is zero or misaligned
    NO_SUCH_QUEUE = 4


ASYNC_QUEUE_STATE_ENABLED = 1 << 0


class AsyncReason(enum.IntEnum):
    """Reason code in DEVICE_STATE[15:8] when DEVICE_NEEDS_RESET is set."""

    NONE = 0
    INTERNAL_ERROR = 1
    BAD_RING = 2                    # the driver corrupted a ring (data-path issue)
    FIRMWARE_RESTART = 3
    BACKEND_FAILURE = 4


ASYNC_STATE_NEEDS_RESET = 1 << 0


class MboxOp(enum.IntEnum):
    NOP = 0
    ECHO = 1                        # response data = request data
    SET_CONFIG = 2                  # data: u16 offset, u16 length, bytes: writable config fields


class MboxStatus(enum.IntEnum):
    OK = 0
    UNSUPPORTED = 1
    BAD_LENGTH = 2
    DENIED = 3                      # SET_CONFIG of a read-only field


def pack_seq_word(seq: int, status: int, result: int = 0) -> int:
    """ACK / DRIVER_STATUS word: seq[15:0] | status[23:16] | result[31:24]."""
    return (seq & SEQ_MASK) | (status & 0xFF) << 16 | (result & 0xFF) << 24


def unpack_seq_word(word: int) -> tuple[int, int, int]:
    return word & SEQ_MASK, (word >> 16) & 0xFF, (word >> 24) & 0xFF


def pack_mbox_word(seq: int, code: int) -> int:
    """Mailbox header word: seq[15:0] | op or status[31:16]."""
    return (seq & SEQ_MASK) | (code & 0xFFFF) << 16


def unpack_mbox_word(word: int) -> tuple[int, int]:
    return word & SEQ_MASK, (word >> 16) & 0xFFFF


def seq_after(a: int, b: int) -> bool:
    """a is newer than or equal to b, modulo 2**16 (serial number arithmetic)."""
    return ((a - b) & SEQ_MASK) < 0x8000


# --------------------------------------------------------------------------
# Transports 4 and 5: what others shipped, built for comparison (docs/results.md).
# Both carry the same virtio operations (CmdOp) to the same device model.
# --------------------------------------------------------------------------


class CmdOp(enum.IntEnum):
    """Operations of the command-based transports (mailbox and message)."""

    GET_INFO = 1                    # -> device id, queues, max queue size, config length (CmdInfo)
    GET_FEATURES = 2                # -> 128-bit device features
    SET_FEATURES = 3                # 128-bit driver features -> OK or REFUSED
    SET_STATUS = 4                  # u32 device status -> OK, INVALID (bad transition)
    SET_QUEUE = 5                   # CmdQueue -> u32 doorbell slot; INVALID for a bad queue
    GET_CONFIG = 6                  # u32 offset, u32 length -> bytes (at most CMD_DATA_MAX)
    RESET = 7                       # -> OK (device status 0, queues gone)
    KICK = 8                        # u32 queue: the device has taken the queue's new buffers -> OK


class CmdResult(enum.IntEnum):
    OK = 0
    UNSUPPORTED = 1                 # unknown op
    REFUSED = 2                     # features the device does not accept
    INVALID = 3                     # bad argument or state
    BUSY = 0xFF                     # mailbox: written by the driver, replaced by the device's result


class CmdInfo:
    """GET_INFO result."""

    DEVICE_ID = Field(0x00, 4)
    NUM_QUEUES = Field(0x04, 4)
    MAX_QUEUE_SIZE = Field(0x08, 4)
    CONFIG_LEN = Field(0x0C, 4)
    SIZE = 0x10


class CmdQueue:
    """SET_QUEUE argument: a driver-allocated ring (split or packed) and its vector."""

    INDEX = Field(0x00, 2)
    SIZE = Field(0x02, 2)
    MODE = Field(0x04, 1)           # QueueMode (SPLIT or PACKED: these transports have no device ring)
    MSI_VECTOR = Field(0x05, 1)
    DESC = Field(0x08, 8)
    DRIVER = Field(0x10, 8)
    DEVICE = Field(0x18, 8)
    SIZE_BYTES = 0x20


CMD_DATA_MAX = 48                   # argument / result bytes per command or message
CMD_DOORBELL = 0                    # doorbell slot of a command (queue q notifies slot 1 + q)

# Mailbox (the endpoint vhost series): one command at a time in BAR0; the driver writes
# the op and arguments, sets STATUS to BUSY, rings CMD_DOORBELL and polls STATUS until the
# device has written its result there. Every state change is a round trip the host polls.
MBOX_MAGIC = 0x4D42_5831            # "1XBM": mailbox transport present
MBOX_POLL_NS = 1000                 # the driver's status polling period (as PCI_ACK_POLL_NS)


class MboxPage:
    MAGIC = Field(0x00, 4)          # device-written
    OPCODE = Field(0x10, 4)         # driver-written
    ARGS = Field(0x20, CMD_DATA_MAX)        # driver-written
    STATUS = Field(0x60, 4)         # driver writes BUSY, device writes the CmdResult (two writers)
    RESULT = Field(0x80, CMD_DATA_MAX)      # device-written, valid once STATUS is not BUSY
    SIZE = 0x100


# Message transport in the style of virtio-msg (virtio TC proposal): request/response
# messages matched by a token through a driver-to-device and a device-to-driver FIFO in
# BAR0; the driver rings CMD_DOORBELL after queueing a request, the device sends MSI
# MSG_MSI after queueing responses. Each index word has one writer.
MSG_MAGIC = 0x564D_5347             # "GSMV"
MSG_FIFO_ENTRIES = 16
MSG_MSI = 0


class MsgArea:
    MAGIC = Field(0x000, 4)         # device-written
    REQ_HEAD = Field(0x040, 4)      # driver-written: requests queued (free-running count)
    REQ_TAIL = Field(0x080, 4)      # device-written: requests taken
    RSP_HEAD = Field(0x0C0, 4)      # device-written: responses queued
    RSP_TAIL = Field(0x100, 4)      # driver-written: responses taken
    REQ_FIFO = 0x400                # MSG_FIFO_ENTRIES messages of MsgHeader.SIZE bytes
    RSP_FIFO = 0x800


class MsgHeader:
    """One message: header, then CMD_DATA_MAX bytes of payload."""

    TYPE = Field(0x00, 1)           # CmdOp
    FLAGS = Field(0x01, 1)          # MSG_FLAG_RESPONSE on responses
    TOKEN = Field(0x02, 2)          # chosen by the driver, echoed in the response
    LENGTH = Field(0x04, 2)         # payload bytes
    RESULT = Field(0x06, 1)         # CmdResult (responses)
    PAYLOAD = Field(0x10, CMD_DATA_MAX)
    SIZE = 0x40


MSG_FLAG_RESPONSE = 1 << 0


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
    ADDRESS_LO = 0x04               # message address, low dword
    ADDRESS_HI = 0x08               # message address, high dword
    DATA = 0x0C                     # message data
    MASK = 0x10                     # per-vector mask bits
    PENDING = 0x14                  # per-vector pending bits


MSI_CONTROL_ENABLE = 1 << 0


class PciHeader(enum.IntEnum):
    """Type 0 configuration header offsets the tests use (PCI Local Bus 3.0, 6.1)."""

    ID = 0x00                       # vendor ID (15:0), device ID (31:16): read-only
    COMMAND = 0x04                  # command register (16 bits)
    CLASS_REV = 0x08                # revision ID (7:0), class code (31:8): read-only
    CACHE_LINE = 0x0C               # cache line size (7:0): read-write


PCI_HEADER_DWORDS = 16              # the type 0/1 header a host saves and restores around a reset
PCI_BRIDGE_CONTROL = 0x3E           # type 1 (bridge, root port) header: bridge control (16 bits)
PCI_BRIDGE_CTL_BUS_RESET = 1 << 6   # secondary bus reset: a hot reset of everything below the port
PCI_COMMAND_MEMORY = 1 << 1         # memory space enable
PCI_COMMAND_MASTER = 1 << 2         # bus master enable


class PcieCap(enum.IntEnum):
    """Offsets in the PCI Express capability (PCIe Base 4.0, 7.5.3)."""

    DEVICE_CONTROL = 0x08           # 16-bit device control


PCIE_DEVCTL_INITIATE_FLR = 1 << 15  # write 1: function-level reset


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
    for m in DmaResult:
        items.append((f"DMA_RESULT_{m.name}", int(m), 8, "DMA descriptor status"))
    for m in (DmaEngineStatus.BUSY, DmaEngineStatus.DESC_FULL, DmaEngineStatus.DONE_FULL):
        items.append((f"DMA_STATUS_{m.name}_BIT", int(m).bit_length() - 1, 32, "bit in DMA STATUS"))
    items.append(("DMA_DONE_VALID_BIT", int(DmaDone.VALID).bit_length() - 1, 32, "bit in DMA DONE_HEAD"))
    items.append(("DMA_MAX_LENGTH", DMA_MAX_LENGTH, 32, "largest DMA descriptor"))
    for group, enum_cls in (("CSR", Csr), ("DB", DbReg), ("MSI", MsiReg), ("DMA", DmaReg)):
        for m in enum_cls:
            items.append((f"{group}_{m.name}", int(m), 12, f"offset in Region.{group}"))
    for m in IntSource:
        items.append((f"INT_{m.name}_BIT", int(m).bit_length() - 1, 32, "bit in INT_STATUS"))
    for m in FlrBit:
        items.append((f"FLR_{m.name}", int(m), 32, "bit mask in CSR FLR"))
    for m in ResetEventBit:
        items.append((f"RESET_EVENT_{m.name}", int(m), 32, "bit mask in CSR RESET_EVENT"))
    for m in (DbFifoStatus.EMPTY, DbFifoStatus.FULL, DbFifoStatus.OVERFLOW):
        items.append((f"DB_FIFO_STATUS_{m.name}_BIT", int(m).bit_length() - 1, 32, "bit in FIFO_STATUS"))
    items.append(("DB_WATCH_WINDOWS", DB_WATCH_WINDOWS, 32, "write-watch windows"))
    items.append(("DB_WATCH_STRIDE", DB_WATCH_STRIDE, 12, "bytes between watch windows' registers"))
    for m in DbWatch:
        items.append((f"DB_WATCH_{m.name}", int(m), 12, "offset inside a watch window's registers"))
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


def main(argv: list[str]) -> int:
    if argv[1:] == ["--verilog"]:
        sys.stdout.write(verilog_header())
        return 0
    sys.stderr.write("usage: python -m virtio_ep.layout --verilog (documents: python -m virtio_ep.docgen)\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
