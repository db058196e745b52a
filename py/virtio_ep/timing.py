"""Analytic timing model (started): named latencies of the RTL's pipeline stages, and the
fixed-latency paths they add up to. tb/tb_timing.py measures the same paths in simulation
and requires equality. End-to-end request latency and throughput per transport and mode
are the next step (the ring-processor and timing-model issue).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import USER_CLK_HZ

CLK_NS = 1e9 / USER_CLK_HZ


@dataclass(frozen=True)
class RtlStages:
    """Register stages on each path, in user_clk cycles (read off the RTL)."""

    cq_decode: int = 1          # CQ beat accepted -> registered decoder outputs (ep_cq_rx)
    doorbell_latch: int = 1     # decoder's doorbell -> pending bit (ep_doorbell)
    irq_register: int = 1       # pending bit -> irq output (ep_csr)
    msi_pending: int = 1        # MSI REQUEST write on the local bus -> pending bit (ep_msi)
    msi_pulse: int = 1          # pending bit -> cfg_interrupt_msi_int (ep_msi)
    dma_queue: int = 1          # SUBMIT write -> descriptor at the queue's head (ep_fifo)
    dma_start: int = 1          # queue head -> engine issuing (ep_dma, IDLE state)
    dma_ram_stage: int = 1      # issue -> buffer-RAM read stage (ep_dma s1)
    dma_out_fifo: int = 1       # read stage -> RQ output FIFO head, tvalid (ep_fifo)


def doorbell_to_irq(s: RtlStages = RtlStages()) -> int:
    """Cycles from a doorbell TLP's last CQ beat to irq."""
    return s.cq_decode + s.doorbell_latch + s.irq_register


def msi_request_to_int(s: RtlStages = RtlStages()) -> int:
    """Cycles from the MSI REQUEST write's AXI handshake to cfg_interrupt_msi_int."""
    return s.msi_pending + s.msi_pulse


def dma_submit_to_rq(s: RtlStages = RtlStages()) -> int:
    """Cycles from the SUBMIT write's AXI handshake to the first RQ beat (tvalid)."""
    return s.dma_queue + s.dma_start + s.dma_ram_stage + s.dma_out_fifo
