/*
 * Rows of an 8-bank RAM (ep_banked_ram: dword d is in bank d mod 8, row d / 8) that hold
 * the eight consecutive dwords starting at dword `base`: bank g holds dword
 * base + ((g - base) mod 8), one row further than base's when g < base mod 8.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_bank_rows #
(
    // Dword address width
    parameter DW_AW = 14,
    // Row address width of a bank (derived)
    parameter ROW_WIDTH = DW_AW - 3
)
(
    input  wire [DW_AW-1:0]          base,
    output wire [8*ROW_WIDTH-1:0]    rows
);

genvar g;
generate
for (g = 0; g < 8; g = g + 1) begin : bank
    localparam [2:0] BANK = g;
    if (g == 7) begin : last_bank
        // no bank index is above 7: always base's row
        assign rows[g*ROW_WIDTH +: ROW_WIDTH] = base[DW_AW-1:3];
    end else begin : other_bank
        assign rows[g*ROW_WIDTH +: ROW_WIDTH] = base[DW_AW-1:3] + {{(ROW_WIDTH-1){1'b0}}, BANK < base[2:0]};
    end
end
endgenerate

endmodule

`resetall
