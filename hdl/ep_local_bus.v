/*
 * The local CPU's bus: the AXI4-Lite slave (ep_axil_slave) onto the register bus, the
 * decode of the local address map into its regions (CSR, doorbell, MSI and DMA register
 * blocks, the DMA buffer RAM, the window on BAR0 SRAM: layout.endpoint.Region), and the
 * read data mux. An address in no region answers DECERR.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_local_bus #
(
    // Address width of the local bus
    parameter ADDR_WIDTH = 18,
    // BAR0 SRAM size in bytes (the window's extent)
    parameter SRAM_SIZE = 65536,
    // DMA buffer RAM size in bytes
    parameter DMA_BUF_SIZE = 65536,
    // SRAM byte address width (derived)
    parameter SRAM_AW = $clog2(SRAM_SIZE),
    // DMA buffer byte address width (derived)
    parameter DMA_AW = $clog2(DMA_BUF_SIZE)
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
     * Register bus to the regions (read data one cycle after rb_rd)
     */
    output wire                      rb_wr,
    output wire                      rb_rd,
    output wire [11:0]               rb_offset,       // offset inside a 4 KiB register block
    output wire [31:0]               rb_wdata,
    output wire [3:0]                rb_wstrb,
    output wire                      sel_csr,
    output wire                      sel_db,
    output wire                      sel_msi,
    output wire                      sel_dma,
    output wire                      sel_sram,
    output wire [SRAM_AW-3:0]        sram_dw_addr,    // dword in the SRAM window
    output wire                      sel_dmabuf,
    output wire [DMA_AW-3:0]         dmabuf_dw_addr,  // dword in the DMA buffer RAM
    input  wire [31:0]               csr_rdata,       // register blocks: 0 unless selected
    input  wire [31:0]               db_rdata,
    input  wire [31:0]               msi_rdata,
    input  wire [31:0]               dma_rdata,
    input  wire [31:0]               sram_rdata,      // RAMs: valid the cycle after a read
    input  wire [31:0]               dmabuf_rdata
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

wire [ADDR_WIDTH-1:0] rb_addr;

wire [ADDR_WIDTH-13:0] region = rb_addr[ADDR_WIDTH-1:12];
assign rb_offset = rb_addr[11:0];
assign sel_csr = region == REGION_CSR[ADDR_WIDTH-1:12];
assign sel_db = region == REGION_DOORBELL[ADDR_WIDTH-1:12];
assign sel_msi = region == REGION_MSI[ADDR_WIDTH-1:12];
assign sel_dma = region == REGION_DMA[ADDR_WIDTH-1:12];
wire [ADDR_WIDTH-1:0] sram_offset = rb_addr - REGION_SRAM_WINDOW;
assign sel_sram = rb_addr >= REGION_SRAM_WINDOW && {1'b0, sram_offset} < SRAM_SIZE[ADDR_WIDTH:0];
assign sram_dw_addr = sram_offset[SRAM_AW-1:2];
wire [ADDR_WIDTH-1:0] dmabuf_offset = rb_addr - REGION_DMA_BUF;
assign sel_dmabuf = rb_addr >= REGION_DMA_BUF && {1'b0, dmabuf_offset} < DMA_BUF_SIZE[ADDR_WIDTH:0];
assign dmabuf_dw_addr = dmabuf_offset[DMA_AW-1:2];
wire rb_hit = sel_csr || sel_db || sel_msi || sel_dma || sel_sram || sel_dmabuf;

reg sram_read_reg = 1'b0;
reg dmabuf_read_reg = 1'b0;

always @(posedge clk) begin
    sram_read_reg <= rb_rd && sel_sram;
    dmabuf_read_reg <= rb_rd && sel_dmabuf;
end

wire [31:0] rb_rdata = sram_read_reg ? sram_rdata : dmabuf_read_reg ? dmabuf_rdata :
    (csr_rdata | db_rdata | msi_rdata | dma_rdata);

ep_axil_slave #(
    .ADDR_WIDTH(ADDR_WIDTH)
)
axil_slave_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_addr(rb_addr),
    .rb_wdata(rb_wdata),
    .rb_wstrb(rb_wstrb),
    .rb_hit(rb_hit),
    .rb_rdata(rb_rdata)
);

endmodule

`resetall
