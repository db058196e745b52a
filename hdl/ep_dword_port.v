/*
 * One dword access (the local CPU's) on a banked RAM port (ep_banked_ram: dword d in bank
 * d mod 8, row d / 8): the bank it addresses is enabled, the others idle; the read data is
 * that bank's, one cycle after en.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dword_port #
(
    // Row address width of a bank
    parameter ROW_WIDTH = 11
)
(
    input  wire                      clk,

    input  wire                      en,
    input  wire [3:0]                we,
    input  wire [ROW_WIDTH+2:0]      addr,
    input  wire [31:0]               din,
    output wire [31:0]               dout,

    output wire [7:0]                bank_en,
    output wire [31:0]               bank_we,
    output wire [8*ROW_WIDTH-1:0]    bank_row,
    output wire [255:0]              bank_din,
    input  wire [255:0]              bank_dout
);

wire [2:0] bank = addr[2:0];
reg [2:0] bank_reg = 3'd0;

always @(posedge clk) begin
    if (en) begin
        bank_reg <= bank;
    end
end

assign bank_en = en ? 8'd1 << bank : 8'd0;
assign bank_we = {28'd0, we} << {bank, 2'b00};
assign bank_row = {8{addr[ROW_WIDTH+2:3]}};
assign bank_din = {8{din}};
assign dout = bank_dout[bank_reg*32 +: 32];

endmodule

`resetall
