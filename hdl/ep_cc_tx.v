/*
 * Completer: answers queued non-posted requests on the UltraScale+ CC interface
 * (256-bit, dword aligned).
 *
 * A read is split into completions that end on max-payload-aligned addresses:
 * every completion carries at most max payload bytes and every completion but the
 * last ends on a max-payload boundary, hence also on the read completion boundary
 * (64 or 128 bytes, both divide the max payload). Data streams from the SRAM one
 * beat per cycle; SRAM writes from the host have priority on the shared port, so a
 * read never back-pressures the request interface.
 *
 * cfg_max_payload is registered, and a request's first completion is sized as the request
 * is queued: the setting may change only while no read is outstanding (as the base spec
 * requires of software changing Max_Payload_Size).
 *
 * Non-posted credits are granted to the core (pcie_cq_np_req) once per queue entry
 * at reset and once more per retired request, so the queue can never overflow.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_cc_tx #
(
    // BAR0 SRAM size in bytes
    parameter SRAM_SIZE = 65536,
    // Non-posted requests queued (power of two, at most 32: the core's credit limit)
    parameter NP_FIFO_DEPTH = 16,
    // SRAM byte address width (derived)
    parameter SRAM_AW = $clog2(SRAM_SIZE),
    // SRAM bank row width (derived)
    parameter ROW_WIDTH = SRAM_AW - 5
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Non-posted requests from the decoder
     */
    input  wire [1:0]                np_kind,
    input  wire [15:0]               np_requester_id,
    input  wire [7:0]                np_tag,
    input  wire [7:0]                np_func,
    input  wire [2:0]                np_tc,
    input  wire [2:0]                np_attr,
    input  wire [SRAM_AW-3:0]        np_dw_addr,
    input  wire [11:0]               np_byte_addr,
    input  wire [12:0]               np_byte_count,
    input  wire                      np_valid,
    output wire                      np_ready,

    /*
     * Non-posted credit to the core
     */
    output wire [1:0]                pcie_cq_np_req,

    /*
     * SRAM port A reads (one cycle latency); ram_busy: the port is writing this cycle
     */
    input  wire                      ram_busy,
    output wire [7:0]                ram_rd_en,
    output wire [8*ROW_WIDTH-1:0]    ram_rd_row,
    input  wire [255:0]              ram_rd_data,

    /*
     * Completer completion interface (to the PCIe core)
     */
    output wire [255:0]              m_axis_cc_tdata,
    output wire [7:0]                m_axis_cc_tkeep,
    output wire                      m_axis_cc_tvalid,
    input  wire                      m_axis_cc_tready,
    output wire                      m_axis_cc_tlast,
    output wire [32:0]               m_axis_cc_tuser,

    /*
     * Configuration
     */
    input  wire [1:0]                cfg_max_payload,

    /*
     * Statistics
     */
    output wire                      stat_cpl,
    output wire [10:0]               stat_cpl_dw
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DW_AW = SRAM_AW - 2;
localparam REQ_WIDTH = 2 + 16 + 8 + 8 + 3 + 3 + DW_AW + 12 + 13 + 13 + 11;
localparam OUT_DEPTH = 4;

initial begin
    if (NP_FIFO_DEPTH > 32) begin
        $error("Error: NP_FIFO_DEPTH above the core's 32 credits (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------------------
// Request queue and credits
// ---------------------------------------------------------------------------

// the max payload size, registered (a decode in front of the completion arithmetic was
// over the logic depth budget, docs/synthesis.md)
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

// dwords covering `bytes` bytes that start at byte `offset` of a dword
// (the low two bits of the sum are the end offset: not needed)
/* verilator lint_off UNUSEDSIGNAL */
function [10:0] dword_span(input [1:0] offset, input [12:0] bytes);
    reg [12:0] total;
    begin
        total = {11'd0, offset} + bytes + 13'd3;
        dword_span = total[12:2];
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// a request's first completion (it ends at the first max-payload boundary), sized as the
// request enters the queue, so the queue's head needs no arithmetic before it is taken
wire [12:0] np_to_boundary = mps_bytes_reg - ({1'b0, np_byte_addr} & mps_mask_reg);
wire [12:0] np_cpl_bytes = (np_byte_count < np_to_boundary) ? np_byte_count : np_to_boundary;
wire [10:0] np_cpl_dw = (np_kind == NP_KIND_UR) ? 11'd0 : dword_span(np_byte_addr[1:0], np_cpl_bytes);

wire [REQ_WIDTH-1:0] req_in = {np_kind, np_requester_id, np_tag, np_func, np_tc, np_attr,
    np_dw_addr, np_byte_addr, np_byte_count, np_cpl_bytes, np_cpl_dw};
wire [REQ_WIDTH-1:0] req_out;
wire req_valid;
wire req_pop;

wire [1:0]        h_kind;
wire [15:0]       h_requester_id;
wire [7:0]        h_tag;
wire [7:0]        h_func;
wire [2:0]        h_tc;
wire [2:0]        h_attr;
wire [DW_AW-1:0]  h_dw_addr;
wire [11:0]       h_byte_addr;
wire [12:0]       h_byte_count;
wire [12:0]       h_cpl_bytes;
wire [10:0]       h_cpl_dw;

assign {h_kind, h_requester_id, h_tag, h_func, h_tc, h_attr, h_dw_addr, h_byte_addr, h_byte_count, h_cpl_bytes,
    h_cpl_dw} = req_out;

ep_fifo #(
    .WIDTH(REQ_WIDTH),
    .DEPTH(NP_FIFO_DEPTH)
)
req_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data(req_in),
    .in_valid(np_valid),
    .in_ready(np_ready),
    .out_data(req_out),
    .out_valid(req_valid),
    .out_ready(req_pop),
    .count()
);

reg [5:0] credit_reg = 6'd0;
reg credit_out_reg = 1'b0;
reg init_reg = 1'b1;

assign pcie_cq_np_req = {1'b0, credit_out_reg};

always @(posedge clk) begin
    credit_out_reg <= credit_reg != 0;
    if (init_reg) begin
        credit_reg <= NP_FIFO_DEPTH[5:0];
        init_reg <= 1'b0;
    end else begin
        credit_reg <= credit_reg - {5'd0, credit_reg != 0} + {5'd0, req_pop};
    end
    if (rst) begin
        credit_reg <= 6'd0;
        credit_out_reg <= 1'b0;
        init_reg <= 1'b1;
    end
end

// ---------------------------------------------------------------------------
// Completion generation
// ---------------------------------------------------------------------------

reg active_reg = 1'b0;
reg [1:0] kind_reg = 2'd0;
reg [15:0] requester_id_reg = 16'd0;
reg [7:0] tag_reg = 8'd0;
reg [7:0] func_reg = 8'd0;
reg [2:0] tc_reg = 3'd0;
reg [2:0] attr_reg = 3'd0;
reg [DW_AW-1:0] cur_dw_reg = {DW_AW{1'b0}};      // first SRAM dword of this completion
reg [11:0] cur_addr_reg = 12'd0;                 // first byte address of this completion
reg [12:0] rem_bytes_reg = 13'd0;                // bytes left, this completion included
reg [12:0] cpl_bytes_reg = 13'd0;                // bytes in this completion
reg [10:0] cpl_dw_reg = 11'd0;                   // dwords in this completion
reg [10:0] dw_left_reg = 11'd0;                  // dwords of this completion not yet issued
reg first_beat_reg = 1'b0;
reg [DW_AW-1:0] rd_base_reg = {DW_AW{1'b0}};     // SRAM dword carried by lane 0 of this beat

// next completion of the active request (it starts max-payload aligned)
wire [12:0] n_rem_bytes = rem_bytes_reg - cpl_bytes_reg;
wire [12:0] n_cpl_bytes = (n_rem_bytes < mps_bytes_reg) ? n_rem_bytes : mps_bytes_reg;
wire [10:0] n_cpl_dw = dword_span(2'd0, n_cpl_bytes);
// zero extension to a width above every SRAM's dword address width: the sum takes its low bits
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] cpl_dw32 = {21'd0, cpl_dw_reg};
/* verilator lint_on UNUSEDSIGNAL */
wire [DW_AW-1:0] n_cur_dw = cur_dw_reg + cpl_dw32[DW_AW-1:0];
wire [11:0] n_cur_addr = cur_addr_reg + cpl_bytes_reg[11:0];

// this beat
wire [10:0] beat_capacity = first_beat_reg ? 11'd5 : 11'd8;
wire beat_last = dw_left_reg <= beat_capacity;
wire [3:0] beat_dw = beat_last ? dw_left_reg[3:0] : beat_capacity[3:0];
wire [3:0] beat_lanes = beat_dw + (first_beat_reg ? 4'd3 : 4'd0);
wire [7:0] beat_keep = ~(8'hff << beat_lanes);
wire req_done = kind_reg == NP_KIND_UR || rem_bytes_reg == cpl_bytes_reg;

wire [2:0] cpl_status = (kind_reg == NP_KIND_UR) ? CPL_STATUS_UR : CPL_STATUS_SC;
wire [6:0] cpl_lower_addr = (kind_reg == NP_KIND_UR) ? 7'd0 : cur_addr_reg[6:0];
wire [95:0] cpl_header = {
    // DW2: force ECRC, attr, TC, completer ID enable, completer bus, function, tag
    1'b0, attr_reg, tc_reg, 1'b0, 8'd0, func_reg, tag_reg,
    // DW1: reserved, poisoned, status, dword count
    requester_id_reg, 1'b0, 1'b0, cpl_status, cpl_dw_reg,
    // DW0: reserved, locked, byte count, reserved, AT, reserved, lower address
    2'b00, 1'b0, rem_bytes_reg, 6'd0, 2'b00, 1'b0, cpl_lower_addr
};

// output stage: RAM read stage, lane rotation, descriptor insertion, output FIFO
wire room;
wire issue = active_reg && room && !(ram_busy && kind_reg == NP_KIND_SRAM);

assign ram_rd_en = (issue && kind_reg == NP_KIND_SRAM) ? 8'hff : 8'h00;

ep_tlp_tx #(
    .HEADER_DW(3),
    .USER_WIDTH(33),
    .DEPTH(OUT_DEPTH)
)
tlp_tx_inst (
    .clk(clk),
    .rst(rst),
    .issue(issue),
    .issue_first(first_beat_reg),
    .issue_nodata(kind_reg != NP_KIND_SRAM),
    .issue_rot(rd_base_reg[2:0]),
    .issue_keep(beat_keep),
    .issue_last(beat_last),
    .issue_header(cpl_header),
    .issue_user(33'd0),          // no discontinue, parity not used
    .room(room),
    .ram_data(ram_rd_data),
    .m_axis_tdata(m_axis_cc_tdata),
    .m_axis_tkeep(m_axis_cc_tkeep),
    .m_axis_tvalid(m_axis_cc_tvalid),
    .m_axis_tready(m_axis_cc_tready),
    .m_axis_tlast(m_axis_cc_tlast),
    .m_axis_tuser(m_axis_cc_tuser)
);

ep_bank_rows #(
    .DW_AW(DW_AW)
)
rd_rows_inst (
    .base(rd_base_reg),
    .rows(ram_rd_row)
);

reg stat_cpl_reg = 1'b0;
reg [10:0] stat_cpl_dw_reg = 11'd0;
assign stat_cpl = stat_cpl_reg;
assign stat_cpl_dw = stat_cpl_dw_reg;

assign req_pop = !active_reg && req_valid;

always @(posedge clk) begin
    stat_cpl_reg <= 1'b0;

    if (req_pop) begin
        active_reg <= 1'b1;
        kind_reg <= h_kind;
        requester_id_reg <= h_requester_id;
        tag_reg <= h_tag;
        func_reg <= h_func;
        tc_reg <= h_tc;
        attr_reg <= h_attr;
        cur_dw_reg <= h_dw_addr;
        cur_addr_reg <= h_byte_addr;
        rem_bytes_reg <= h_byte_count;
        cpl_bytes_reg <= h_cpl_bytes;
        cpl_dw_reg <= h_cpl_dw;
        dw_left_reg <= h_cpl_dw;
        first_beat_reg <= 1'b1;
        rd_base_reg <= h_dw_addr - {{(DW_AW-2){1'b0}}, 2'd3};
    end

    if (issue) begin
        if (first_beat_reg) begin
            stat_cpl_reg <= 1'b1;
            stat_cpl_dw_reg <= cpl_dw_reg;
        end

        first_beat_reg <= 1'b0;
        dw_left_reg <= dw_left_reg - {7'd0, beat_dw};
        rd_base_reg <= rd_base_reg + {{(DW_AW-4){1'b0}}, 4'd8};

        if (beat_last) begin
            if (req_done) begin
                active_reg <= 1'b0;
            end else begin
                cur_dw_reg <= n_cur_dw;
                cur_addr_reg <= n_cur_addr;
                rem_bytes_reg <= n_rem_bytes;
                cpl_bytes_reg <= n_cpl_bytes;
                cpl_dw_reg <= n_cpl_dw;
                dw_left_reg <= n_cpl_dw;
                first_beat_reg <= 1'b1;
                rd_base_reg <= n_cur_dw - {{(DW_AW-2){1'b0}}, 2'd3};
            end
        end
    end

    if (rst) begin
        active_reg <= 1'b0;
        stat_cpl_reg <= 1'b0;
    end
end

endmodule

`resetall
