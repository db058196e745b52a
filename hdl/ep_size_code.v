/*
 * A PCIe size code (Max_Payload_Size, Max_Read_Request_Size: 128 << code bytes, codes
 * above 5 taken as 4096) as bytes and bytes - 1, registered. The code is a configuration
 * input the host changes only while the function is idle; registering it keeps its decode
 * off the arithmetic that sizes each TLP (the logic depth budget, docs/synthesis.md).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_size_code #
(
    // Width of the code (2 for the core's cfg_max_payload, 3 for cfg_max_read_req)
    parameter CODE_W = 3
)
(
    input  wire                      clk,
    input  wire [CODE_W-1:0]         code,
    output reg  [12:0]               bytes = 13'd128,
    output reg  [12:0]               mask = 13'd127
);

wire [12:0] decoded = ({{(8-CODE_W){1'b0}}, code} > 8'd5) ? 13'd4096 : (13'd128 << code);

always @(posedge clk) begin
    bytes <= decoded;
    mask <= decoded - 13'd1;
end

endmodule

`resetall
