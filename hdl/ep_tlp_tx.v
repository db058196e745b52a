/*
 * TLP output stage shared by the completer (CC) and the DMA engine (RQ): the issuer
 * starts a RAM read for a beat and describes the beat in the same cycle; one cycle later
 * this stage takes the RAM's 256-bit row, rotates it so that lane l carries bank
 * (rot + l) mod 8, zeroes it for beats without data, puts the TLP descriptor in the low
 * lanes of a first beat, and queues the beat in a small output FIFO towards the core.
 *
 * `room` says a beat may be issued this cycle: the FIFO has a free entry for it after the
 * beat already in the RAM read stage. The descriptor and user bits are taken from first
 * beats only (the core samples them at the start of a TLP).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_tlp_tx #
(
    // Dwords of the descriptor in a first beat (CC: 3, RQ: 4)
    parameter HEADER_DW = 3,
    // Width of tuser on the output interface
    parameter USER_WIDTH = 33,
    // Output FIFO entries (power of two)
    parameter DEPTH = 4
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Beat issue (the RAM read of the beat starts in the same cycle)
     */
    input  wire                      issue,
    input  wire                      issue_first,     // first beat of a TLP: carries the descriptor
    input  wire                      issue_nodata,    // no payload lanes (read requests, UR completions)
    input  wire [2:0]                issue_rot,       // RAM bank carried by lane 0
    input  wire [7:0]                issue_keep,
    input  wire                      issue_last,
    input  wire [32*HEADER_DW-1:0]   issue_header,
    input  wire [USER_WIDTH-1:0]     issue_user,
    output wire                      room,

    /*
     * RAM read data, one cycle after issue
     */
    input  wire [255:0]              ram_data,

    /*
     * Output interface (to the PCIe core)
     */
    output wire [255:0]              m_axis_tdata,
    output wire [7:0]                m_axis_tkeep,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast,
    output wire [USER_WIDTH-1:0]     m_axis_tuser
);

localparam OUT_W = USER_WIDTH + 1 + 8 + 256;
localparam COUNT_W = $clog2(DEPTH) + 1;

initial begin
    if (HEADER_DW < 3 || HEADER_DW > 4) begin
        $error("Error: HEADER_DW must be 3 (completions) or 4 (requests) (instance %m)");
        $finish;
    end
end

// RAM read stage
reg s1_valid_reg = 1'b0;
reg s1_first_reg = 1'b0;
reg s1_nodata_reg = 1'b0;
reg [2:0] s1_rot_reg = 3'd0;
reg [7:0] s1_keep_reg = 8'd0;
reg s1_last_reg = 1'b0;
reg [32*HEADER_DW-1:0] s1_header_reg = {32*HEADER_DW{1'b0}};
reg [USER_WIDTH-1:0] s1_user_reg = {USER_WIDTH{1'b0}};

wire [COUNT_W-1:0] out_count;

assign room = {1'b0, out_count} + {{COUNT_W{1'b0}}, s1_valid_reg} < DEPTH;

always @(posedge clk) begin
    s1_valid_reg <= issue;
    if (issue) begin
        s1_first_reg <= issue_first;
        s1_nodata_reg <= issue_nodata;
        s1_rot_reg <= issue_rot;
        s1_keep_reg <= issue_keep;
        s1_last_reg <= issue_last;
        if (issue_first) begin
            s1_header_reg <= issue_header;
            s1_user_reg <= issue_user;
        end
    end
    if (rst) begin
        s1_valid_reg <= 1'b0;
    end
end

// lane l of the beat carries RAM bank (rot + l) mod 8
reg [255:0] s1_data;
reg [2:0] s1_bank;
integer l;
always @* begin
    for (l = 0; l < 8; l = l + 1) begin
        s1_bank = s1_rot_reg + l[2:0];
        s1_data[l*32 +: 32] = s1_nodata_reg ? 32'd0 : ram_data[s1_bank*32 +: 32];
    end
    if (s1_first_reg) begin
        s1_data[32*HEADER_DW-1:0] = s1_header_reg;
    end
end

wire [OUT_W-1:0] out_data;

ep_fifo #(
    .WIDTH(OUT_W),
    .DEPTH(DEPTH)
)
out_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data({s1_user_reg, s1_last_reg, s1_keep_reg, s1_data}),
    .in_valid(s1_valid_reg),
    .in_ready(),
    .out_data(out_data),
    .out_valid(m_axis_tvalid),
    .out_ready(m_axis_tready),
    .count(out_count)
);

assign m_axis_tdata = out_data[255:0];
assign m_axis_tkeep = out_data[263:256];
assign m_axis_tlast = out_data[264];
assign m_axis_tuser = out_data[OUT_W-1:265];

endmodule

`resetall
