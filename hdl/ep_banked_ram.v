/*
 * Banked RAM (BAR0 SRAM, DMA buffer): eight 32-bit banks, bank = dword address mod 8.
 *
 * Each port addresses every bank independently, so one 256-bit beat of any dword
 * alignment reads or writes eight consecutive dwords in one cycle. Port A is the PCIe
 * side; port B the local CPU's window (one dword: ep_dword_port), which the DMA buffer
 * shares with the DMA write engine.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_banked_ram #
(
    // SRAM size in bytes (power of two, at least 256)
    parameter SIZE = 65536,
    // Row address width of one bank (derived)
    parameter ROW_WIDTH = $clog2(SIZE) - 5
)
(
    input  wire                      clk,

    /*
     * Port A: per-bank row address, byte enables and data
     */
    input  wire [7:0]                a_en,
    input  wire [31:0]               a_we,
    input  wire [8*ROW_WIDTH-1:0]    a_row,
    input  wire [255:0]              a_din,
    output wire [255:0]              a_dout,

    /*
     * Port B: per-bank row address, byte enables and data
     */
    input  wire [7:0]                b_en,
    input  wire [31:0]               b_we,
    input  wire [8*ROW_WIDTH-1:0]    b_row,
    input  wire [255:0]              b_din,
    output wire [255:0]              b_dout
);

initial begin
    if ((1 << $clog2(SIZE)) != SIZE || SIZE < 256) begin
        $error("Error: SIZE must be a power of two >= 256 (instance %m)");
        $finish;
    end
    if (ROW_WIDTH != $clog2(SIZE) - 5) begin
        $error("Error: ROW_WIDTH must not be overridden (instance %m)");
        $finish;
    end
end

genvar n;
generate
for (n = 0; n < 8; n = n + 1) begin : bank
    ep_ram_dp #(
        .ADDR_WIDTH(ROW_WIDTH)
    )
    ram_inst (
        .clk(clk),
        .a_en(a_en[n]),
        .a_we(a_we[n*4 +: 4]),
        .a_addr(a_row[n*ROW_WIDTH +: ROW_WIDTH]),
        .a_din(a_din[n*32 +: 32]),
        .a_dout(a_dout[n*32 +: 32]),
        .b_en(b_en[n]),
        .b_we(b_we[n*4 +: 4]),
        .b_addr(b_row[n*ROW_WIDTH +: ROW_WIDTH]),
        .b_din(b_din[n*32 +: 32]),
        .b_dout(b_dout[n*32 +: 32])
    );
end
endgenerate

endmodule

`resetall
