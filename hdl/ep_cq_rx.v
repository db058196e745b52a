/*
 * Completer request decode (UltraScale+ CQ, 256-bit, dword aligned).
 *
 * Routes each request by BAR:
 *   BAR0 memory write  -> SRAM port A, one beat per cycle, never back-pressured
 *   BAR0 memory read   -> non-posted queue (completer reads the SRAM)
 *   BAR2 memory write  -> doorbell (one dword per slot)
 *   BAR2 memory read   -> non-posted queue, reads as zero
 *   anything else      -> non-posted: queued as Unsupported Request;
 *                         posted: dropped and counted
 * Requests beyond the SRAM (BAR aperture larger than the SRAM) are treated as
 * unmapped. Writes reach the SRAM in request order, one cycle after the beat;
 * a doorbell leaves this block two cycles after its beat (a register stage between
 * decode and ring), so it can never pass a BAR0 write received before it.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_cq_rx #
(
    // BAR0 SRAM size in bytes
    parameter SRAM_SIZE = 65536,
    // Number of doorbell slots in BAR2
    parameter DB_SLOTS = 64,
    // SRAM byte address width (derived)
    parameter SRAM_AW = $clog2(SRAM_SIZE),
    // SRAM bank row width (derived)
    parameter ROW_WIDTH = SRAM_AW - 5
)
(
    input  wire                      clk,
    input  wire                      rst,
    input  wire                      quiesce,      // function-level reset in process

    /*
     * Completer request interface (from the PCIe core)
     */
    input  wire [255:0]              s_axis_cq_tdata,
    input  wire [7:0]                s_axis_cq_tkeep,
    input  wire                      s_axis_cq_tvalid,
    output wire                      s_axis_cq_tready,
    input  wire                      s_axis_cq_tlast,
    // tuser[87:40] (sop, discontinue, TPH, parity) is not used: the state machine
    // tracks packet boundaries and parity checking is disabled in the core.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [87:0]               s_axis_cq_tuser,
    /* verilator lint_on UNUSEDSIGNAL */

    /*
     * SRAM port A writes
     */
    output wire [7:0]                ram_wr_en,
    output wire [31:0]               ram_wr_we,
    output wire [8*ROW_WIDTH-1:0]    ram_wr_row,
    output wire [255:0]              ram_wr_data,

    /*
     * Non-posted request to the completer
     */
    output wire [1:0]                np_kind,
    output wire [15:0]               np_requester_id,
    output wire [7:0]                np_tag,
    output wire [7:0]                np_func,
    output wire [2:0]                np_tc,
    output wire [2:0]                np_attr,
    output wire [SRAM_AW-3:0]        np_dw_addr,
    output wire [11:0]               np_byte_addr,
    output wire [12:0]               np_byte_count,
    output wire                      np_valid,
    input  wire                      np_ready,

    /*
     * Write-watch windows (from the doorbell block): a BAR0 write ending inside a window
     * rings that window's slot with the index of the first entry not completely written
     */
    input  wire [4*18-1:0]           watch_base,
    input  wire [4*18-1:0]           watch_size,
    input  wire [4*4-1:0]            watch_log2,
    input  wire [4*8-1:0]            watch_slot,

    /*
     * Doorbell writes
     */
    output wire                      db_valid,
    output wire [7:0]                db_slot,
    output wire [31:0]               db_value,
    output wire                      db_bad,

    /*
     * Statistics (one-cycle pulses)
     */
    output wire                      stat_mem_rd,
    output wire                      stat_mem_wr,
    output wire                      stat_posted_drop,
    output wire                      stat_np_ur
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DW_AW = SRAM_AW - 2;
localparam SRAM_DWORDS = SRAM_SIZE / 4;
localparam WINDOWS = DB_WATCH_WINDOWS;

initial begin
    if (WINDOWS != 4 || SRAM_AW > 17) begin
        $error("Error: watch windows are 4 of 18-bit offsets (instance %m)");
        $finish;
    end
    if (DB_SLOTS < 1 || DB_SLOTS > MAX_DB_SLOTS) begin
        $error("Error: DB_SLOTS out of range (instance %m)");
        $finish;
    end
    if (SRAM_AW < 8 || ROW_WIDTH != SRAM_AW - 5) begin
        $error("Error: bad SRAM size (instance %m)");
        $finish;
    end
end

localparam [1:0]
    STATE_IDLE = 2'd0,
    STATE_WRITE = 2'd1,
    STATE_DROP = 2'd2;

reg [1:0] state_reg = STATE_IDLE, state_next;

// ---------------------------------------------------------------------------
// Descriptor fields (valid on the first beat)
// ---------------------------------------------------------------------------

wire [63:2] req_addr = s_axis_cq_tdata[63:2];
wire [10:0] req_dw_count = s_axis_cq_tdata[74:64];
wire [3:0]  req_type = s_axis_cq_tdata[78:75];
wire [15:0] req_requester_id = s_axis_cq_tdata[95:80];
wire [7:0]  req_tag = s_axis_cq_tdata[103:96];
wire [7:0]  req_func = s_axis_cq_tdata[111:104];
wire [2:0]  req_bar_id = s_axis_cq_tdata[114:112];
wire [5:0]  req_bar_aperture = s_axis_cq_tdata[120:115];
wire [2:0]  req_tc = s_axis_cq_tdata[123:121];
wire [2:0]  req_attr = s_axis_cq_tdata[126:124];
wire [3:0]  req_first_be = s_axis_cq_tuser[3:0];
wire [3:0]  req_last_be = s_axis_cq_tuser[7:4];
wire [31:0] beat_byte_en = s_axis_cq_tuser[39:8];

// address bits 63..10 that lie inside the BAR aperture (BARs are at least 4 KiB)
wire [63:10] aperture_bits = (req_bar_aperture <= 6'd10) ? 54'd0 :
    ~({54{1'b1}} << (req_bar_aperture - 6'd10));

wire sram_beyond_hi = |(req_addr[63:SRAM_AW] & aperture_bits[63:SRAM_AW]);
// zero extension to a width above every SRAM's dword address width: the sum takes its low bits
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] req_dw_count32 = {21'd0, req_dw_count};
/* verilator lint_on UNUSEDSIGNAL */
wire [DW_AW:0] sram_end_dw = {1'b0, req_addr[SRAM_AW-1:2]} + req_dw_count32[DW_AW:0];
wire sram_in_range = !sram_beyond_hi && sram_end_dw <= SRAM_DWORDS[DW_AW:0];

wire db_beyond_hi = |(req_addr[63:10] & aperture_bits[63:10]);
wire db_ok = !db_beyond_hi && {1'b0, req_addr[9:2]} < DB_SLOTS[8:0] && req_dw_count == 11'd1;

wire is_mem_rd = req_type == REQ_MEM_READ;
wire is_mem_wr = req_type == REQ_MEM_WRITE;
wire is_posted = is_mem_wr || req_type == REQ_MSG || req_type == REQ_MSG_VENDOR || req_type == REQ_MSG_ATS;
// while the function is being reset (FLR) no BAR decodes: reads get UR, writes are dropped
wire to_sram = !quiesce && req_bar_id == BAR_SRAM && sram_in_range;
wire to_db = !quiesce && req_bar_id == BAR_DOORBELL;

// byte count and first byte offset of a read (PCIe base spec, byte count rules)
function [1:0] lsb_index(input [3:0] be);
    casez (be)
        4'b???1: lsb_index = 2'd0;
        4'b??10: lsb_index = 2'd1;
        4'b?100: lsb_index = 2'd2;
        4'b1000: lsb_index = 2'd3;
        default: lsb_index = 2'd0;
    endcase
endfunction

function [1:0] msb_index(input [3:0] be);
    casez (be)
        4'b1???: msb_index = 2'd3;
        4'b01??: msb_index = 2'd2;
        4'b001?: msb_index = 2'd1;
        4'b0001: msb_index = 2'd0;
        default: msb_index = 2'd0;
    endcase
endfunction

wire [1:0] req_first_byte = lsb_index(req_first_be);
wire [1:0] req_first_be_msb = msb_index(req_first_be);
wire [1:0] req_last_be_msb = msb_index(req_last_be);

wire [12:0] req_byte_count =
    (req_dw_count == 11'd1) ?
        ((req_first_be == 4'd0) ? 13'd1 : {11'd0, req_first_be_msb - req_first_byte} + 13'd1) :
        ({req_dw_count, 2'b00} - {11'd0, req_first_byte} - {11'd0, 2'd3 - req_last_be_msb});

wire [11:0] req_byte_addr = {req_addr[11:2], req_first_byte};

// ---------------------------------------------------------------------------
// Write-watch windows: evaluated on the first beat, rung after the last beat
// ---------------------------------------------------------------------------

wire [17:0] wr_end = {{(18-SRAM_AW){1'b0}}, req_addr[SRAM_AW-1:2], 2'b00} + {5'd0, req_dw_count, 2'b00};

// Two stages, to keep each within the logic-depth budget (docs/synthesis.md): on the first
// beat, each window's hit and the write's end relative to its base are registered (stage
// A); the ring is then chosen from those registers: the lowest window hit, its entry index.
// A doorbell (BAR2) takes the same stage, so rings leave in the order their TLPs came.
reg [WINDOWS-1:0] a_watch_hit_reg = {WINDOWS{1'b0}};
reg [WINDOWS*18-1:0] a_watch_rel_reg = {WINDOWS*18{1'b0}};
reg a_db_reg = 1'b0;                       // stage A holds a BAR2 doorbell
reg [7:0] a_db_slot_reg = 8'd0;
reg [31:0] a_db_value_reg = 32'd0;
reg a_single_reg = 1'b0;                   // stage A holds a TLP that ended on its first beat

reg [WINDOWS-1:0] w_hit;
reg [17:0] h_base, h_size;
integer h;

always @* begin
    for (h = 0; h < WINDOWS; h = h + 1) begin
        h_base = watch_base[h*18 +: 18];
        h_size = watch_size[h*18 +: 18];
        w_hit[h] = h_size != 18'd0 && wr_end > h_base && wr_end - h_base <= h_size;
    end
end

reg [17:0] w_size, w_rel, w_entries, w_idx;
reg [3:0] w_log2;
integer w;

reg watch_hit;
reg [7:0] watch_hit_slot;
reg [15:0] watch_hit_index;
always @* begin
    watch_hit = |a_watch_hit_reg;
    watch_hit_slot = 8'd0;
    watch_hit_index = 16'd0;
    for (w = WINDOWS - 1; w >= 0; w = w - 1) begin
        w_size = watch_size[w*18 +: 18];
        w_log2 = watch_log2[w*4 +: 4];
        w_rel = a_watch_rel_reg[w*18 +: 18];
        w_entries = w_size >> w_log2;
        w_idx = w_rel >> w_log2;
        if (a_watch_hit_reg[w]) begin
            watch_hit_slot = watch_slot[w*8 +: 8];
            watch_hit_index = (w_idx == w_entries) ? 16'd0 : w_idx[15:0];
        end
    end
end

// ---------------------------------------------------------------------------
// SRAM write path: per-bank lane rotation
// ---------------------------------------------------------------------------
// Lane l of beat k carries dword (start + 8k + l - 4). With base = start - 4 + 8k,
// bank b is fed by lane (b - base) mod 8, at row (base >> 3) + (b < base mod 8).

reg [DW_AW-1:0] wr_base_reg = {DW_AW{1'b0}};
wire first_beat = state_reg == STATE_IDLE;
wire [DW_AW-1:0] wr_base = first_beat ? req_addr[SRAM_AW-1:2] - {{(DW_AW-3){1'b0}}, 3'd4} : wr_base_reg;

reg [7:0] ram_wr_en_reg = 8'd0;
reg [31:0] ram_wr_we_reg = 32'd0;
reg [8*ROW_WIDTH-1:0] ram_wr_row_reg = {8*ROW_WIDTH{1'b0}};
reg [255:0] ram_wr_data_reg = 256'd0;

assign ram_wr_en = ram_wr_en_reg;
assign ram_wr_we = ram_wr_we_reg;
assign ram_wr_row = ram_wr_row_reg;
assign ram_wr_data = ram_wr_data_reg;

// ---------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------

reg [1:0] np_kind_reg = 2'd0;
reg [15:0] np_requester_id_reg = 16'd0;
reg [7:0] np_tag_reg = 8'd0;
reg [7:0] np_func_reg = 8'd0;
reg [2:0] np_tc_reg = 3'd0;
reg [2:0] np_attr_reg = 3'd0;
reg [SRAM_AW-3:0] np_dw_addr_reg = {SRAM_AW-2{1'b0}};
reg [11:0] np_byte_addr_reg = 12'd0;
reg [12:0] np_byte_count_reg = 13'd0;
reg np_valid_reg = 1'b0;

assign np_kind = np_kind_reg;
assign np_requester_id = np_requester_id_reg;
assign np_tag = np_tag_reg;
assign np_func = np_func_reg;
assign np_tc = np_tc_reg;
assign np_attr = np_attr_reg;
assign np_dw_addr = np_dw_addr_reg;
assign np_byte_addr = np_byte_addr_reg;
assign np_byte_count = np_byte_count_reg;
assign np_valid = np_valid_reg;

reg db_valid_reg = 1'b0;
reg [7:0] db_slot_reg = 8'd0;
reg [31:0] db_value_reg = 32'd0;
reg db_bad_reg = 1'b0;

assign db_valid = db_valid_reg;
assign db_slot = db_slot_reg;
assign db_value = db_value_reg;
assign db_bad = db_bad_reg;

reg stat_mem_rd_reg = 1'b0;
reg stat_mem_wr_reg = 1'b0;
reg stat_posted_drop_reg = 1'b0;
reg stat_np_ur_reg = 1'b0;

assign stat_mem_rd = stat_mem_rd_reg;
assign stat_mem_wr = stat_mem_wr_reg;
assign stat_posted_drop = stat_posted_drop_reg;
assign stat_np_ur = stat_np_ur_reg;

// A new request is accepted only when a non-posted request could be queued; with
// the core's NP credit flow control (see ep_cc_tx) this never stalls in practice.
wire np_blocked = np_valid_reg && !np_ready;
assign s_axis_cq_tready = !(first_beat && np_blocked);

wire beat = s_axis_cq_tvalid && s_axis_cq_tready;

wire sop_sram_write = first_beat && is_mem_wr && to_sram;
wire write_beat = beat && (sop_sram_write || state_reg == STATE_WRITE);

integer b;
reg [2:0] lane;
reg [7:0] wr_en_next;
reg [31:0] wr_we_next;
wire [8*ROW_WIDTH-1:0] wr_row_next;
reg [255:0] wr_data_next;

ep_bank_rows #(
    .DW_AW(DW_AW)
)
wr_rows_inst (
    .base(wr_base),
    .rows(wr_row_next)
);

always @* begin
    for (b = 0; b < 8; b = b + 1) begin
        lane = b[2:0] - wr_base[2:0];
        wr_data_next[b*32 +: 32] = s_axis_cq_tdata[lane*32 +: 32];
        if (write_beat && s_axis_cq_tkeep[lane] && !(first_beat && !lane[2])) begin
            wr_we_next[b*4 +: 4] = beat_byte_en[lane*4 +: 4];
        end else begin
            wr_we_next[b*4 +: 4] = 4'd0;
        end
        wr_en_next[b] = |wr_we_next[b*4 +: 4];
    end
end

always @* begin
    state_next = state_reg;
    if (beat) begin
        if (first_beat) begin
            if (!s_axis_cq_tlast) begin
                state_next = sop_sram_write ? STATE_WRITE : STATE_DROP;
            end
        end else if (s_axis_cq_tlast) begin
            state_next = STATE_IDLE;
        end
    end
end

always @(posedge clk) begin
    state_reg <= state_next;

    // SRAM write stage
    ram_wr_en_reg <= wr_en_next;
    ram_wr_we_reg <= wr_we_next;
    ram_wr_row_reg <= wr_row_next;
    ram_wr_data_reg <= wr_data_next;
    if (write_beat) begin
        wr_base_reg <= wr_base + {{(DW_AW-4){1'b0}}, 4'd8};
    end

    // non-posted request
    if (np_valid_reg && np_ready) begin
        np_valid_reg <= 1'b0;
    end

    db_valid_reg <= 1'b0;
    db_bad_reg <= 1'b0;
    stat_mem_rd_reg <= 1'b0;
    stat_mem_wr_reg <= 1'b0;
    stat_posted_drop_reg <= 1'b0;
    stat_np_ur_reg <= 1'b0;

    // stage A: every first beat
    a_single_reg <= beat && first_beat && s_axis_cq_tlast;
    if (beat && first_beat) begin
        a_db_reg <= is_posted && is_mem_wr && to_db && db_ok;
        a_db_slot_reg <= req_addr[9:2];
        a_db_value_reg <= s_axis_cq_tdata[159:128] & {{8{req_first_be[3]}}, {8{req_first_be[2]}}, {8{req_first_be[1]}}, {8{req_first_be[0]}}};
        a_watch_hit_reg <= sop_sram_write ? w_hit : {WINDOWS{1'b0}};
        for (h = 0; h < WINDOWS; h = h + 1) begin
            a_watch_rel_reg[h*18 +: 18] <= wr_end - watch_base[h*18 +: 18];
        end
    end

    // a ring leaves after the TLP's last beat (a watched write is then all in the SRAM):
    // the cycle after a single-beat TLP, with the last beat of a longer one
    if (a_single_reg || (write_beat && s_axis_cq_tlast && !first_beat)) begin
        db_valid_reg <= a_db_reg || watch_hit;
        db_slot_reg <= a_db_reg ? a_db_slot_reg : watch_hit_slot;
        db_value_reg <= a_db_reg ? a_db_value_reg : {16'd0, watch_hit_index};
    end

    if (beat && first_beat) begin
        stat_mem_rd_reg <= is_mem_rd;
        stat_mem_wr_reg <= is_mem_wr;
        if (is_posted) begin
            // a doorbell rings from stage A; a write that is neither it nor an SRAM write is dropped
            if (!(is_mem_wr && (to_sram || (to_db && db_ok)))) begin
                stat_posted_drop_reg <= 1'b1;
                db_bad_reg <= is_mem_wr && to_db;
            end
        end else begin
            np_valid_reg <= 1'b1;
            np_requester_id_reg <= req_requester_id;
            np_tag_reg <= req_tag;
            np_func_reg <= req_func;
            np_tc_reg <= req_tc;
            np_attr_reg <= req_attr;
            np_dw_addr_reg <= req_addr[SRAM_AW-1:2];
            np_byte_addr_reg <= req_byte_addr;
            np_byte_count_reg <= req_byte_count;
            if (is_mem_rd && to_sram) begin
                np_kind_reg <= NP_KIND_SRAM;
            end else if (is_mem_rd && to_db) begin
                np_kind_reg <= NP_KIND_ZERO;
            end else begin
                np_kind_reg <= NP_KIND_UR;
                stat_np_ur_reg <= 1'b1;
            end
        end
    end

    if (rst) begin
        state_reg <= STATE_IDLE;
        ram_wr_en_reg <= 8'd0;
        ram_wr_we_reg <= 32'd0;
        np_valid_reg <= 1'b0;
        db_valid_reg <= 1'b0;
        db_bad_reg <= 1'b0;
        a_single_reg <= 1'b0;
        stat_mem_rd_reg <= 1'b0;
        stat_mem_wr_reg <= 1'b0;
        stat_posted_drop_reg <= 1'b0;
        stat_np_ur_reg <= 1'b0;
    end
end

endmodule

`resetall
