/*
 * Control and status registers of the local bus: identity, build parameters,
 * interrupt status/enable (the one irq line to the CPU), TLP counters, the
 * function-level reset handshake with the core, and the reset event: the local CPU
 * is not reset with this logic, so a reset leaves a flag (and an interrupt enabled
 * at reset) that tells the firmware to set the endpoint up again.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_csr #
(
    // Build parameters, readable by firmware
    parameter BAR0_SRAM_SIZE = 65536,
    parameter DB_SLOTS = 64,
    parameter DB_FIFO_DEPTH = 16,
    parameter MSI_VECTORS = 32,
    parameter NP_FIFO_DEPTH = 16,
    parameter DMA_BUF_SIZE = 65536,
    parameter DMA_TAGS = 16
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Register bus (region-local offset, read data one cycle after rb_rd)
     */
    input  wire                      rb_sel,
    input  wire                      rb_wr,
    input  wire                      rb_rd,
    input  wire [11:0]               rb_offset,
    input  wire [31:0]               rb_wdata,
    output wire [31:0]               rb_rdata,

    /*
     * Interrupt sources (levels) and the CPU interrupt
     */
    input  wire                      src_db_pending,
    input  wire                      src_db_fifo,
    input  wire                      src_db_overflow,
    input  wire                      src_msi_fail,
    input  wire                      src_dma_done,
    output wire                      irq,
    /*
     * Function-level reset handshake with the core (PF0)
     */
    input  wire                      flr_in_process,
    output wire                      flr_done,

    /*
     * TLP statistics (pulses)
     */
    input  wire                      stat_cq_mem_rd,
    input  wire                      stat_cq_mem_wr,
    input  wire                      stat_cq_posted_drop,
    input  wire                      stat_cq_np_ur,
    input  wire                      stat_cc_cpl,
    input  wire [10:0]               stat_cc_cpl_dw
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

reg [31:0] int_enable_reg = INT_ENABLE_RESET;
reg irq_reg = 1'b0;
reg [31:0] cnt_mem_rd_reg = 32'd0;
reg [31:0] cnt_mem_wr_reg = 32'd0;
reg [31:0] cnt_posted_drop_reg = 32'd0;
reg [31:0] cnt_np_ur_reg = 32'd0;
reg [31:0] cnt_cpl_reg = 32'd0;
reg [31:0] cnt_cpl_dw_reg = 32'd0;
reg [31:0] rdata_reg = 32'd0;
// FLR: DONE written by the firmware pulses flr_done once; flr_acked holds until the core
// ends the FLR, so the interrupt source (in process, not acknowledged) drops at once.
reg flr_done_reg = 1'b0;
reg flr_acked_reg = 1'b0;
wire src_flr = flr_in_process && !flr_acked_reg;
// set by every reset (power-on, hot reset, link down), cleared by the firmware
reg reset_event_reg = 1'b1;

wire [31:0] int_status = ({31'd0, src_db_pending} << INT_DB_PENDING_BIT) |
    ({31'd0, src_db_fifo} << INT_DB_FIFO_BIT) |
    ({31'd0, src_db_overflow} << INT_DB_OVERFLOW_BIT) |
    ({31'd0, src_msi_fail} << INT_MSI_FAIL_BIT) |
    ({31'd0, src_dma_done} << INT_DMA_DONE_BIT) |
    ({31'd0, src_flr} << INT_FLR_BIT) |
    ({31'd0, reset_event_reg} << INT_RESET_BIT);

assign irq = irq_reg;
assign flr_done = flr_done_reg;
assign rb_rdata = rdata_reg;

always @(posedge clk) begin
    irq_reg <= |(int_status & int_enable_reg);

    cnt_mem_rd_reg <= cnt_mem_rd_reg + {31'd0, stat_cq_mem_rd};
    cnt_mem_wr_reg <= cnt_mem_wr_reg + {31'd0, stat_cq_mem_wr};
    cnt_posted_drop_reg <= cnt_posted_drop_reg + {31'd0, stat_cq_posted_drop};
    cnt_np_ur_reg <= cnt_np_ur_reg + {31'd0, stat_cq_np_ur};
    cnt_cpl_reg <= cnt_cpl_reg + {31'd0, stat_cc_cpl};
    if (stat_cc_cpl) begin
        cnt_cpl_dw_reg <= cnt_cpl_dw_reg + {21'd0, stat_cc_cpl_dw};
    end

    if (rb_sel && rb_wr && rb_offset == CSR_INT_ENABLE) begin
        int_enable_reg <= rb_wdata;
    end
    if (rb_sel && rb_wr && rb_offset == CSR_RESET_EVENT && (rb_wdata & RESET_EVENT_PENDING) != 0) begin
        reset_event_reg <= 1'b0;
    end
    flr_done_reg <= 1'b0;
    if (!flr_in_process) begin
        flr_acked_reg <= 1'b0;
    end else if (rb_sel && rb_wr && rb_offset == CSR_FLR && (rb_wdata & FLR_DONE) != 0 && !flr_acked_reg) begin
        flr_done_reg <= 1'b1;
        flr_acked_reg <= 1'b1;
    end

    rdata_reg <= 32'd0;
    if (rb_sel && rb_rd) begin
        case (rb_offset)
            CSR_ID: rdata_reg <= EP_ID;
            CSR_VERSION: rdata_reg <= EP_VERSION;
            CSR_INT_STATUS: rdata_reg <= int_status;
            CSR_INT_ENABLE: rdata_reg <= int_enable_reg;
            CSR_BAR0_SIZE: rdata_reg <= BAR0_SRAM_SIZE;
            CSR_DB_SLOTS: rdata_reg <= DB_SLOTS;
            CSR_DB_FIFO_DEPTH: rdata_reg <= DB_FIFO_DEPTH;
            CSR_MSI_VECTORS: rdata_reg <= MSI_VECTORS;
            CSR_NP_FIFO_DEPTH: rdata_reg <= NP_FIFO_DEPTH;
            CSR_DMA_BUF_SIZE: rdata_reg <= DMA_BUF_SIZE;
            CSR_DMA_TAGS: rdata_reg <= DMA_TAGS;
            CSR_FLR: rdata_reg <= (flr_in_process ? FLR_IN_PROCESS : 32'd0) | (flr_acked_reg ? FLR_DONE : 32'd0);
            CSR_RESET_EVENT: rdata_reg <= reset_event_reg ? RESET_EVENT_PENDING : 32'd0;
            CSR_CNT_CQ_MEM_RD: rdata_reg <= cnt_mem_rd_reg;
            CSR_CNT_CQ_MEM_WR: rdata_reg <= cnt_mem_wr_reg;
            CSR_CNT_CQ_POSTED_DROP: rdata_reg <= cnt_posted_drop_reg;
            CSR_CNT_CQ_NP_UR: rdata_reg <= cnt_np_ur_reg;
            CSR_CNT_CC_CPL: rdata_reg <= cnt_cpl_reg;
            CSR_CNT_CC_DW: rdata_reg <= cnt_cpl_dw_reg;
            default: rdata_reg <= 32'd0;
        endcase
    end

    if (rst) begin
        int_enable_reg <= INT_ENABLE_RESET;
        reset_event_reg <= 1'b1;
        irq_reg <= 1'b0;
        cnt_mem_rd_reg <= 32'd0;
        cnt_mem_wr_reg <= 32'd0;
        cnt_posted_drop_reg <= 32'd0;
        cnt_np_ur_reg <= 32'd0;
        cnt_cpl_reg <= 32'd0;
        cnt_cpl_dw_reg <= 32'd0;
        rdata_reg <= 32'd0;
        flr_done_reg <= 1'b0;
        flr_acked_reg <= 1'b0;
    end
end

endmodule

`resetall
