"""The endpoint's register map: identity, PCIe user interface, BARs, the local bus (CSR,
doorbell, MSI, DMA registers), and the PCIe encodings the RTL uses. The only input of the
generated hdl/ep_regs.vh (layout.verilog)."""

from __future__ import annotations

import enum

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

AXIL_ADDR_WIDTH = 22
AXIL_DATA_WIDTH = 32
REGION_SIZE = 0x1000                # each register block decodes 4 KiB


class Region(enum.IntEnum):
    """Base addresses of the local-bus regions."""

    CSR = 0x0_0000
    DOORBELL = 0x0_1000
    MSI = 0x0_2000
    DMA = 0x0_3000
    SRAM_WINDOW = 0x2_0000          # BAR0 SRAM, up to 128 KiB
    DMA_BUF = 0x20_0000             # device memory (the DMA buffer RAM): the upper half, up to 2 MiB


SRAM_WINDOW_SIZE = 0x2_0000
DMA_BUF_WINDOW_SIZE = (1 << AXIL_ADDR_WIDTH) - Region.DMA_BUF


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
    MODERATE_SELECT = 0x01C         # vector whose moderation MODERATE reads and writes
    MODERATE = 0x020                # MsiModerate fields of the selected vector (0 after reset: off)
    REQUESTS = 0x024                # MSI requests accepted (SENT / REQUESTS: MSIs per request)


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

    QUEUED_MASK = 0xFFFF            # descriptors waiting (both queues)
    BUSY = 1 << 16                  # a descriptor is being processed
    READ_FULL = 1 << 17             # the read queue is full: a read SUBMIT would be refused
                                    # (counted in CNT_ERRORS, nothing queued)
    DONE_FULL = 1 << 18             # the done FIFO is full: the engine waits
    WRITE_FULL = 1 << 19            # the write queue is full: a write SUBMIT would be refused

    @classmethod
    def full(cls, direction: "DmaDir") -> "DmaEngineStatus":
        """The bit saying a SUBMIT in `direction` would be refused (a queue per direction)."""
        return cls.WRITE_FULL if direction == DmaDir.WRITE else cls.READ_FULL


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


class MsiModerate(enum.IntFlag):
    """Fields of MsiReg.MODERATE, per vector, as NICs throttle interrupts: with TIME 0 every
    request is sent at once; otherwise requests are held and one MSI is sent TIME cycles
    after the first one held, or as soon as COUNT are held (COUNT 0: no count limit). A
    held request is never stranded: setting TIME to 0 sends what is held."""

    COUNT_MASK = 0xFF               # requests that send the MSI early (0: the timer only)
    TIME_SHIFT = 16
    TIME_MASK = 0xFFFF << 16        # user_clk cycles from the first held request to the MSI


# The firmware moves host memory through the DMA buffer RAM in transfers of at most this
# many bytes (one descriptor each; the scratch area at the start of the buffer RAM).
DMA_CHUNK = 0x4000
# Above the scratch area, one page where the async transport stages the words it mirrors
# into host memory (firmware/mirror.py; each word at its device-page offset), then device
# memory: payloads the device holds (frames waiting for an RX buffer) are DMA'd in and out
# of it and never cross the local bus (firmware/device_memory.py).
MIRROR_STAGE = DMA_CHUNK + 0x40
MIRROR_STAGE_SIZE = 0x1000
DEVICE_POOL_BASE = MIRROR_STAGE + MIRROR_STAGE_SIZE


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
PCIE_DEVCTL_MAX_READ_REQ_SHIFT = 12  # bits 14:12: Max_Read_Request_Size, 128 << code bytes
PCIE_DEVCTL_MAX_READ_REQ_MASK = 0x7 << PCIE_DEVCTL_MAX_READ_REQ_SHIFT


class NpKind(enum.IntEnum):
    """How the completer answers a queued non-posted request (internal RTL encoding)."""

    SRAM = 0                        # data from BAR0 SRAM
    ZERO = 1                        # data reads as zero (BAR2 doorbells are write-only)
    UR = 2                          # Unsupported Request completion, no data
