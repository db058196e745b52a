/*
 * DMA write engine (buffer RAM -> host memory) for the UltraScale+ requester interface.
 *
 * One descriptor at a time (the read engine works beside it): write TLPs split at max
 * payload boundaries (never across 4 KiB), issued back to back, one beat per cycle, the
 * data read from the buffer RAM in the cycle a beat is issued (on the RAM's port B, which
 * its other user, the local CPU, may take for a cycle: ram_busy). The descriptor completes
 * only when the core has reported the sequence number of its last TLP as sent, so an MSI
 * requested afterwards cannot pass it; if that report never comes (bus mastering turned
 * off, a lost TLP) it fails after a timeout.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma_wr #
(
    // Buffer RAM size in bytes
    parameter BUF_SIZE = 65536,
    // Cycles to wait for the core to report the last TLP sent
    parameter TIMEOUT_CYCLES = 16384,
    // Buffer byte address width (derived)
    parameter BUF_AW = $clog2(BUF_SIZE),
    // Buffer bank row width (derived)
    parameter ROW_WIDTH = BUF_AW - 5
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Descriptor: start (while ready) with the transfer; done with its tag and result until done_ack
     */
    output wire                      ready,
    input  wire                      start,
    input  wire [63:0]               start_host,
    input  wire [BUF_AW:0]           start_buf,
    input  wire [16:0]               start_length,
    input  wire [15:0]               start_tag,
    output wire                      done,
    output wire [15:0]               done_tag,
    output wire [7:0]                result,
    input  wire                      done_ack,

    /*
     * Configuration
     */
    input  wire [1:0]                cfg_max_payload,
    input  wire                      bus_master_enable,

    /*
     * Beats to the TLP output stage
     */
    input  wire                      tx_room,
    output wire                      tx_issue,
    output wire                      tx_busy,           // a TLP's later beats are to follow
    output wire                      tx_first,
    output wire [2:0]                tx_rot,
    output wire [7:0]                tx_keep,
    output wire                      tx_last,
    output wire [127:0]              tx_header,
    output wire [3:0]                tx_first_be,
    output wire [3:0]                tx_last_be,

    /*
     * Sequence numbers: the next TLP's, and the core's report of TLPs sent
     */
    input  wire [5:0]                seq,
    input  wire [5:0]                pcie_rq_seq_num0,
    input  wire                      pcie_rq_seq_num_vld0,

    /*
     * Buffer RAM reads (ram_busy: the port is taken this cycle)
     */
    input  wire                      ram_busy,
    output wire [7:0]                ram_rd_en,
    output wire [8*ROW_WIDTH-1:0]    ram_rd_row,

    /*
     * Statistics: a write TLP issued, with its payload dwords
     */
    output wire                      stat_tlp,
    output wire [10:0]               stat_tlp_dw
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DW_AW = BUF_AW - 2;
localparam TW = $clog2(TIMEOUT_CYCLES + 1);

localparam [1:0]
    STATE_IDLE = 2'd0,
    STATE_ISSUE = 2'd1,
    STATE_DRAIN = 2'd2,
    STATE_DONE = 2'd3;

reg [1:0] state_reg = STATE_IDLE;
reg [63:0] host_reg = 64'd0;                       // next host byte address
reg [BUF_AW:0] buf_reg = {BUF_AW+1{1'b0}};         // next buffer byte address
reg [16:0] rem_reg = 17'd0;                        // bytes not yet sent
reg [7:0] result_reg = 8'd0;
reg [15:0] tag_reg = 16'd0;
reg [5:0] last_seq_reg = 6'd0;                     // sequence number of the latest TLP
reg [TW-1:0] drain_timer_reg = {TW{1'b0}};

// the max payload size, registered (it changes only while the link is configured)
wire [12:0] mps_bytes_reg, mps_mask_reg;

ep_size_code #(
    .CODE_W(2)
)
mps_inst (
    .clk(clk),
    .code(cfg_max_payload),
    .bytes(mps_bytes_reg),
    .mask(mps_mask_reg)
);

wire [12:0] chunk;
wire [10:0] chunk_dw;

ep_dma_chunk chunk_inst (
    .addr(host_reg[11:0]),
    .remaining(rem_reg),
    .boundary(mps_bytes_reg),
    .boundary_mask(mps_mask_reg),
    .bytes(chunk),
    .last(),
    .dwords(chunk_dw),
    .first_be(tx_first_be),
    .last_be(tx_last_be)
);

// the TLP in progress
reg in_tlp_reg = 1'b0;                             // a TLP's later beats are being issued
reg [10:0] dw_left_reg = 11'd0;
reg [DW_AW-1:0] base_reg = {DW_AW{1'b0}};          // buffer dword carried by lane 0 of the beat
reg [12:0] tlp_bytes_reg = 13'd0;

assign tx_issue = state_reg == STATE_ISSUE && tx_room && !ram_busy &&
    (in_tlp_reg || (rem_reg != 0 && bus_master_enable));

// the first beat carries the 4-dword descriptor and 4 data dwords, the others 8
assign tx_first = !in_tlp_reg;
wire [10:0] dw_now = tx_first ? chunk_dw : dw_left_reg;
wire [10:0] capacity = tx_first ? 11'd4 : 11'd8;
assign tx_last = dw_now <= capacity;
wire [3:0] beat_dw = tx_last ? dw_now[3:0] : capacity[3:0];
wire [3:0] lanes = beat_dw + (tx_first ? 4'd4 : 4'd0);
assign tx_keep = ~(8'hff << lanes);
wire [DW_AW-1:0] beat_base = tx_first ? (buf_reg[BUF_AW-1:2] - {{(DW_AW-3){1'b0}}, 3'd4}) : base_reg;
assign tx_rot = beat_base[2:0];

// RQ descriptor: address, dword count, memory write, requester ID 0 (the core fills the
// bus), tag 0, completer ID 0, requester ID enable 0, TC 0, attributes 0
assign tx_header = {1'b0, 3'd0, 3'd0, 1'b0, 16'd0, 8'd0, 16'd0, 1'b0, REQ_MEM_WRITE, chunk_dw, host_reg[63:2], 2'b00};

assign ram_rd_en = tx_issue ? 8'hff : 8'h00;

ep_bank_rows #(
    .DW_AW(DW_AW)
)
rows_inst (
    .base(beat_base),
    .rows(ram_rd_row)
);

assign stat_tlp = tx_issue && tx_first;
assign stat_tlp_dw = chunk_dw;

assign ready = state_reg == STATE_IDLE;
assign done = state_reg == STATE_DONE;
assign done_tag = tag_reg;
assign result = result_reg;
assign tx_busy = in_tlp_reg;

wire [12:0] sent_bytes = tx_first ? chunk : tlp_bytes_reg;
// the bytes sent as a length (17 bits) and as a buffer offset (BUF_AW + 1 bits)
localparam SENT_W = (BUF_AW + 1 > 17) ? BUF_AW + 1 : 17;
wire [SENT_W-1:0] sent_w = {{(SENT_W-13){1'b0}}, sent_bytes};
wire [16:0] sent17 = sent_w[16:0];

always @(posedge clk) begin
    case (state_reg)
        STATE_IDLE: begin
            if (start) begin
                host_reg <= start_host;
                buf_reg <= start_buf;
                rem_reg <= start_length;
                tag_reg <= start_tag;
                result_reg <= DMA_RESULT_OK;
                state_reg <= STATE_ISSUE;
            end
        end
        STATE_ISSUE: begin
            if (!bus_master_enable && !in_tlp_reg) begin
                result_reg <= DMA_RESULT_NO_BUS_MASTER;
                state_reg <= STATE_DONE;
            end else if (tx_issue) begin
                base_reg <= beat_base + {{(DW_AW-4){1'b0}}, 4'd8};
                dw_left_reg <= dw_now - {7'd0, beat_dw};
                if (tx_first) begin
                    last_seq_reg <= seq;
                    tlp_bytes_reg <= chunk;
                end
                in_tlp_reg <= !tx_last;
                if (tx_last) begin
                    // the TLP's data is issued: on to the next one (no idle beat)
                    host_reg <= host_reg + {47'd0, sent17};
                    buf_reg <= buf_reg + sent_w[BUF_AW:0];
                    rem_reg <= rem_reg - sent17;
                    if (rem_reg == sent17) begin
                        state_reg <= STATE_DRAIN;
                        drain_timer_reg <= {TW{1'b0}};
                    end
                end
            end
        end
        STATE_DRAIN: begin
            // done once the core reports the last TLP's sequence number as sent
            drain_timer_reg <= drain_timer_reg + 1'b1;
            if (pcie_rq_seq_num_vld0 && pcie_rq_seq_num0 == last_seq_reg) begin
                state_reg <= STATE_DONE;
            end else if (drain_timer_reg == TIMEOUT_CYCLES[TW-1:0]) begin
                // the core dropped the TLP (bus mastering turned off) or lost it
                result_reg <= bus_master_enable ? DMA_RESULT_TIMEOUT : DMA_RESULT_NO_BUS_MASTER;
                state_reg <= STATE_DONE;
            end
        end
        default: begin
            if (done_ack) begin
                state_reg <= STATE_IDLE;
            end
        end
    endcase

    if (rst) begin
        state_reg <= STATE_IDLE;
        in_tlp_reg <= 1'b0;
    end
end

endmodule

`resetall
