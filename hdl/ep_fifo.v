/*
 * Synchronous FIFO, first-word fall-through (out_data valid whenever out_valid).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_fifo #
(
    // Width of one entry
    parameter WIDTH = 8,
    // Number of entries (power of two)
    parameter DEPTH = 16
)
(
    input  wire                      clk,
    input  wire                      rst,

    input  wire [WIDTH-1:0]          in_data,
    input  wire                      in_valid,
    output wire                      in_ready,

    output wire [WIDTH-1:0]          out_data,
    output wire                      out_valid,
    input  wire                      out_ready,

    output wire [$clog2(DEPTH):0]    count
);

localparam PTR_W = $clog2(DEPTH);

initial begin
    if (DEPTH < 2 || (1 << PTR_W) != DEPTH) begin
        $error("Error: DEPTH must be a power of two >= 2 (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0] mem[0:DEPTH-1];
reg [PTR_W:0] wr_ptr_reg = 0;
reg [PTR_W:0] rd_ptr_reg = 0;

integer i;
initial begin
    // defined contents, so an empty FIFO never shows X on its output
    for (i = 0; i < DEPTH; i = i + 1) begin
        mem[i] = {WIDTH{1'b0}};
    end
end

wire full = (wr_ptr_reg[PTR_W] != rd_ptr_reg[PTR_W]) && (wr_ptr_reg[PTR_W-1:0] == rd_ptr_reg[PTR_W-1:0]);
wire empty = wr_ptr_reg == rd_ptr_reg;

assign in_ready = !full;
assign out_valid = !empty;
assign out_data = mem[rd_ptr_reg[PTR_W-1:0]];
assign count = wr_ptr_reg - rd_ptr_reg;

always @(posedge clk) begin
    if (in_valid && !full) begin
        mem[wr_ptr_reg[PTR_W-1:0]] <= in_data;
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end
    if (out_ready && !empty) begin
        rd_ptr_reg <= rd_ptr_reg + 1'b1;
    end
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
    end
end

endmodule

`resetall
