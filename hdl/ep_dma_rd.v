/*
 * DMA read engine (host memory -> buffer RAM) for the UltraScale+ requester interface.
 *
 * Read requests split at the max read request size (so never across 4 KiB), up to TAGS
 * outstanding, each in its own tag; completions (RC) are written into the buffer RAM at
 * the offset their byte count gives, so they may arrive in any order and in several
 * pieces. Descriptors overlap: once a descriptor's last request is issued the engine takes
 * the next one (up to DESCS descriptors in flight, each in a context that counts its
 * requests still waiting), so the link stays busy across descriptors. A descriptor ends
 * when none of its requests is waiting any more, reported with its tag and its result, the
 * first error seen (UR, CA, poisoned, a core error code, a timeout); descriptors may end
 * out of order, and a result waits for done_ack.
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
    // Descriptors in flight (contexts), 1 to 8
    parameter DESCS = 4,
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
    output wire                      busy,              // some descriptor is in the engine
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
     * Buffer RAM writes (registered), on a port of their own
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
localparam CTX_W = (DESCS > 1) ? $clog2(DESCS) : 1;
localparam OUT_W = $clog2(TAGS + 1);

initial begin
    if (TAGS < 1 || TAGS > 32) begin
        $error("Error: TAGS must be 1 to 32 (instance %m)");
        $finish;
    end
    if (DESCS < 1 || DESCS > 8) begin
        $error("Error: DESCS must be 1 to 8 (instance %m)");
        $finish;
    end
end

// issuing: the descriptor whose requests are being sent
reg issuing_reg = 1'b0;
reg [CTX_W-1:0] cur_ctx_reg = {CTX_W{1'b0}};
reg [63:0] host_reg = 64'd0;                       // next host byte address
reg [BUF_AW:0] buf_lane0_reg = {BUF_AW+1{1'b0}};   // next buffer byte address less the 12 bytes of an RC descriptor
reg [16:0] rem_reg = 17'd0;                        // bytes not yet requested

// contexts: one per descriptor in flight
reg [DESCS-1:0] ctx_busy = {DESCS{1'b0}};          // holds a descriptor (until its result is taken)
reg [DESCS-1:0] ctx_issued = {DESCS{1'b0}};        // every request of it is issued
reg [OUT_W-1:0] ctx_out[0:DESCS-1];                // its requests still waiting
reg [7:0] ctx_result[0:DESCS-1];                   // its first error
reg [15:0] ctx_tag[0:DESCS-1];                     // the descriptor's tag

// the max read request size, registered (its decode in front of the request arithmetic
// was over the logic depth budget)
wire [12:0] mrrs_bytes_reg, mrrs_mask_reg;

ep_size_code #(
    .CODE_W(3)
)
mrrs_inst (
    .clk(clk),
    .code(cfg_max_read_req),
    .bytes(mrrs_bytes_reg),
    .mask(mrrs_mask_reg)
);

wire [12:0] chunk;
wire chunk_last;
wire [10:0] chunk_dw;
// the chunk as a length (17 bits) and as a buffer offset (BUF_AW + 1 bits): one signal wide enough for both
localparam CHUNK_W = (BUF_AW + 1 > 17) ? BUF_AW + 1 : 17;
wire [CHUNK_W-1:0] chunk_w = {{(CHUNK_W-13){1'b0}}, chunk};
wire [16:0] chunk17 = chunk_w[16:0];

ep_dma_chunk chunk_inst (
    .addr(host_reg[11:0]),
    .remaining(rem_reg),
    .boundary(mrrs_bytes_reg),
    .boundary_mask(mrrs_mask_reg),
    .bytes(chunk),
    .last(chunk_last),
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
// buffer address just after the request's data, less the 12 bytes of the RC descriptor:
// a completion's first beat carries the descriptor in lanes 0-2, so this less the
// completion's byte count is the buffer address lane 0 stands for (one subtraction on
// the completion's first beat, not two: the logic depth budget)
reg [BUF_AW:0] tag_lane0[0:TAGS-1];
reg [CTX_W-1:0] tag_ctx[0:TAGS-1];                 // the context the request belongs to

reg [TAGS-1:0] tag_free;
integer t;
always @* begin
    for (t = 0; t < TAGS; t = t + 1) begin
        tag_free[t] = tag_state[t] == TAG_FREE;
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

// The tag for the next request, chosen a cycle ahead (a priority encoder over every tag in
// front of the tag table's writes was over the logic depth budget, docs/synthesis.md):
// from the tags free now, without the one issued this cycle (both choices are made, the
// issue picks one). A tag freed this cycle is seen the next: one cycle later, and only
// when every tag is in use.
reg [TAG_W-1:0] free_tag_reg = {TAG_W{1'b0}};
reg any_free_reg = 1'b0;
reg [TAGS-1:0] tag_free_but_issued;
always @* begin
    for (t = 0; t < TAGS; t = t + 1) begin
        tag_free_but_issued[t] = tag_free[t] && free_tag_reg != t[TAG_W-1:0];
    end
end

initial begin
    for (t = 0; t < TAGS; t = t + 1) begin
        tag_state[t] = TAG_FREE;
        tag_timer[t] = {TW{1'b0}};
        tag_lane0[t] = {BUF_AW+1{1'b0}};
        tag_ctx[t] = {CTX_W{1'b0}};
    end
end

integer c;
initial begin
    for (c = 0; c < DESCS; c = c + 1) begin
        ctx_out[c] = {OUT_W{1'b0}};
        ctx_result[c] = 8'd0;
        ctx_tag[c] = 16'd0;
    end
end

function [CTX_W-1:0] lowest_ctx(input [DESCS-1:0] bits);
    integer n;
    begin
        lowest_ctx = {CTX_W{1'b0}};
        for (n = DESCS-1; n >= 0; n = n - 1) begin
            if (bits[n]) begin
                lowest_ctx = n[CTX_W-1:0];
            end
        end
    end
endfunction

wire [DESCS-1:0] ctx_free = ~ctx_busy;
wire [CTX_W-1:0] free_ctx = lowest_ctx(ctx_free);
// the same choices one-hot (x & -x), to write the context tables without a decoder
wire [DESCS-1:0] free_ctx_bit = ctx_free & (~ctx_free + 1'b1);
assign ready = !issuing_reg && |ctx_free;
assign busy = issuing_reg || |ctx_busy;

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

assign tx_issue = issuing_reg && tx_room && any_free_reg && rem_reg != 0 && bus_master_enable;

// RQ descriptor: address, dword count, memory read, requester ID 0 (the core fills the
// bus), tag, completer ID 0, requester ID enable 0, TC 0, attributes 0
assign tx_header = {1'b0, 3'd0, 3'd0, 1'b0, 16'd0, {{(8-TAG_W){1'b0}}, free_tag_reg}, 16'd0, 1'b0,
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
// the buffer address lane 0 of the completion's first beat stands for (modulo 2**START_W,
// wider than any buffer); only its dword address is used
localparam START_W = (BUF_AW + 2 > 18) ? BUF_AW + 2 : 18;
/* verilator lint_off UNUSEDSIGNAL */
wire [START_W-1:0] rc_lane0 = {{(START_W-BUF_AW-1){1'b0}}, tag_lane0[rc_tag_idx]} - {{(START_W-14){1'b0}}, rc_bc};
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
wire [DW_AW-1:0] rc_base = rc_sop ? rc_lane0[BUF_AW-1:2] : rc_base_reg;

// The beat, registered with its buffer dword address and whether it is written, before
// it is rotated into the banks: the tag lookup, the address arithmetic and the rotation in
// one cycle were over the logic depth budget (docs/synthesis.md). The RAM write thus comes
// a cycle later, and so does the descriptor's end (its context counts lag a cycle too).
reg rc1_write_reg = 1'b0;                          // a beat to write
reg rc1_sop_reg = 1'b0;
reg [DW_AW-1:0] rc1_base_reg = {DW_AW{1'b0}};
reg [255:0] rc1_data_reg = 256'd0;
reg [7:0] rc1_keep_reg = 8'd0;
reg [31:0] rc1_be_reg = 32'd0;

wire [8*ROW_WIDTH-1:0] rc_rows;

ep_bank_rows #(
    .DW_AW(DW_AW)
)
rc_rows_inst (
    .base(rc1_base_reg),
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
        lane = b[2:0] - rc1_base_reg[2:0];
        rc_ram_data_next[b*32 +: 32] = rc1_data_reg[lane*32 +: 32];
        if (rc1_write_reg && rc1_keep_reg[lane] && !(rc1_sop_reg && lane < 3'd3)) begin
            rc_ram_we_next[b*4 +: 4] = rc1_be_reg[lane*4 +: 4];
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
wire rc_error = rc_end && end_tag_ok && !end_good;
wire [CTX_W-1:0] end_ctx = tag_ctx[end_tag];

reg [TAGS-1:0] timeout_now;
always @* begin
    for (t = 0; t < TAGS; t = t + 1) begin
        // a completion that ends the request in the timeout's cycle wins (counted once)
        timeout_now[t] = tag_state[t] == TAG_ACTIVE && tag_timer[t] == TIMEOUT_CYCLES[TW-1:0] &&
            !(rc_release && end_tag == t[TAG_W-1:0]);
    end
end

// At most one active tag times out in a cycle: a tag's timer restarts when it is issued,
// and one request is issued a cycle. So the timeout is one event, with its context.
reg [CTX_W-1:0] timeout_ctx;
always @* begin
    timeout_ctx = {CTX_W{1'b0}};
    for (t = 0; t < TAGS; t = t + 1) begin
        timeout_ctx = timeout_ctx | (timeout_now[t] ? tag_ctx[t] : {CTX_W{1'b0}});
    end
end

// A cycle's events (a request issued, the descriptor fully issued or stopped, a request
// answered or timed out, with its result) reach the contexts' counts and results in the
// next cycle, from registers: a count updated in the same cycle as the tag lookups was
// over the logic depth budget. Every count and flag lags by the same cycle, so a context
// never looks finished with an event still on its way.
reg ev_issue_reg = 1'b0;
reg [CTX_W-1:0] ev_issue_ctx_reg = {CTX_W{1'b0}};
reg ev_issued_reg = 1'b0;                          // its last request issued, or stopped
reg ev_no_bus_master_reg = 1'b0;
reg ev_release_reg = 1'b0;
reg ev_error_reg = 1'b0;
reg [CTX_W-1:0] ev_end_ctx_reg = {CTX_W{1'b0}};
reg [7:0] ev_end_result_reg = 8'd0;
reg ev_timeout_reg = 1'b0;
reg [CTX_W-1:0] ev_timeout_ctx_reg = {CTX_W{1'b0}};

reg [OUT_W-1:0] ctx_out_next[0:DESCS-1];
reg [7:0] ctx_result_next[0:DESCS-1];
reg [DESCS-1:0] ctx_finished;
always @* begin
    for (c = 0; c < DESCS; c = c + 1) begin
        ctx_out_next[c] = ctx_out[c]
            + {{(OUT_W-1){1'b0}}, ev_issue_reg && ev_issue_ctx_reg == c[CTX_W-1:0]}
            - {{(OUT_W-1){1'b0}}, ev_release_reg && ev_end_ctx_reg == c[CTX_W-1:0]}
            - {{(OUT_W-1){1'b0}}, ev_timeout_reg && ev_timeout_ctx_reg == c[CTX_W-1:0]};
        ctx_result_next[c] = ctx_result[c];
        if (ev_error_reg && ev_end_ctx_reg == c[CTX_W-1:0] && ctx_result_next[c] == DMA_RESULT_OK) begin
            ctx_result_next[c] = ev_end_result_reg;
        end
        if (ev_timeout_reg && ev_timeout_ctx_reg == c[CTX_W-1:0] && ctx_result_next[c] == DMA_RESULT_OK) begin
            ctx_result_next[c] = DMA_RESULT_TIMEOUT;
        end
        if (ev_no_bus_master_reg && ev_issue_ctx_reg == c[CTX_W-1:0] && ctx_result_next[c] == DMA_RESULT_OK) begin
            ctx_result_next[c] = DMA_RESULT_NO_BUS_MASTER;
        end
        // all its requests answered or timed out (quarantined tags are not waited for)
        ctx_finished[c] = ctx_busy[c] && ctx_issued[c] && ctx_out[c] == {OUT_W{1'b0}};
    end
end

// results leave one at a time, lowest context first
wire [CTX_W-1:0] done_ctx = lowest_ctx(ctx_finished);
wire [DESCS-1:0] done_ctx_bit = ctx_finished & (~ctx_finished + 1'b1);
assign done = |ctx_finished;
assign done_tag = ctx_tag[done_ctx];
assign result = ctx_result[done_ctx];

always @(posedge clk) begin
    rc1_write_reg <= rc_beat && rc_write_ok;
    rc1_sop_reg <= rc_sop;
    rc1_base_reg <= rc_base;
    rc1_data_reg <= s_axis_rc_tdata;
    rc1_keep_reg <= s_axis_rc_tkeep;
    rc1_be_reg <= s_axis_rc_tuser[31:0];
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
    free_tag_reg <= tx_issue ? lowest(tag_free_but_issued) : lowest(tag_free);
    any_free_reg <= tx_issue ? |tag_free_but_issued : |tag_free;

    // this cycle's events, applied to the contexts in the next
    ev_issue_reg <= tx_issue;
    ev_issue_ctx_reg <= cur_ctx_reg;
    ev_issued_reg <= issuing_reg && (!bus_master_enable || (tx_issue && chunk_last));
    ev_no_bus_master_reg <= issuing_reg && !bus_master_enable;
    ev_release_reg <= rc_release;
    ev_error_reg <= rc_error;
    ev_end_ctx_reg <= end_ctx;
    ev_end_result_reg <= end_result;
    ev_timeout_reg <= |timeout_now;
    ev_timeout_ctx_reg <= timeout_ctx;

    for (c = 0; c < DESCS; c = c + 1) begin
        ctx_out[c] <= ctx_out_next[c];
        ctx_result[c] <= ctx_result_next[c];
        if (ev_issued_reg && ev_issue_ctx_reg == c[CTX_W-1:0]) begin
            ctx_issued[c] <= 1'b1;
        end
    end
    if (done && done_ack) begin
        ctx_busy <= ctx_busy & ~done_ctx_bit;
    end

    if (!issuing_reg) begin
        if (start && ready) begin
            host_reg <= start_host;
            buf_lane0_reg <= start_buf - 'd12;
            rem_reg <= start_length;
            cur_ctx_reg <= free_ctx;
            for (c = 0; c < DESCS; c = c + 1) begin
                if (free_ctx_bit[c]) begin
                    ctx_busy[c] <= 1'b1;
                    ctx_issued[c] <= 1'b0;
                    ctx_result[c] <= DMA_RESULT_OK;
                    ctx_tag[c] <= start_tag;
                end
            end
            issuing_reg <= 1'b1;
        end
    end else if (!bus_master_enable) begin
        // nothing more is sent: the descriptor ends with what it has in flight (its
        // context learns it from the events)
        issuing_reg <= 1'b0;
    end else if (tx_issue) begin
        tag_state[free_tag_reg] <= TAG_ACTIVE;
        tag_timer[free_tag_reg] <= {TW{1'b0}};
        tag_lane0[free_tag_reg] <= buf_lane0_reg + chunk_w[BUF_AW:0];
        tag_ctx[free_tag_reg] <= cur_ctx_reg;
        host_reg <= host_reg + {51'd0, chunk};
        buf_lane0_reg <= buf_lane0_reg + chunk_w[BUF_AW:0];
        rem_reg <= rem_reg - chunk17;
        if (chunk_last) begin
            issuing_reg <= 1'b0;
        end
    end

    if (rst) begin
        issuing_reg <= 1'b0;
        ctx_busy <= {DESCS{1'b0}};
        ctx_issued <= {DESCS{1'b0}};
        for (c = 0; c < DESCS; c = c + 1) begin
            ctx_out[c] <= {OUT_W{1'b0}};
        end
        rc_in_pkt_reg <= 1'b0;
        rc1_write_reg <= 1'b0;
        rc_ram_en_reg <= 8'd0;
        rc_ram_we_reg <= 32'd0;
        for (t = 0; t < TAGS; t = t + 1) begin
            tag_state[t] <= TAG_FREE;
        end
        any_free_reg <= 1'b0;
        ev_issue_reg <= 1'b0;
        ev_issued_reg <= 1'b0;
        ev_no_bus_master_reg <= 1'b0;
        ev_release_reg <= 1'b0;
        ev_error_reg <= 1'b0;
        ev_timeout_reg <= 1'b0;
    end
end

endmodule

`resetall
