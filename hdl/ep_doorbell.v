/*
 * BAR2 doorbells.
 *
 * A host write to slot k latches its value and sets pending[k]; repeated writes
 * coalesce into the pending bit, so no slot's notification is ever lost. Every write
 * is also appended to an ordered FIFO of (slot, value); when the FIFO is full the
 * entry is dropped, counted, and the sticky overflow flag is set (the pending bits
 * still hold the notification). The local CPU reads TAKE[k] to fetch the value and
 * clear pending[k] in one access: a host write arriving in the same cycle wins, so
 * it stays pending.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_doorbell #
(
    // Number of doorbell slots
    parameter SLOTS = 64,
    // Ordered FIFO entries (power of two)
    parameter FIFO_DEPTH = 16
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Doorbell writes from the request decoder
     */
    input  wire                      db_valid,
    input  wire [7:0]                db_slot,
    input  wire [31:0]               db_value,
    input  wire                      db_bad,

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
     * Write-watch window configuration (to the request decoder)
     */
    output wire [4*18-1:0]           watch_base,
    output wire [4*18-1:0]           watch_size,
    output wire [4*4-1:0]            watch_log2,
    output wire [4*8-1:0]            watch_slot,

    /*
     * Interrupt sources (levels)
     */
    output wire                      irq_pending,
    output wire                      irq_fifo,
    output wire                      irq_overflow
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam WORDS = (SLOTS + 31) / 32;
localparam FIFO_AW = $clog2(FIFO_DEPTH);
localparam SLOT_W = (SLOTS > 1) ? $clog2(SLOTS) : 1;   // index into value_mem
localparam BIT_W = $clog2(WORDS * 32);                 // index into the bitmaps

initial begin
    if (SLOTS < 1 || SLOTS > MAX_DB_SLOTS) begin
        $error("Error: SLOTS out of range (instance %m)");
        $finish;
    end
end

reg [WORDS*32-1:0] pending_reg = {WORDS*32{1'b0}};
reg [WORDS*32-1:0] enable_reg = {WORDS{DB_ENABLE_RESET}};
reg [31:0] value_mem[0:SLOTS-1];
reg overflow_reg = 1'b0;
reg [31:0] drops_reg = 32'd0;
reg [31:0] writes_reg = 32'd0;
reg [31:0] bad_reg = 32'd0;
reg [31:0] rdata_reg = 32'd0;
reg [4*18-1:0] watch_base_reg = {4*18{1'b0}};
reg [4*18-1:0] watch_size_reg = {4*18{1'b0}};
reg [4*4-1:0] watch_log2_reg = {4*4{1'b0}};
reg [4*8-1:0] watch_slot_reg = {4*8{1'b0}};

assign watch_base = watch_base_reg;
assign watch_size = watch_size_reg;
assign watch_log2 = watch_log2_reg;
assign watch_slot = watch_slot_reg;

// watch window registers: DB_WATCH + DB_WATCH_STRIDE * w + field
wire watch_access = rb_offset[11:6] == DB_WATCH[11:6];
wire [1:0] watch_w = rb_offset[5:4];
wire [3:0] watch_field = rb_offset[3:0];
reg [31:0] watch_rdata;
always @* begin
    case (watch_field)
        DB_WATCH_BASE[3:0]: watch_rdata = {14'd0, watch_base_reg[watch_w*18 +: 18]};
        DB_WATCH_SIZE[3:0]: watch_rdata = {14'd0, watch_size_reg[watch_w*18 +: 18]};
        DB_WATCH_ENTRY_LOG2[3:0]: watch_rdata = {28'd0, watch_log2_reg[watch_w*4 +: 4]};
        DB_WATCH_SLOT[3:0]: watch_rdata = {24'd0, watch_slot_reg[watch_w*8 +: 8]};
        default: watch_rdata = 32'd0;
    endcase
end

integer i;
initial begin
    for (i = 0; i < SLOTS; i = i + 1) begin
        value_mem[i] = 32'd0;
    end
end

// ordered FIFO
wire [39:0] fifo_head;
wire fifo_valid;
wire fifo_in_ready;
wire [FIFO_AW:0] fifo_count;
wire wr = rb_sel && rb_wr;
wire rd = rb_sel && rb_rd;
wire fifo_pop = wr && rb_offset == DB_FIFO_POP;

ep_fifo #(
    .WIDTH(40),
    .DEPTH(FIFO_DEPTH)
)
fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data({db_slot, db_value}),
    .in_valid(db_valid),
    .in_ready(fifo_in_ready),
    .out_data(fifo_head),
    .out_valid(fifo_valid),
    .out_ready(fifo_pop),
    .count(fifo_count)
);

wire [7:0] slot_index = rb_offset[9:2];
wire slot_exists = {1'b0, slot_index} < SLOTS[8:0];
wire [31:0] slot_value = slot_exists ? value_mem[slot_index[SLOT_W-1:0]] : 32'd0;
wire [4:0] word_index = rb_offset[6:2];
wire word_exists = {27'd0, word_index} < WORDS;

wire [31:0] fifo_status = {overflow_reg, 13'd0, !fifo_in_ready, !fifo_valid, {(15-FIFO_AW){1'b0}}, fifo_count};

assign irq_pending = |(pending_reg & enable_reg);
assign irq_fifo = fifo_valid;
assign irq_overflow = overflow_reg;
assign rb_rdata = rdata_reg;

reg [WORDS*32-1:0] pending_next;

always @* begin
    pending_next = pending_reg;
    // clears by the CPU first ...
    if (rd && rb_offset[11:10] == DB_TAKE[11:10] && slot_exists) begin
        pending_next[slot_index[BIT_W-1:0]] = 1'b0;
    end
    if (wr && rb_offset[11:7] == DB_PENDING[11:7] && word_exists) begin
        pending_next[word_index*32 +: 32] = pending_reg[word_index*32 +: 32] & ~rb_wdata;
    end
    // ... then the host's doorbell, so a write in the same cycle stays pending
    if (db_valid) begin
        pending_next[db_slot[BIT_W-1:0]] = 1'b1;
    end
end

always @(posedge clk) begin
    pending_reg <= pending_next;

    if (db_valid) begin
        value_mem[db_slot[SLOT_W-1:0]] <= db_value;
        writes_reg <= writes_reg + 32'd1;
        if (!fifo_in_ready) begin
            overflow_reg <= 1'b1;
            drops_reg <= drops_reg + 32'd1;
        end
    end
    if (db_bad) begin
        bad_reg <= bad_reg + 32'd1;
    end

    if (wr) begin
        if (rb_offset[11:7] == DB_ENABLE[11:7] && word_exists) begin
            enable_reg[word_index*32 +: 32] <= rb_wdata;
        end
        if (rb_offset == DB_FIFO_STATUS && rb_wdata[DB_FIFO_STATUS_OVERFLOW_BIT]) begin
            overflow_reg <= 1'b0;
        end
        if (watch_access) begin
            case (watch_field)
                DB_WATCH_BASE[3:0]: watch_base_reg[watch_w*18 +: 18] <= rb_wdata[17:0];
                DB_WATCH_SIZE[3:0]: watch_size_reg[watch_w*18 +: 18] <= rb_wdata[17:0];
                DB_WATCH_ENTRY_LOG2[3:0]: watch_log2_reg[watch_w*4 +: 4] <= rb_wdata[3:0];
                DB_WATCH_SLOT[3:0]: watch_slot_reg[watch_w*8 +: 8] <= rb_wdata[7:0];
                default: ;
            endcase
        end
    end

    rdata_reg <= 32'd0;
    if (rd) begin
        if (rb_offset[11] == DB_VALUE[11]) begin
            // VALUE and TAKE windows
            rdata_reg <= slot_value;
        end else if (rb_offset[11:7] == DB_PENDING[11:7]) begin
            rdata_reg <= word_exists ? pending_reg[word_index*32 +: 32] : 32'd0;
        end else if (rb_offset[11:7] == DB_ENABLE[11:7]) begin
            rdata_reg <= word_exists ? enable_reg[word_index*32 +: 32] : 32'd0;
        end else if (watch_access) begin
            rdata_reg <= watch_rdata;
        end else begin
            case (rb_offset)
                DB_FIFO_STATUS: rdata_reg <= fifo_status;
                DB_FIFO_HEAD_SLOT: rdata_reg <= {fifo_valid, 23'd0, fifo_head[39:32]};
                DB_FIFO_HEAD_VALUE: rdata_reg <= fifo_valid ? fifo_head[31:0] : 32'd0;
                DB_FIFO_DROPS: rdata_reg <= drops_reg;
                DB_WRITES: rdata_reg <= writes_reg;
                DB_BAD_WRITES: rdata_reg <= bad_reg;
                default: rdata_reg <= 32'd0;
            endcase
        end
    end

    if (rst) begin
        pending_reg <= {WORDS*32{1'b0}};
        enable_reg <= {WORDS{DB_ENABLE_RESET}};
        overflow_reg <= 1'b0;
        drops_reg <= 32'd0;
        writes_reg <= 32'd0;
        bad_reg <= 32'd0;
        rdata_reg <= 32'd0;
        watch_size_reg <= {4*18{1'b0}};
    end
end

endmodule

`resetall
