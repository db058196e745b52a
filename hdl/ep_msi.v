/*
 * MSI generator for the UltraScale+ cfg_interrupt_msi_* interface (PF0).
 *
 * The local CPU writes a vector number to REQUEST; the vector becomes pending.
 * Pending vectors are sent lowest first, one at a time: a one-cycle one-hot pulse on
 * cfg_interrupt_msi_int, then a wait for cfg_interrupt_msi_sent or _fail (or a
 * timeout). A vector that is masked (per-vector mask bits, read back through
 * cfg_interrupt_msi_select/_data) stays pending and is sent once unmasked. A request
 * fails, is counted and flagged per vector when MSI is disabled, when the vector is
 * beyond the enabled count (multiple message enable), on _fail, or on timeout.
 * A vector requested again while its MSI is in flight is pending again: never lost.
 * The pending vectors are exported to the core (cfg_interrupt_msi_pending_status, sampled
 * when _data_enable pulses after each change), so the host reads them in the MSI
 * capability's Pending Bits register, as per-vector masking requires.
 *
 * Moderation, per vector, as NICs throttle interrupts (MODERATE, set by the firmware):
 * with a time set, requests are held and the vector becomes pending that many cycles after
 * the first one held, or at once when the count is reached; a lone request is thus late by
 * at most the time, and a burst costs one MSI. Time 0 (after reset) sends each request.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_msi #
(
    // Number of vectors the CPU may request (1 to 32)
    parameter VECTORS = 32,
    // Cycles to wait for cfg_interrupt_msi_sent or _fail
    parameter TIMEOUT_CYCLES = 4096
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
     * PCIe core MSI interface, physical function 0
     */
    input  wire                      msi_enable,
    input  wire [2:0]                msi_mmenable,
    input  wire [31:0]               msi_mask,
    output wire [31:0]               cfg_interrupt_msi_int,
    input  wire                      cfg_interrupt_msi_sent,
    input  wire                      cfg_interrupt_msi_fail,
    output wire [31:0]               cfg_interrupt_msi_pending_status,
    output wire                      cfg_interrupt_msi_pending_status_data_enable,

    /*
     * Interrupt source (level): some vector failed
     */
    output wire                      irq_fail
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

initial begin
    if (VECTORS < 1 || VECTORS > 32) begin
        $error("Error: VECTORS must be 1 to 32 (instance %m)");
        $finish;
    end
end

localparam TW = $clog2(TIMEOUT_CYCLES + 1);
localparam VI = (VECTORS > 1) ? $clog2(VECTORS) : 1;       // vector index width

reg [31:0] pending_reg = 32'd0;
reg [31:0] failed_vectors_reg = 32'd0;
reg [31:0] sent_count_reg = 32'd0;
reg [31:0] failed_count_reg = 32'd0;
reg [31:0] msi_int_reg = 32'd0;
reg busy_reg = 1'b0;
reg [31:0] cur_reg = 32'd0;                 // the vector in flight, one-hot
reg [TW-1:0] timer_reg = {TW{1'b0}};
reg [31:0] rdata_reg = 32'd0;
reg [31:0] pending_status_reg = 32'd0;
reg pending_status_we_reg = 1'b0;
reg [31:0] requests_reg = 32'd0;

// moderation: per vector its setting, the requests it holds and the cycles since the first
localparam CW = MSI_MODERATE_COUNT_WIDTH;
localparam MW = MSI_MODERATE_TIME_WIDTH;
reg [4:0] mod_sel_reg = 5'd0;
reg [CW-1:0] mod_count[0:VECTORS-1];
reg [MW-1:0] mod_time[0:VECTORS-1];
reg [CW-1:0] held[0:VECTORS-1];
reg [MW-1:0] held_cycles[0:VECTORS-1];
integer v;
initial begin
    for (v = 0; v < VECTORS; v = v + 1) begin
        mod_count[v] = {CW{1'b0}};
        mod_time[v] = {MW{1'b0}};
        held[v] = {CW{1'b0}};
        held_cycles[v] = {MW{1'b0}};
    end
end

assign cfg_interrupt_msi_int = msi_int_reg;
assign cfg_interrupt_msi_pending_status = pending_status_reg;
assign cfg_interrupt_msi_pending_status_data_enable = pending_status_we_reg;
assign irq_fail = |failed_vectors_reg;
assign rb_rdata = rdata_reg;

wire wr = rb_sel && rb_wr;
wire rd = rb_sel && rb_rd;
wire request = wr && rb_offset == MSI_REQUEST;
wire request_in_range = rb_wdata < VECTORS;

// a request in range, registered before it reaches the pending bits: the bus decode and
// the moderation arithmetic in one cycle were over the logic depth budget (docs/synthesis.md)
reg req_reg = 1'b0;
reg [4:0] req_vec_reg = 5'd0;
always @(posedge clk) begin
    req_reg <= request && request_in_range && !rst;
    req_vec_reg <= rb_wdata[4:0];
end

// vectors the host lets this function send: registered (the host changes its MSI
// capability while configuring; a cycle's lag is harmless, and the decode in front of
// the pick put it over the logic depth budget, docs/synthesis.md)
reg [31:0] send_ok_reg = 32'd0;         // enabled and within 2**mmenable; a pending vector outside fails
always @(posedge clk) begin
    send_ok_reg <= {32{msi_enable}} & ((msi_mmenable >= 3'd5) ? 32'hffff_ffff :
        ~(32'hffff_ffff << (6'd1 << msi_mmenable)));
end
wire [31:0] fail_now = pending_reg & ~send_ok_reg;
wire [31:0] sendable = pending_reg & send_ok_reg & ~msi_mask;

// the lowest set bit, one-hot (x & -x: a carry chain, not a priority encoder)
wire [31:0] fail_pick_bit = fail_now & (~fail_now + 32'd1);
wire [31:0] send_pick_bit = sendable & (~sendable + 32'd1);

wire done_ok = busy_reg && cfg_interrupt_msi_sent;
wire done_fail = busy_reg && !cfg_interrupt_msi_sent &&
    (cfg_interrupt_msi_fail || timer_reg == TIMEOUT_CYCLES[TW-1:0]);
wire fail_pick = !busy_reg && fail_now != 0;
wire send_pick = !busy_reg && fail_now == 0 && sendable != 0;

reg [31:0] pending_next;
reg [31:0] failed_vectors_next;
reg [VECTORS-1:0] release_now;      // held requests become pending this cycle
reg [VECTORS-1:0] hold_now;         // this cycle's request is held
reg [VECTORS-1:0] set_now;          // this cycle's request makes its vector pending at once
reg at_time, at_count, at_count_next;
wire sel_ok = {27'd0, mod_sel_reg} < VECTORS;

// release: the hold reached its time, or its count with or without this cycle's request.
// Each term is read off registers, so only the request's own decode stands in front of
// the pending bits (the held count plus the request, then compared, was too deep)
always @* begin
    for (v = 0; v < VECTORS; v = v + 1) begin
        hold_now[v] = req_reg && req_vec_reg == v[4:0] && mod_time[v] != {MW{1'b0}};
        set_now[v] = req_reg && req_vec_reg == v[4:0] && mod_time[v] == {MW{1'b0}};
        at_time = held[v] != {CW{1'b0}} && held_cycles[v] >= mod_time[v] - 1'b1;
        at_count = mod_count[v] != {CW{1'b0}} && held[v] >= mod_count[v];
        at_count_next = mod_count[v] != {CW{1'b0}} && held[v] != {CW{1'b1}} && held[v] + 1'b1 >= mod_count[v];
        release_now[v] = (held[v] != {CW{1'b0}} || hold_now[v]) && (
            mod_time[v] == {MW{1'b0}} ||                                  // moderation turned off
            at_time || at_count || (hold_now[v] && at_count_next));
    end
end

always @* begin
    pending_next = pending_reg;
    failed_vectors_next = failed_vectors_reg;
    if (fail_pick) begin
        pending_next = pending_next & ~fail_pick_bit;
        failed_vectors_next = failed_vectors_next | fail_pick_bit;
    end
    if (send_pick) begin
        pending_next = pending_next & ~send_pick_bit;
    end
    if (done_fail) begin
        failed_vectors_next = failed_vectors_next | cur_reg;
    end
    if (wr && rb_offset == MSI_FAILED_VECTORS) begin
        failed_vectors_next = failed_vectors_next & ~rb_wdata;
    end
    // a new request wins over the clear of the same vector
    pending_next[VECTORS-1:0] = pending_next[VECTORS-1:0] | set_now | release_now;
end

// PENDING reads a request as pending from the cycle after its write, as before the request
// was registered (firmware may read it back at once)
reg [31:0] pending_read;
always @* begin
    pending_read = pending_reg;
    pending_read[VECTORS-1:0] = pending_read[VECTORS-1:0] | set_now | release_now;
end

always @(posedge clk) begin
    pending_reg <= pending_next;
    failed_vectors_reg <= failed_vectors_next;
    msi_int_reg <= 32'd0;
    pending_status_reg <= pending_reg;
    pending_status_we_reg <= pending_reg != pending_status_reg;

    if (send_pick) begin
        msi_int_reg <= send_pick_bit;
        cur_reg <= send_pick_bit;
        busy_reg <= 1'b1;
        timer_reg <= {TW{1'b0}};
    end
    if (busy_reg) begin
        timer_reg <= timer_reg + 1'b1;
    end
    if (done_ok) begin
        busy_reg <= 1'b0;
        sent_count_reg <= sent_count_reg + 32'd1;
    end
    if (done_fail) begin
        busy_reg <= 1'b0;
    end
    if (fail_pick || done_fail || (request && !request_in_range)) begin
        failed_count_reg <= failed_count_reg + 32'd1;
    end
    if (request && request_in_range) begin
        requests_reg <= requests_reg + 32'd1;
    end

    for (v = 0; v < VECTORS; v = v + 1) begin
        if (release_now[v]) begin
            held[v] <= {CW{1'b0}};
        end else if (hold_now[v] && held[v] != {CW{1'b1}}) begin
            held[v] <= held[v] + 1'b1;
        end
        // cycles since the first held request (saturating)
        if (held[v] == {CW{1'b0}} || release_now[v]) begin
            held_cycles[v] <= {MW{1'b0}};
        end else if (held_cycles[v] != {MW{1'b1}}) begin
            held_cycles[v] <= held_cycles[v] + 1'b1;
        end
    end
    if (wr && rb_offset == MSI_MODERATE_SELECT) begin
        mod_sel_reg <= rb_wdata[4:0];
    end
    if (wr && rb_offset == MSI_MODERATE && sel_ok) begin
        mod_count[mod_sel_reg[VI-1:0]] <= rb_wdata[CW-1:0];
        mod_time[mod_sel_reg[VI-1:0]] <= rb_wdata[MSI_MODERATE_TIME_SHIFT +: MW];
    end

    rdata_reg <= 32'd0;
    if (rd) begin
        case (rb_offset)
            MSI_PENDING: rdata_reg <= pending_read;
            MSI_STATUS: rdata_reg <= ({31'd0, msi_enable} << MSI_STATUS_ENABLE_BIT) |
                ({31'd0, busy_reg} << MSI_STATUS_BUSY_BIT) |
                ({29'd0, msi_mmenable} << MSI_STATUS_MMENABLE_SHIFT);
            MSI_MASK: rdata_reg <= msi_mask;
            MSI_SENT: rdata_reg <= sent_count_reg;
            MSI_FAILED: rdata_reg <= failed_count_reg;
            MSI_FAILED_VECTORS: rdata_reg <= failed_vectors_reg;
            MSI_MODERATE_SELECT: rdata_reg <= {27'd0, mod_sel_reg};
            MSI_MODERATE: rdata_reg <= sel_ok ? ({{(32-MW){1'b0}}, mod_time[mod_sel_reg[VI-1:0]]} << MSI_MODERATE_TIME_SHIFT) |
                {{(32-CW){1'b0}}, mod_count[mod_sel_reg[VI-1:0]]} : 32'd0;
            MSI_REQUESTS: rdata_reg <= requests_reg;
            default: rdata_reg <= 32'd0;
        endcase
    end

    if (rst) begin
        pending_reg <= 32'd0;
        failed_vectors_reg <= 32'd0;
        sent_count_reg <= 32'd0;
        failed_count_reg <= 32'd0;
        msi_int_reg <= 32'd0;
        busy_reg <= 1'b0;
        rdata_reg <= 32'd0;
        pending_status_reg <= 32'd0;
        pending_status_we_reg <= 1'b1;      // the core learns that nothing is pending
        requests_reg <= 32'd0;
        mod_sel_reg <= 5'd0;
        for (v = 0; v < VECTORS; v = v + 1) begin
            mod_count[v] <= {CW{1'b0}};
            mod_time[v] <= {MW{1'b0}};
            held[v] <= {CW{1'b0}};
            held_cycles[v] <= {MW{1'b0}};
        end
    end
end

endmodule

`resetall
