/*
 * True dual-port RAM, 32-bit words, byte write enables, one read cycle of latency.
 * Both ports share one clock. If both ports write the same byte in the same cycle,
 * port B (the local CPU) wins; the host port never stalls because of it.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_ram_dp #
(
    // Address width in words
    parameter ADDR_WIDTH = 11
)
(
    input  wire                   clk,

    input  wire                   a_en,
    input  wire [3:0]             a_we,
    input  wire [ADDR_WIDTH-1:0]  a_addr,
    input  wire [31:0]            a_din,
    output reg  [31:0]            a_dout,

    input  wire                   b_en,
    input  wire [3:0]             b_we,
    input  wire [ADDR_WIDTH-1:0]  b_addr,
    input  wire [31:0]            b_din,
    output reg  [31:0]            b_dout
);

reg [31:0] mem[0:(1 << ADDR_WIDTH)-1];

integer i;

initial begin
`ifndef SYNTHESIS
    // SRAM contents are undefined after power-up on silicon (UltraRAM has no
    // initial value at all); zero them so that simulation results never depend on
    // X propagation. Left out of synthesis: an init loop over a large memory
    // costs Yosys minutes and would ask block RAM for an INIT it need not have.
    for (i = 0; i < (1 << ADDR_WIDTH); i = i + 1) begin
        mem[i] = 32'd0;
    end
`endif
    a_dout = 32'd0;
    b_dout = 32'd0;
end

integer k;

always @(posedge clk) begin
    if (a_en) begin
        a_dout <= mem[a_addr];
        for (k = 0; k < 4; k = k + 1) begin
            if (a_we[k]) begin
                mem[a_addr][k*8 +: 8] <= a_din[k*8 +: 8];
            end
        end
    end
    if (b_en) begin
        b_dout <= mem[b_addr];
        for (k = 0; k < 4; k = k + 1) begin
            if (b_we[k]) begin
                mem[b_addr][k*8 +: 8] <= b_din[k*8 +: 8];
            end
        end
    end
end

endmodule

`resetall
