/*
 * DMA read engine (host memory -> buffer RAM) for the UltraScale+ requester interface.
 *
 * One descriptor at a time: read requests split at the max read request size (so never
 * across 4 KiB), up to TAGS outstanding, each in its own tag; completions (RC) are written
 * into the buffer RAM at the offset their byte count gives, so they may arrive in any
 * order and in several pieces. The descriptor ends when no tag is waiting any more; its
 * result is the first error seen (UR, CA, poisoned, a core error code, a timeout).
 *
 * Tags live on after the descriptor: a request that times out leaves its tag quarantined
 * for one more timeout, so a late completion cannot be taken for a new request's.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma_rd #
(
    // Buffer RAM size in bytes
    parameter BUF_SIZE = 65536,
    // Outstanding read requests (tags 0..TAGS-1, at most 32)
    parameter TAGS = 16,
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
     * Descriptor: start pulse with the transfer; done for one cycle at its end, with its result
     */
    input  wire                      start,
    input  wire [63:0]               start_host,
    input  wire [BUF_AW:0]           start_buf,
    input  wire [16:0]               start_length,
    output wire                      done,
    output wire [7:0]                result,

    /*
     * Configuration
     */
    input  wire [2:0]                cfg_max_read_req,
    input  wire                      bus_master_enable,

    /*
     * Read requests to the TLP output stage (one-beat TLPs)
     */
    input  wire                      tx_room,
    output wire                      tx_issue,
    output wire [127:0]              tx_header,
    output wire [3:0]                tx_first_be,
    output wire [3:0]                tx_last_be,

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
     * Buffer RAM writes (registered; ram_busy while one is in progress)
     */
    output wire [7:0]                ram_en,
    output wire [31:0]               ram_we,
    output wire [8*ROW_WIDTH-1:0]    ram_row,
    output wire [255:0]              ram_wdata,

    /*
     * Statistics: a request sent, a completion received (with its payload dwords)
     */
    output wire                      stat_req,
    output wire                      stat_cpl,
    output wire [10:0]               stat_cpl_dw
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DW_AW = BUF_AW - 2;
localparam TAG_W = (TAGS > 1) ? $clog2(TAGS) : 1;
localparam TW = $clog2(TIMEOUT_CYCLES + 1);

initial begin
    if (TAGS < 1 || TAGS > 32) begin
        $error("Error: TAGS must be 1 to 32 (instance %m)");
        $finish;
    end
end

localparam [1:0]
    STATE_IDLE = 2'd0,
    STATE_ISSUE = 2'd1,
    STATE_WAIT = 2'd2,
    STATE_DONE = 2'd3;

reg [1:0] state_reg = STATE_IDLE;
reg [63:0] host_reg = 64'd0;                       // next host byte address
reg [BUF_AW:0] buf_reg = {BUF_AW+1{1'b0}};         // next buffer byte address
reg [16:0] rem_reg = 17'd0;                        // bytes not yet requested
reg [7:0] result_reg = 8'd0;                       // first error of the descriptor

wire [12:0] mrrs_bytes = (cfg_max_read_req > 3'd5) ? 13'd4096 : (13'd128 << cfg_max_read_req);

wire [12:0] chunk;
wire [10:0] chunk_dw;
wire [16:0] chunk17 = {4'd0, chunk};

ep_dma_chunk chunk_inst (
    .addr(host_reg[11:0]),
    .remaining(rem_reg),
    .boundary(mrrs_bytes),
    .bytes(chunk),
    .dwords(chunk_dw),
    .first_be(tx_first_be),
    .last_be(tx_last_be)
);

// ---------------------------------------------------------------------------
// Tags
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
// Requests
// ---------------------------------------------------------------------------

assign tx_issue = state_reg == STATE_ISSUE && tx_room && any_free_tag && rem_reg != 0 && bus_master_enable;

// RQ descriptor: address, dword count, memory read, requester ID 0 (the core fills the
// bus), tag, completer ID 0, requester ID enable 0, TC 0, attributes 0
assign tx_header = {1'b0, 3'd0, 3'd0, 1'b0, 16'd0, {{(8-TAG_W){1'b0}}, free_tag}, 16'd0, 1'b0,
    REQ_MEM_READ, chunk_dw, host_reg[63:2], 2'b00};

assign stat_req = tx_issue;

// ---------------------------------------------------------------------------
// Completions into the buffer
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
// buffer address of the completion's first byte (modulo 2**18, wider than any buffer);
// only its dword address is used
/* verilator lint_off UNUSEDSIGNAL */
wire [17:0] rc_start = {{(17-BUF_AW){1'b0}}, tag_end[rc_tag_idx]} - {4'd0, rc_bc};
/* verilator lint_on UNUSEDSIGNAL */

assign stat_cpl = rc_sop;
assign stat_cpl_dw = rc_dw_count;

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

wire [8*ROW_WIDTH-1:0] rc_rows;

ep_bank_rows #(
    .DW_AW(DW_AW)
)
rc_rows_inst (
    .base(rc_base),
    .rows(rc_rows)
);

// bank b takes lane (b - base) mod 8 of the beat; the first beat's three descriptor lanes
// carry no data
reg [7:0] rc_ram_en_next;
reg [31:0] rc_ram_we_next;
reg [255:0] rc_ram_data_next;
reg [7:0] rc_ram_en_reg = 8'd0;
reg [31:0] rc_ram_we_reg = 32'd0;
reg [8*ROW_WIDTH-1:0] rc_ram_row_reg = {8*ROW_WIDTH{1'b0}};
reg [255:0] rc_ram_data_reg = 256'd0;
integer b;
reg [2:0] lane;

always @* begin
    for (b = 0; b < 8; b = b + 1) begin
        lane = b[2:0] - rc_base[2:0];
        rc_ram_data_next[b*32 +: 32] = s_axis_rc_tdata[lane*32 +: 32];
        if (rc_beat && rc_write_ok && s_axis_rc_tkeep[lane] && !(rc_sop && lane < 3'd3)) begin
            rc_ram_we_next[b*4 +: 4] = s_axis_rc_tuser[lane*4 +: 4];
        end else begin
            rc_ram_we_next[b*4 +: 4] = 4'd0;
        end
        rc_ram_en_next[b] = |rc_ram_we_next[b*4 +: 4];
    end
end

assign ram_en = rc_ram_en_reg;
assign ram_we = rc_ram_we_reg;
assign ram_row = rc_ram_row_reg;
assign ram_wdata = rc_ram_data_reg;

// ---------------------------------------------------------------------------
// Completion bookkeeping, timeouts, result
// ---------------------------------------------------------------------------

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

assign done = state_reg == STATE_DONE;
assign result = result_reg;

always @(posedge clk) begin
    rc_ram_en_reg <= rc_ram_en_next;
    rc_ram_we_reg <= rc_ram_we_next;
    rc_ram_row_reg <= rc_rows;
    rc_ram_data_reg <= rc_ram_data_next;

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

    case (state_reg)
        STATE_IDLE: begin
            if (start) begin
                host_reg <= start_host;
                buf_reg <= start_buf;
                rem_reg <= start_length;
                result_reg <= DMA_RESULT_OK;
                state_reg <= STATE_ISSUE;
            end
        end
        STATE_ISSUE: begin
            if (!bus_master_enable) begin
                if (result_next == DMA_RESULT_OK) begin
                    result_reg <= DMA_RESULT_NO_BUS_MASTER;
                end
                state_reg <= STATE_WAIT;
            end else if (tx_issue) begin
                tag_state[free_tag] <= TAG_ACTIVE;
                tag_timer[free_tag] <= {TW{1'b0}};
                tag_end[free_tag] <= buf_reg + chunk17[BUF_AW:0];
                host_reg <= host_reg + {51'd0, chunk};
                buf_reg <= buf_reg + chunk17[BUF_AW:0];
                rem_reg <= rem_reg - chunk17;
                if (rem_reg == chunk17) begin
                    state_reg <= STATE_WAIT;
                end
            end
        end
        STATE_WAIT: begin
            // all requests answered or timed out (quarantined tags are not waited for)
            if (tag_active == {TAGS{1'b0}}) begin
                state_reg <= STATE_DONE;
            end
        end
        default: begin
            state_reg <= STATE_IDLE;
        end
    endcase

    if (rst) begin
        state_reg <= STATE_IDLE;
        rc_in_pkt_reg <= 1'b0;
        rc_ram_en_reg <= 8'd0;
        rc_ram_we_reg <= 32'd0;
        for (t = 0; t < TAGS; t = t + 1) begin
            tag_state[t] <= TAG_FREE;
        end
    end
end

endmodule

`resetall
