/*
 * DMA engine for the UltraScale+ requester interface (RQ/RC, 256-bit, dword aligned).
 *
 * The local CPU queues descriptors {host address, buffer offset, length, direction, tag}.
 * One descriptor is processed at a time:
 *   read  (host -> buffer): read requests split at max read request size (so never across
 *         4 KiB), up to TAGS outstanding; completions are written into the buffer RAM at
 *         the offset given by their byte count, so they may arrive in any order;
 *   write (buffer -> host): write TLPs split at max payload boundaries (never across 4 KiB),
 *         back to back; the descriptor completes only when the core has reported the
 *         sequence number of its last TLP (so an MSI requested afterwards cannot pass it).
 * Every descriptor ends with an entry {tag, status} in the done FIFO and nothing can hang
 * it: completion errors (UR, CA, poisoned, core error codes) are recorded, read requests
 * that get no answer time out (their tag is then quarantined for one more timeout so a
 * late completion cannot be taken for a new request), and bus mastering disabled fails the
 * descriptor without sending anything.
 * Host and buffer addresses must be equal modulo 4 (dword lanes line up).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma #
(
    // DMA buffer RAM size in bytes
    parameter BUF_SIZE = 65536,
    // Outstanding read requests (tags 0..TAGS-1, at most 32)
    parameter TAGS = 16,
    // Queued descriptors (power of two)
    parameter DESC_DEPTH = 16,
    // Completion timeout of a read request, in cycles
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
     * Requester request interface (to the PCIe core)
     */
    output wire [255:0]              m_axis_rq_tdata,
    output wire [7:0]                m_axis_rq_tkeep,
    output wire                      m_axis_rq_tvalid,
    input  wire                      m_axis_rq_tready,
    output wire                      m_axis_rq_tlast,
    output wire [61:0]               m_axis_rq_tuser,
    input  wire [5:0]                pcie_rq_seq_num0,
    input  wire                      pcie_rq_seq_num_vld0,

    /*
     * Requester completion interface (from the PCIe core)
     */
    input  wire [255:0]              s_axis_rc_tdata,
    input  wire [7:0]                s_axis_rc_tkeep,
    input  wire                      s_axis_rc_tvalid,
    output wire                      s_axis_rc_tready,
    input  wire                      s_axis_rc_tlast,
    // tuser[74:32] (sop/eop flags, discontinue, parity) is not used: the state machine
    // tracks packet boundaries and parity checking is disabled in the core.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [74:0]               s_axis_rc_tuser,
    /* verilator lint_on UNUSEDSIGNAL */

    /*
     * Configuration
     */
    input  wire [1:0]                cfg_max_payload,
    input  wire [2:0]                cfg_max_read_req,
    input  wire                      bus_master_enable,

    /*
     * Buffer RAM port A
     */
    output wire [7:0]                ram_en,
    output wire [31:0]               ram_we,
    output wire [8*ROW_WIDTH-1:0]    ram_row,
    output wire [255:0]              ram_wdata,
    input  wire [255:0]              ram_rdata,

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
     * Interrupt source (level): the done FIFO is not empty
     */
    output wire                      irq_done
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DW_AW = BUF_AW - 2;
localparam TAG_W = (TAGS > 1) ? $clog2(TAGS) : 1;
localparam TW = $clog2(TIMEOUT_CYCLES + 1);
localparam DESC_W = 64 + (BUF_AW + 1) + 17 + 16 + 1;
localparam OUT_DEPTH = 4;

initial begin
    if (TAGS < 1 || TAGS > 32) begin
        $error("Error: TAGS must be 1 to 32 (instance %m)");
        $finish;
    end
    if (BUF_AW < 8 || BUF_AW > 16 || (1 << BUF_AW) != BUF_SIZE) begin
        $error("Error: BUF_SIZE must be a power of two, 256 to 65536 (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------------------
// Registers: descriptor staging, queues, counters
// ---------------------------------------------------------------------------

wire wr = rb_sel && rb_wr;
wire rd = rb_sel && rb_rd;

reg [31:0] host_lo_reg = 32'd0;
reg [31:0] host_hi_reg = 32'd0;
reg [BUF_AW:0] local_reg = {BUF_AW+1{1'b0}};
reg [16:0] length_reg = 17'd0;
reg [31:0] rdata_reg = 32'd0;
reg [31:0] cnt_rd_req_reg = 32'd0;
reg [31:0] cnt_wr_tlp_reg = 32'd0;
reg [31:0] cnt_cpl_reg = 32'd0;
reg [31:0] cnt_errors_reg = 32'd0;
reg [31:0] cnt_rd_dw_reg = 32'd0;
reg [31:0] cnt_wr_dw_reg = 32'd0;

assign rb_rdata = rdata_reg;

wire submit = wr && rb_offset == DMA_SUBMIT;
wire [DESC_W-1:0] desc_in = {host_hi_reg, host_lo_reg, local_reg, length_reg, rb_wdata[31:16], rb_wdata[0]};
wire [DESC_W-1:0] desc_out;
wire desc_valid;
wire desc_ready_in;
reg  desc_pop;
wire [$clog2(DESC_DEPTH):0] desc_count;

ep_fifo #(
    .WIDTH(DESC_W),
    .DEPTH(DESC_DEPTH)
)
desc_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data(desc_in),
    .in_valid(submit),
    .in_ready(desc_ready_in),
    .out_data(desc_out),
    .out_valid(desc_valid),
    .out_ready(desc_pop),
    .count(desc_count)
);

wire [63:0]     d_host;
wire [BUF_AW:0] d_local;
wire [16:0]     d_length;
wire [15:0]     d_tag;
wire            d_dir;
assign {d_host, d_local, d_length, d_tag, d_dir} = desc_out;

reg done_push;
reg [23:0] done_in;
wire [23:0] done_head;
wire done_valid;
wire done_ready_in;
wire done_pop = wr && rb_offset == DMA_DONE_POP;

ep_fifo #(
    .WIDTH(24),
    .DEPTH(16)
)
done_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data(done_in),
    .in_valid(done_push),
    .in_ready(done_ready_in),
    .out_data(done_head),
    .out_valid(done_valid),
    .out_ready(done_pop),
    .count()
);

assign irq_done = done_valid;

// ---------------------------------------------------------------------------
// Descriptor processing
// ---------------------------------------------------------------------------

localparam [2:0]
    STATE_IDLE = 3'd0,
    STATE_RD_ISSUE = 3'd1,
    STATE_RD_WAIT = 3'd2,
    STATE_WR_ISSUE = 3'd3,
    STATE_WR_DRAIN = 3'd4,
    STATE_DONE = 3'd5;

reg [2:0] state_reg = STATE_IDLE;
reg [63:0] host_reg = 64'd0;                       // next host byte address
reg [BUF_AW:0] buf_reg = {BUF_AW+1{1'b0}};         // next buffer byte address
reg [16:0] rem_reg = 17'd0;                        // bytes not yet requested / sent
reg [15:0] tag_reg = 16'd0;
reg [7:0] result_reg = 8'd0;                       // first error of the descriptor
reg [5:0] seq_reg = 6'd0;                          // sequence number of the next TLP
reg [5:0] last_seq_reg = 6'd0;
reg [TW-1:0] drain_timer_reg = {TW{1'b0}};

wire [12:0] mps_bytes = 13'd128 << cfg_max_payload;
wire [12:0] mrrs_bytes = (cfg_max_read_req > 3'd5) ? 13'd4096 : (13'd128 << cfg_max_read_req);

// validation of the descriptor at the head of the queue
wire [BUF_AW+1:0] d_end = {1'b0, d_local} + {{(BUF_AW-16){1'b0}}, d_length};
wire d_bad = d_length == 17'd0 || d_length > DMA_MAX_LENGTH[16:0] || d_end > BUF_SIZE ||
    d_host[1:0] != d_local[1:0];

// ---------------------------------------------------------------------------
// Read tags
// ---------------------------------------------------------------------------

localparam [1:0] TAG_FREE = 2'd0, TAG_ACTIVE = 2'd1, TAG_QUARANTINE = 2'd2;

reg [1:0] tag_state[0:TAGS-1];
reg [TW-1:0] tag_timer[0:TAGS-1];
reg [BUF_AW:0] tag_end[0:TAGS-1];                  // buffer address just after the request's data

reg [TAGS-1:0] tag_free;
reg [TAGS-1:0] tag_active;
integer t;
always @* begin
    for (t = 0; t < TAGS; t = t + 1) begin
        tag_free[t] = tag_state[t] == TAG_FREE;
        tag_active[t] = tag_state[t] == TAG_ACTIVE;
    end
end

function [TAG_W-1:0] lowest(input [TAGS-1:0] bits);
    integer n;
    begin
        lowest = {TAG_W{1'b0}};
        for (n = TAGS-1; n >= 0; n = n - 1) begin
            if (bits[n]) begin
                lowest = n[TAG_W-1:0];
            end
        end
    end
endfunction

wire [TAG_W-1:0] free_tag = lowest(tag_free);
wire any_free_tag = |tag_free;

initial begin
    for (t = 0; t < TAGS; t = t + 1) begin
        tag_state[t] = TAG_FREE;
        tag_timer[t] = {TW{1'b0}};
        tag_end[t] = {BUF_AW+1{1'b0}};
    end
end

// ---------------------------------------------------------------------------
// Chunk of the next TLP
// ---------------------------------------------------------------------------

wire rd_mode = state_reg == STATE_RD_ISSUE;
wire [12:0] boundary = rd_mode ? mrrs_bytes : mps_bytes;
wire [12:0] to_boundary = boundary - ({1'b0, host_reg[11:0]} & (boundary - 13'd1));
wire [16:0] chunk = (rem_reg < {4'd0, to_boundary}) ? rem_reg : {4'd0, to_boundary};
wire [12:0] chunk13 = chunk[12:0];
// dwords covered: (first byte offset + bytes + 3) / 4; the low bits of the sum are the
// end offset and bit 13 is never set (a chunk is at most 4 KiB)
/* verilator lint_off UNUSEDSIGNAL */
wire [13:0] span = {12'd0, host_reg[1:0]} + {1'b0, chunk13} + 14'd3;
/* verilator lint_on UNUSEDSIGNAL */
wire [10:0] chunk_dw = span[12:2];
wire [1:0] end_byte = host_reg[1:0] + chunk13[1:0] - 2'd1;     // offset of the last byte in its dword
wire [3:0] first_mask = 4'hf << host_reg[1:0];
wire [3:0] last_mask = 4'hf >> (2'd3 - end_byte);
wire [3:0] chunk_first_be = (chunk_dw == 11'd1) ? (first_mask & last_mask) : first_mask;
wire [3:0] chunk_last_be = (chunk_dw == 11'd1) ? 4'd0 : last_mask;

// RQ descriptor: address, dword count, request type, requester ID (0: core fills bus),
// tag, completer ID, requester ID enable 0, TC 0, attributes 0
function [127:0] rq_header(input [61:0] addr_dw, input [10:0] dw, input [3:0] rtype, input [7:0] tag);
    rq_header = {1'b0, 3'd0, 3'd0, 1'b0, 16'd0, tag, 16'd0, 1'b0, rtype, dw, addr_dw, 2'b00};
endfunction

// ---------------------------------------------------------------------------
// RQ output pipeline: issue -> RAM read stage -> output FIFO
// ---------------------------------------------------------------------------

wire [2:0] out_count;
reg s1_valid_reg = 1'b0;
reg s1_first_reg = 1'b0;
reg s1_nodata_reg = 1'b0;
reg [2:0] s1_rot_reg = 3'd0;
reg [7:0] s1_keep_reg = 8'd0;
reg s1_last_reg = 1'b0;
reg [127:0] s1_header_reg = 128'd0;
reg [61:0] s1_user_reg = 62'd0;

wire room = {1'b0, out_count} + {3'd0, s1_valid_reg} < OUT_DEPTH;

// write TLP in progress
reg wr_in_tlp_reg = 1'b0;                          // a TLP's later beats are being issued
reg [10:0] wr_dw_left_reg = 11'd0;
reg [DW_AW-1:0] wr_base_reg = {DW_AW{1'b0}};       // buffer dword carried by lane 0 of the beat
reg [12:0] wr_chunk_reg = 13'd0;

wire rc_write_busy;

wire issue_rd = state_reg == STATE_RD_ISSUE && room && any_free_tag && rem_reg != 0 && bus_master_enable;
wire issue_wr = state_reg == STATE_WR_ISSUE && room && !rc_write_busy &&
    (wr_in_tlp_reg || (rem_reg != 0 && bus_master_enable));

wire wr_first = !wr_in_tlp_reg;
wire [10:0] wr_dw_now = wr_first ? chunk_dw : wr_dw_left_reg;
wire [10:0] wr_capacity = wr_first ? 11'd4 : 11'd8;
wire wr_beat_last = wr_dw_now <= wr_capacity;
wire [3:0] wr_beat_dw = wr_beat_last ? wr_dw_now[3:0] : wr_capacity[3:0];
wire [3:0] wr_lanes = wr_beat_dw + (wr_first ? 4'd4 : 4'd0);
wire [DW_AW-1:0] wr_beat_base = wr_first ? (buf_reg[BUF_AW-1:2] - {{(DW_AW-3){1'b0}}, 3'd4}) : wr_base_reg;

genvar g;
wire [8*ROW_WIDTH-1:0] rd_row;
generate
for (g = 0; g < 8; g = g + 1) begin : rd_row_calc
    // bank g holds dword base + ((g - base) mod 8): one row further when g < base mod 8
    localparam [2:0] BANK = g;
    if (g == 7) begin : last_bank
        assign rd_row[g*ROW_WIDTH +: ROW_WIDTH] = wr_beat_base[DW_AW-1:3];
    end else begin : other_bank
        assign rd_row[g*ROW_WIDTH +: ROW_WIDTH] = wr_beat_base[DW_AW-1:3] +
            {{(ROW_WIDTH-1){1'b0}}, BANK < wr_beat_base[2:0]};
    end
end
endgenerate

// ---------------------------------------------------------------------------
// RC input: completions into the buffer
// ---------------------------------------------------------------------------

assign s_axis_rc_tready = 1'b1;

wire rc_beat = s_axis_rc_tvalid;
reg rc_in_pkt_reg = 1'b0;
wire rc_sop = rc_beat && !rc_in_pkt_reg;

wire [3:0]  rc_err = s_axis_rc_tdata[15:12];
wire [12:0] rc_byte_count = s_axis_rc_tdata[28:16];
wire        rc_req_done = s_axis_rc_tdata[30];
wire [10:0] rc_dw_count = s_axis_rc_tdata[42:32];
wire [2:0]  rc_status = s_axis_rc_tdata[45:43];
wire        rc_poisoned = s_axis_rc_tdata[46];
wire [7:0]  rc_tag = s_axis_rc_tdata[71:64];
wire [TAG_W-1:0] rc_tag_idx = rc_tag[TAG_W-1:0];
wire rc_tag_ok = {24'd0, rc_tag} < TAGS && tag_state[rc_tag_idx] == TAG_ACTIVE;
wire rc_good = rc_err == 4'd0 && rc_status == CPL_STATUS_SC && !rc_poisoned;
// a byte count of 0 means 4096
wire [13:0] rc_bc = (rc_byte_count == 13'd0) ? 14'd4096 : {1'b0, rc_byte_count};
// buffer address of the completion's first byte; only its dword address is used
/* verilator lint_off UNUSEDSIGNAL */
wire [BUF_AW+1:0] rc_start = {1'b0, tag_end[rc_tag_idx]} - {{(BUF_AW-12){1'b0}}, rc_bc};
/* verilator lint_on UNUSEDSIGNAL */

reg rc_write_ok_reg = 1'b0;
reg [DW_AW-1:0] rc_base_reg = {DW_AW{1'b0}};
reg [TAG_W-1:0] rc_tag_reg = {TAG_W{1'b0}};
reg rc_tag_ok_reg = 1'b0;
reg rc_good_reg = 1'b0;
reg rc_req_done_reg = 1'b0;
reg [7:0] rc_result_reg = 8'd0;

function [7:0] cpl_result(input [3:0] err, input [2:0] status, input poisoned);
    if (poisoned || err == 4'd1) begin
        cpl_result = DMA_RESULT_POISONED;
    end else if (err == 4'd9) begin
        cpl_result = DMA_RESULT_TIMEOUT;
    end else if (status == CPL_STATUS_UR) begin
        cpl_result = DMA_RESULT_UR;
    end else if (status == CPL_STATUS_CA) begin
        cpl_result = DMA_RESULT_CA;
    end else if (err != 4'd0 || status != CPL_STATUS_SC) begin
        cpl_result = DMA_RESULT_COMPLETION_ERROR;
    end else begin
        cpl_result = DMA_RESULT_OK;
    end
endfunction

wire rc_write_ok = rc_sop ? (rc_tag_ok && rc_good) : rc_write_ok_reg;
wire [DW_AW-1:0] rc_base = rc_sop ? (rc_start[BUF_AW-1:2] - {{(DW_AW-2){1'b0}}, 2'd3}) : rc_base_reg;
wire rc_first_beat = rc_sop;

reg [7:0] rc_ram_en_next;
reg [31:0] rc_ram_we_next;
reg [8*ROW_WIDTH-1:0] rc_ram_row_next;
reg [255:0] rc_ram_data_next;
reg [7:0] rc_ram_en;
reg [31:0] rc_ram_we;
reg [8*ROW_WIDTH-1:0] rc_ram_row;
reg [255:0] rc_ram_data;
integer b;
reg [2:0] lane;

always @* begin
    for (b = 0; b < 8; b = b + 1) begin
        lane = b[2:0] - rc_base[2:0];
        rc_ram_row_next[b*ROW_WIDTH +: ROW_WIDTH] = rc_base[DW_AW-1:3] + {{(ROW_WIDTH-1){1'b0}}, b[2:0] < rc_base[2:0]};
        rc_ram_data_next[b*32 +: 32] = s_axis_rc_tdata[lane*32 +: 32];
        if (rc_beat && rc_write_ok && s_axis_rc_tkeep[lane] && !(rc_first_beat && lane < 3'd3)) begin
            rc_ram_we_next[b*4 +: 4] = s_axis_rc_tuser[lane*4 +: 4];
        end else begin
            rc_ram_we_next[b*4 +: 4] = 4'd0;
        end
        rc_ram_en_next[b] = |rc_ram_we_next[b*4 +: 4];
    end
end

initial begin
    rc_ram_en = 8'd0;
    rc_ram_we = 32'd0;
    rc_ram_row = {8*ROW_WIDTH{1'b0}};
    rc_ram_data = 256'd0;
end

assign rc_write_busy = |rc_ram_en;
assign ram_en = rc_write_busy ? rc_ram_en : (issue_wr ? 8'hff : 8'h00);
assign ram_we = rc_write_busy ? rc_ram_we : 32'd0;
assign ram_row = rc_write_busy ? rc_ram_row : rd_row;
assign ram_wdata = rc_ram_data;

// ---------------------------------------------------------------------------
// Sequential logic
// ---------------------------------------------------------------------------

wire desc_start = state_reg == STATE_IDLE && desc_valid;
wire rc_end = rc_beat && s_axis_rc_tlast;
wire [TAG_W-1:0] end_tag = rc_sop ? rc_tag_idx : rc_tag_reg;
wire end_tag_ok = rc_sop ? rc_tag_ok : rc_tag_ok_reg;
wire end_good = rc_sop ? rc_good : rc_good_reg;
wire end_req_done = rc_sop ? rc_req_done : rc_req_done_reg;
wire [7:0] end_result = rc_sop ? cpl_result(rc_err, rc_status, rc_poisoned) : rc_result_reg;
wire rc_release = rc_end && end_tag_ok && (end_req_done || !end_good);

reg [7:0] result_next;
reg [TAGS-1:0] timeout_now;

always @* begin
    for (t = 0; t < TAGS; t = t + 1) begin
        timeout_now[t] = tag_state[t] == TAG_ACTIVE && tag_timer[t] == TIMEOUT_CYCLES[TW-1:0];
    end
    result_next = result_reg;
    if (result_next == DMA_RESULT_OK && rc_end && end_tag_ok && !end_good) begin
        result_next = end_result;
    end
    if (result_next == DMA_RESULT_OK && |timeout_now) begin
        result_next = DMA_RESULT_TIMEOUT;
    end
end

always @* begin
    desc_pop = desc_start;
end

always @(posedge clk) begin
    rc_ram_en <= rc_ram_en_next;
    rc_ram_we <= rc_ram_we_next;
    rc_ram_row <= rc_ram_row_next;
    rc_ram_data <= rc_ram_data_next;

    // RC packet tracking
    if (rc_beat) begin
        rc_in_pkt_reg <= !s_axis_rc_tlast;
        rc_base_reg <= rc_base + {{(DW_AW-4){1'b0}}, 4'd8};
        if (rc_sop) begin
            rc_write_ok_reg <= rc_tag_ok && rc_good;
            rc_tag_reg <= rc_tag_idx;
            rc_tag_ok_reg <= rc_tag_ok;
            rc_good_reg <= rc_good;
            rc_req_done_reg <= rc_req_done;
            rc_result_reg <= cpl_result(rc_err, rc_status, rc_poisoned);
            cnt_cpl_reg <= cnt_cpl_reg + 32'd1;
            cnt_rd_dw_reg <= cnt_rd_dw_reg + {21'd0, rc_dw_count};
        end
    end

    // tag table: timers, completion release, timeout and quarantine
    for (t = 0; t < TAGS; t = t + 1) begin
        if (tag_state[t] != TAG_FREE) begin
            tag_timer[t] <= tag_timer[t] + 1'b1;
        end
        if (timeout_now[t]) begin
            tag_state[t] <= TAG_QUARANTINE;
            tag_timer[t] <= {TW{1'b0}};
        end else if (tag_state[t] == TAG_QUARANTINE && tag_timer[t] == TIMEOUT_CYCLES[TW-1:0]) begin
            tag_state[t] <= TAG_FREE;
        end
    end
    if (rc_release) begin
        tag_state[end_tag] <= TAG_FREE;
    end

    result_reg <= result_next;
    done_push <= 1'b0;
    s1_valid_reg <= issue_rd || issue_wr;

    case (state_reg)
        STATE_IDLE: begin
            if (desc_valid) begin
                host_reg <= d_host;
                buf_reg <= d_local;
                rem_reg <= d_length;
                tag_reg <= d_tag;
                result_reg <= DMA_RESULT_OK;
                if (d_bad) begin
                    result_reg <= DMA_RESULT_BAD_DESCRIPTOR;
                    state_reg <= STATE_DONE;
                end else if (!bus_master_enable) begin
                    result_reg <= DMA_RESULT_NO_BUS_MASTER;
                    state_reg <= STATE_DONE;
                end else begin
                    state_reg <= d_dir ? STATE_WR_ISSUE : STATE_RD_ISSUE;
                end
            end
        end
        STATE_RD_ISSUE: begin
            if (!bus_master_enable) begin
                if (result_next == DMA_RESULT_OK) begin
                    result_reg <= DMA_RESULT_NO_BUS_MASTER;
                end
                state_reg <= STATE_RD_WAIT;
            end else if (issue_rd) begin
                tag_state[free_tag] <= TAG_ACTIVE;
                tag_timer[free_tag] <= {TW{1'b0}};
                tag_end[free_tag] <= buf_reg + chunk[BUF_AW:0];
                s1_first_reg <= 1'b1;
                s1_nodata_reg <= 1'b1;
                s1_keep_reg <= 8'h0f;
                s1_last_reg <= 1'b1;
                s1_header_reg <= rq_header(host_reg[63:2], chunk_dw, REQ_MEM_READ, {{(8-TAG_W){1'b0}}, free_tag});
                s1_user_reg <= {seq_reg[5:4], 32'd0, seq_reg[3:0], 16'd0, chunk_last_be, chunk_first_be};
                seq_reg <= seq_reg + 6'd1;
                cnt_rd_req_reg <= cnt_rd_req_reg + 32'd1;
                host_reg <= host_reg + {47'd0, chunk};
                buf_reg <= buf_reg + chunk[BUF_AW:0];
                rem_reg <= rem_reg - chunk;
                if (rem_reg == chunk) begin
                    state_reg <= STATE_RD_WAIT;
                end
            end
        end
        STATE_RD_WAIT: begin
            // all requests answered or timed out (quarantined tags are not waited for)
            if (tag_active == {TAGS{1'b0}}) begin
                state_reg <= STATE_DONE;
            end
        end
        STATE_WR_ISSUE: begin
            if (!bus_master_enable && !wr_in_tlp_reg) begin
                if (result_next == DMA_RESULT_OK) begin
                    result_reg <= DMA_RESULT_NO_BUS_MASTER;
                end
                state_reg <= STATE_DONE;
            end else if (issue_wr) begin
                s1_first_reg <= wr_first;
                s1_nodata_reg <= 1'b0;
                s1_rot_reg <= wr_beat_base[2:0];
                s1_keep_reg <= ~(8'hff << wr_lanes);
                s1_last_reg <= wr_beat_last;
                wr_base_reg <= wr_beat_base + {{(DW_AW-4){1'b0}}, 4'd8};
                wr_dw_left_reg <= wr_dw_now - {7'd0, wr_beat_dw};
                if (wr_first) begin
                    s1_header_reg <= rq_header(host_reg[63:2], chunk_dw, REQ_MEM_WRITE, 8'd0);
                    s1_user_reg <= {seq_reg[5:4], 32'd0, seq_reg[3:0], 16'd0, chunk_last_be, chunk_first_be};
                    last_seq_reg <= seq_reg;
                    seq_reg <= seq_reg + 6'd1;
                    wr_chunk_reg <= chunk13;
                    cnt_wr_tlp_reg <= cnt_wr_tlp_reg + 32'd1;
                    cnt_wr_dw_reg <= cnt_wr_dw_reg + {21'd0, chunk_dw};
                end
                wr_in_tlp_reg <= !wr_beat_last;
                if (wr_beat_last) begin
                    // the TLP's data is issued: move to the next one (no idle beat)
                    host_reg <= host_reg + {51'd0, wr_first ? chunk13 : wr_chunk_reg};
                    buf_reg <= buf_reg + {{(BUF_AW-12){1'b0}}, wr_first ? chunk13 : wr_chunk_reg};
                    rem_reg <= rem_reg - {4'd0, wr_first ? chunk13 : wr_chunk_reg};
                    if (rem_reg == {4'd0, wr_first ? chunk13 : wr_chunk_reg}) begin
                        state_reg <= STATE_WR_DRAIN;
                        drain_timer_reg <= {TW{1'b0}};
                    end
                end
            end
        end
        STATE_WR_DRAIN: begin
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
            if (done_ready_in) begin
                done_push <= 1'b1;
                done_in <= {result_reg, tag_reg};
                if (result_reg != DMA_RESULT_OK) begin
                    cnt_errors_reg <= cnt_errors_reg + 32'd1;
                end
                state_reg <= STATE_IDLE;
            end
        end
    endcase

    // staging registers and reads
    if (wr) begin
        case (rb_offset)
            DMA_HOST_LO: host_lo_reg <= rb_wdata;
            DMA_HOST_HI: host_hi_reg <= rb_wdata;
            DMA_LOCAL: local_reg <= rb_wdata[BUF_AW:0];
            DMA_LENGTH: length_reg <= rb_wdata[16:0];
            default: ;
        endcase
        if (submit && !desc_ready_in) begin
            cnt_errors_reg <= cnt_errors_reg + 32'd1;
        end
    end

    rdata_reg <= 32'd0;
    if (rd) begin
        case (rb_offset)
            DMA_HOST_LO: rdata_reg <= host_lo_reg;
            DMA_HOST_HI: rdata_reg <= host_hi_reg;
            DMA_LOCAL: rdata_reg <= {{(31-BUF_AW){1'b0}}, local_reg};
            DMA_LENGTH: rdata_reg <= {15'd0, length_reg};
            DMA_STATUS: rdata_reg <= ({31'd0, state_reg != STATE_IDLE} << DMA_STATUS_BUSY_BIT) |
                ({31'd0, !desc_ready_in} << DMA_STATUS_DESC_FULL_BIT) |
                ({31'd0, !done_ready_in} << DMA_STATUS_DONE_FULL_BIT) |
                {{(31-$clog2(DESC_DEPTH)){1'b0}}, desc_count};
            DMA_DONE_HEAD: rdata_reg <= done_valid ? ({8'd0, done_head} | (32'd1 << DMA_DONE_VALID_BIT)) : 32'd0;
            DMA_CNT_RD_REQ: rdata_reg <= cnt_rd_req_reg;
            DMA_CNT_WR_TLP: rdata_reg <= cnt_wr_tlp_reg;
            DMA_CNT_CPL: rdata_reg <= cnt_cpl_reg;
            DMA_CNT_ERRORS: rdata_reg <= cnt_errors_reg;
            DMA_CNT_RD_DW: rdata_reg <= cnt_rd_dw_reg;
            DMA_CNT_WR_DW: rdata_reg <= cnt_wr_dw_reg;
            default: rdata_reg <= 32'd0;
        endcase
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        s1_valid_reg <= 1'b0;
        done_push <= 1'b0;
        rc_in_pkt_reg <= 1'b0;
        wr_in_tlp_reg <= 1'b0;
        seq_reg <= 6'd0;
        rc_ram_en <= 8'd0;
        rc_ram_we <= 32'd0;
        for (t = 0; t < TAGS; t = t + 1) begin
            tag_state[t] <= TAG_FREE;
        end
        cnt_rd_req_reg <= 32'd0;
        cnt_wr_tlp_reg <= 32'd0;
        cnt_cpl_reg <= 32'd0;
        cnt_errors_reg <= 32'd0;
        cnt_rd_dw_reg <= 32'd0;
        cnt_wr_dw_reg <= 32'd0;
        rdata_reg <= 32'd0;
    end
end

// ---------------------------------------------------------------------------
// RAM read stage and output FIFO
// ---------------------------------------------------------------------------

reg [255:0] s1_data;
reg [2:0] s1_bank;
integer l;
always @* begin
    for (l = 0; l < 8; l = l + 1) begin
        s1_bank = s1_rot_reg + l[2:0];
        s1_data[l*32 +: 32] = s1_nodata_reg ? 32'd0 : ram_rdata[s1_bank*32 +: 32];
    end
    if (s1_first_reg) begin
        s1_data[127:0] = s1_header_reg;
    end
end

wire [326:0] out_data;

ep_fifo #(
    .WIDTH(327),
    .DEPTH(OUT_DEPTH)
)
out_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data({s1_user_reg, s1_last_reg, s1_keep_reg, s1_data}),
    .in_valid(s1_valid_reg),
    .in_ready(),
    .out_data(out_data),
    .out_valid(m_axis_rq_tvalid),
    .out_ready(m_axis_rq_tready),
    .count(out_count)
);

assign m_axis_rq_tdata = out_data[255:0];
assign m_axis_rq_tkeep = out_data[263:256];
assign m_axis_rq_tlast = out_data[264];
assign m_axis_rq_tuser = out_data[326:265];

endmodule

`resetall
