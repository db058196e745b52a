/*
 * Test harness of the ep_dma block bench: the DMA engine with its buffer RAM (port B the
 * write engine's alone: no CPU shares it), on the UltraScale+ requester interface; bus
 * mastering from the core's cfg_function_status, as virtio_ep_top connects it.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma_harness #
(
    // DMA buffer RAM size in bytes
    parameter BUF_SIZE = 65536,
    // Outstanding read requests
    parameter TAGS = 16,
    // Queued descriptors
    parameter DESC_DEPTH = 16,
    // Read completion timeout, in cycles
    parameter TIMEOUT_CYCLES = 16384
)
(
    input  wire                      clk,
    input  wire                      rst,

    output wire [255:0]              m_axis_rq_tdata,
    output wire [7:0]                m_axis_rq_tkeep,
    output wire                      m_axis_rq_tvalid,
    input  wire                      m_axis_rq_tready,
    output wire                      m_axis_rq_tlast,
    output wire [61:0]               m_axis_rq_tuser,
    input  wire [5:0]                pcie_rq_seq_num0,
    input  wire                      pcie_rq_seq_num_vld0,

    input  wire [255:0]              s_axis_rc_tdata,
    input  wire [7:0]                s_axis_rc_tkeep,
    input  wire                      s_axis_rc_tvalid,
    output wire                      s_axis_rc_tready,
    input  wire                      s_axis_rc_tlast,
    input  wire [74:0]               s_axis_rc_tuser,

    input  wire [1:0]                cfg_max_payload,
    input  wire [2:0]                cfg_max_read_req,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]               cfg_function_status,
    /* verilator lint_on UNUSEDSIGNAL */

    input  wire                      rb_sel,
    input  wire                      rb_wr,
    input  wire                      rb_rd,
    input  wire [11:0]               rb_offset,
    input  wire [31:0]               rb_wdata,
    output wire [31:0]               rb_rdata,
    output wire                      irq_done
);

localparam ROW_WIDTH = $clog2(BUF_SIZE) - 5;

wire [7:0] ram_en;
wire [31:0] ram_we;
wire [8*ROW_WIDTH-1:0] ram_row;
wire [255:0] ram_wdata;
wire [7:0] ram_rd_en;
wire [8*ROW_WIDTH-1:0] ram_rd_row;
wire [255:0] ram_rdata;

ep_dma #(
    .BUF_SIZE(BUF_SIZE),
    .TAGS(TAGS),
    .DESC_DEPTH(DESC_DEPTH),
    .TIMEOUT_CYCLES(TIMEOUT_CYCLES)
)
dma_inst (
    .clk(clk),
    .rst(rst),
    .m_axis_rq_tdata(m_axis_rq_tdata),
    .m_axis_rq_tkeep(m_axis_rq_tkeep),
    .m_axis_rq_tvalid(m_axis_rq_tvalid),
    .m_axis_rq_tready(m_axis_rq_tready),
    .m_axis_rq_tlast(m_axis_rq_tlast),
    .m_axis_rq_tuser(m_axis_rq_tuser),
    .pcie_rq_seq_num0(pcie_rq_seq_num0),
    .pcie_rq_seq_num_vld0(pcie_rq_seq_num_vld0),
    .s_axis_rc_tdata(s_axis_rc_tdata),
    .s_axis_rc_tkeep(s_axis_rc_tkeep),
    .s_axis_rc_tvalid(s_axis_rc_tvalid),
    .s_axis_rc_tready(s_axis_rc_tready),
    .s_axis_rc_tlast(s_axis_rc_tlast),
    .s_axis_rc_tuser(s_axis_rc_tuser),
    .cfg_max_payload(cfg_max_payload),
    .cfg_max_read_req(cfg_max_read_req),
    .bus_master_enable(cfg_function_status[2]),
    .ram_en(ram_en),
    .ram_we(ram_we),
    .ram_row(ram_row),
    .ram_wdata(ram_wdata),
    .ram_rd_busy(1'b0),
    .ram_rd_en(ram_rd_en),
    .ram_rd_row(ram_rd_row),
    .ram_rdata(ram_rdata),
    .rb_sel(rb_sel),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_rdata(rb_rdata),
    .irq_done(irq_done)
);

ep_banked_ram #(
    .SIZE(BUF_SIZE)
)
ram_inst (
    .clk(clk),
    .a_en(ram_en),
    .a_we(ram_we),
    .a_row(ram_row),
    .a_din(ram_wdata),
    .a_dout(),
    .b_en(ram_rd_en),
    .b_we(32'd0),
    .b_row(ram_rd_row),
    .b_din(256'd0),
    .b_dout(ram_rdata)
);

endmodule

`resetall
