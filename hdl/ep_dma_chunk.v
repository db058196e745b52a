/*
 * The next TLP of a DMA transfer: at most `boundary` bytes (max read request size for
 * reads, max payload size for writes; both powers of two up to 4 KiB, so a TLP never
 * crosses a 4 KiB boundary) ending on a boundary-aligned address, its dword count and
 * its first/last byte enables.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma_chunk
(
    input  wire [11:0]               addr,            // host byte address [11:0] of the TLP's first byte
    input  wire [16:0]               remaining,       // bytes of the transfer not yet sent or requested
    input  wire [12:0]               boundary,        // bytes: 128 to 4096, a power of two
    input  wire [12:0]               boundary_mask,   // boundary - 1 (callers register both)
    output wire [12:0]               bytes,
    output wire                      last,            // the transfer's last TLP: bytes == remaining
    output wire [10:0]               dwords,
    output wire [3:0]                first_be,
    output wire [3:0]                last_be
);

wire [12:0] to_boundary = boundary - ({1'b0, addr} & boundary_mask);
// at most 4 KiB: the remaining bytes if fewer than to the boundary
wire fewer = remaining[16:13] == 4'd0 && remaining[12:0] < to_boundary;
assign bytes = fewer ? remaining[12:0] : to_boundary;
assign last = remaining[16:13] == 4'd0 && remaining[12:0] <= to_boundary;

// dwords covered: (first byte offset + bytes + 3) / 4; the low bits of the sum are the
// end offset and bit 13 is never set (a chunk is at most 4 KiB)
/* verilator lint_off UNUSEDSIGNAL */
wire [13:0] span = {12'd0, addr[1:0]} + {1'b0, bytes} + 14'd3;
/* verilator lint_on UNUSEDSIGNAL */
assign dwords = span[12:2];

wire [1:0] end_byte = addr[1:0] + bytes[1:0] - 2'd1;     // offset of the last byte in its dword
wire [3:0] first_mask = 4'hf << addr[1:0];
wire [3:0] last_mask = 4'hf >> (2'd3 - end_byte);
assign first_be = (dwords == 11'd1) ? (first_mask & last_mask) : first_mask;
assign last_be = (dwords == 11'd1) ? 4'd0 : last_mask;

endmodule

`resetall
