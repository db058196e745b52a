/*
 * AXI4-Lite slave for the local CPU: one transaction at a time onto a simple
 * register bus (write and read strobes, read data one cycle later). Reads and writes
 * alternate when both are waiting. An address that decodes to nothing answers
 * DECERR, so a firmware bug is reported on the bus instead of silently ignored.
 * AxPROT is not implemented: the local CPU is the only master.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_axil_slave #
(
    // Address width of the local bus
    parameter ADDR_WIDTH = 18
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * AXI4-Lite slave
     */
    input  wire [ADDR_WIDTH-1:0]     s_axil_awaddr,
    input  wire                      s_axil_awvalid,
    output wire                      s_axil_awready,
    input  wire [31:0]               s_axil_wdata,
    input  wire [3:0]                s_axil_wstrb,
    input  wire                      s_axil_wvalid,
    output wire                      s_axil_wready,
    output wire [1:0]                s_axil_bresp,
    output wire                      s_axil_bvalid,
    input  wire                      s_axil_bready,
    input  wire [ADDR_WIDTH-1:0]     s_axil_araddr,
    input  wire                      s_axil_arvalid,
    output wire                      s_axil_arready,
    output wire [31:0]               s_axil_rdata,
    output wire [1:0]                s_axil_rresp,
    output wire                      s_axil_rvalid,
    input  wire                      s_axil_rready,

    /*
     * Register bus
     */
    output wire                      rb_wr,
    output wire                      rb_rd,
    output wire [ADDR_WIDTH-1:0]     rb_addr,
    output wire [31:0]               rb_wdata,
    output wire [3:0]                rb_wstrb,
    input  wire                      rb_hit,
    input  wire [31:0]               rb_rdata
);

localparam [1:0] RESP_OKAY = 2'b00, RESP_DECERR = 2'b11;

localparam [1:0]
    STATE_IDLE = 2'd0,
    STATE_WRITE_RESP = 2'd1,
    STATE_READ_WAIT = 2'd2,
    STATE_READ_RESP = 2'd3;

reg [1:0] state_reg = STATE_IDLE;
reg last_was_write_reg = 1'b0;
reg bvalid_reg = 1'b0;
reg [1:0] bresp_reg = RESP_OKAY;
reg rvalid_reg = 1'b0;
reg [1:0] rresp_reg = RESP_OKAY;
reg [31:0] rdata_reg = 32'd0;
reg read_hit_reg = 1'b0;

wire write_waiting = s_axil_awvalid && s_axil_wvalid;
wire do_write = state_reg == STATE_IDLE && write_waiting && !(s_axil_arvalid && last_was_write_reg);
wire do_read = state_reg == STATE_IDLE && s_axil_arvalid && !do_write;

assign s_axil_awready = do_write;
assign s_axil_wready = do_write;
assign s_axil_bresp = bresp_reg;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = do_read;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = rresp_reg;
assign s_axil_rvalid = rvalid_reg;

assign rb_wr = do_write;
assign rb_rd = do_read;
assign rb_addr = do_write ? s_axil_awaddr : s_axil_araddr;
assign rb_wdata = s_axil_wdata;
assign rb_wstrb = s_axil_wstrb;

always @(posedge clk) begin
    case (state_reg)
        STATE_IDLE: begin
            if (do_write) begin
                bvalid_reg <= 1'b1;
                bresp_reg <= rb_hit ? RESP_OKAY : RESP_DECERR;
                last_was_write_reg <= 1'b1;
                state_reg <= STATE_WRITE_RESP;
            end else if (do_read) begin
                read_hit_reg <= rb_hit;
                last_was_write_reg <= 1'b0;
                state_reg <= STATE_READ_WAIT;
            end
        end
        STATE_WRITE_RESP: begin
            if (s_axil_bready) begin
                bvalid_reg <= 1'b0;
                state_reg <= STATE_IDLE;
            end
        end
        STATE_READ_WAIT: begin
            rvalid_reg <= 1'b1;
            rdata_reg <= rb_rdata;
            rresp_reg <= read_hit_reg ? RESP_OKAY : RESP_DECERR;
            state_reg <= STATE_READ_RESP;
        end
        default: begin
            if (s_axil_rready) begin
                rvalid_reg <= 1'b0;
                state_reg <= STATE_IDLE;
            end
        end
    endcase

    if (rst) begin
        state_reg <= STATE_IDLE;
        last_was_write_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
