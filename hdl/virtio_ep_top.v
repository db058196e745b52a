/*
 * virtio endpoint: the user-side logic of an UltraScale+ PCIe endpoint whose
 * device side is a local CPU.
 *
 *   BAR0  SRAM, host port on CQ/CC, CPU port through the local-bus window
 *   BAR2  doorbells that interrupt the CPU
 *   MSI   generator driven by CPU requests
 *   local AXI4-Lite slave: CSRs, doorbell and MSI registers, SRAM window; irq out
 *
 * Every port the PCIe core model drives is an input here.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module virtio_ep_top #
(
    // BAR0 SRAM size in bytes (power of two, 4 KiB to 128 KiB)
    parameter BAR0_SRAM_SIZE = 65536,
    // BAR2 doorbell slots (1 to 256)
    parameter DB_SLOTS = 64,
    // Ordered doorbell FIFO entries (power of two)
    parameter DB_FIFO_DEPTH = 16,
    // MSI vectors (1 to 32)
    parameter MSI_VECTORS = 32,
    // Non-posted requests queued for completion (power of two, at most 32)
    parameter NP_FIFO_DEPTH = 16,
    // Cycles to wait for the core to report an MSI sent or failed
    parameter MSI_TIMEOUT_CYCLES = 4096,
    // DMA buffer RAM (device memory) size in bytes (power of two, 256 to 2 MiB)
    parameter DMA_BUF_SIZE = 2097152,
    // DMA read requests outstanding (1 to 32)
    parameter DMA_TAGS = 16,
    // Queued DMA descriptors per direction (power of two)
    parameter DMA_DESC_DEPTH = 64,
    // DMA read descriptors in flight at once (1 to 8)
    parameter DMA_READ_DESCS = 4,
    // DMA read completion timeout, in cycles
    parameter DMA_TIMEOUT_CYCLES = 16384,
    // Local bus address width
    parameter AXIL_ADDR_WIDTH = 22
)
(
    input  wire                         clk,
    input  wire                         rst,

    /*
     * Completer request interface
     */
    input  wire [255:0]                 s_axis_cq_tdata,
    input  wire [7:0]                   s_axis_cq_tkeep,
    input  wire                         s_axis_cq_tvalid,
    output wire                         s_axis_cq_tready,
    input  wire                         s_axis_cq_tlast,
    input  wire [87:0]                  s_axis_cq_tuser,
    output wire [1:0]                   pcie_cq_np_req,

    /*
     * Completer completion interface
     */
    output wire [255:0]                 m_axis_cc_tdata,
    output wire [7:0]                   m_axis_cc_tkeep,
    output wire                         m_axis_cc_tvalid,
    input  wire                         m_axis_cc_tready,
    output wire                         m_axis_cc_tlast,
    output wire [32:0]                  m_axis_cc_tuser,

    /*
     * Requester request interface
     */
    output wire [255:0]                 m_axis_rq_tdata,
    output wire [7:0]                   m_axis_rq_tkeep,
    output wire                         m_axis_rq_tvalid,
    input  wire                         m_axis_rq_tready,
    output wire                         m_axis_rq_tlast,
    output wire [61:0]                  m_axis_rq_tuser,
    input  wire [5:0]                   pcie_rq_seq_num0,
    input  wire                         pcie_rq_seq_num_vld0,

    /*
     * Requester completion interface
     */
    input  wire [255:0]                 s_axis_rc_tdata,
    input  wire [7:0]                   s_axis_rc_tkeep,
    input  wire                         s_axis_rc_tvalid,
    output wire                         s_axis_rc_tready,
    input  wire                         s_axis_rc_tlast,
    input  wire [74:0]                  s_axis_rc_tuser,

    /*
     * Configuration status and MSI interface of the core
     */
    input  wire [1:0]                   cfg_max_payload,
    input  wire [2:0]                   cfg_max_read_req,
    // One bit/field per physical function; this endpoint implements PF0 only.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [15:0]                  cfg_function_status,
    input  wire [3:0]                   cfg_interrupt_msi_enable,
    input  wire [11:0]                  cfg_interrupt_msi_mmenable,
    input  wire [3:0]                   cfg_flr_in_process,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [3:0]                   cfg_flr_done,
    input  wire [31:0]                  cfg_interrupt_msi_data,
    output wire [1:0]                   cfg_interrupt_msi_select,
    output wire [31:0]                  cfg_interrupt_msi_int,
    input  wire                         cfg_interrupt_msi_sent,
    input  wire                         cfg_interrupt_msi_fail,
    output wire [31:0]                  cfg_interrupt_msi_pending_status,
    output wire                         cfg_interrupt_msi_pending_status_data_enable,
    output wire [1:0]                   cfg_interrupt_msi_pending_status_function_num,

    /*
     * Local bus (AXI4-Lite slave) and interrupt to the local CPU
     */
    input  wire [AXIL_ADDR_WIDTH-1:0]   s_axil_awaddr,
    input  wire                         s_axil_awvalid,
    output wire                         s_axil_awready,
    input  wire [31:0]                  s_axil_wdata,
    input  wire [3:0]                   s_axil_wstrb,
    input  wire                         s_axil_wvalid,
    output wire                         s_axil_wready,
    output wire [1:0]                   s_axil_bresp,
    output wire                         s_axil_bvalid,
    input  wire                         s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]   s_axil_araddr,
    input  wire                         s_axil_arvalid,
    output wire                         s_axil_arready,
    output wire [31:0]                  s_axil_rdata,
    output wire [1:0]                   s_axil_rresp,
    output wire                         s_axil_rvalid,
    input  wire                         s_axil_rready,
    output wire                         irq
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam SRAM_AW = $clog2(BAR0_SRAM_SIZE);
localparam ROW_WIDTH = SRAM_AW - 5;

initial begin
    if (AXIL_ADDR_WIDTH != 22) begin
        $error("Error: AXIL_ADDR_WIDTH must match layout.AXIL_ADDR_WIDTH (instance %m)");
        $finish;
    end
    if (BAR0_SRAM_SIZE < 4096 || BAR0_SRAM_SIZE > SRAM_WINDOW_SIZE) begin
        $error("Error: BAR0_SRAM_SIZE must fit the local-bus window (instance %m)");
        $finish;
    end
    if (DMA_BUF_SIZE > DMA_BUF_WINDOW_SIZE) begin
        $error("Error: DMA_BUF_SIZE must fit the local-bus window (instance %m)");
        $finish;
    end
end

// per-vector mask bits of PF0 are read through select 0
assign cfg_interrupt_msi_select = 2'b00;
assign cfg_interrupt_msi_pending_status_function_num = 2'b00;

// ---------------------------------------------------------------------------
// Host side: request decode, SRAM, completer
// ---------------------------------------------------------------------------

wire [7:0] ram_wr_en;
wire [31:0] ram_wr_we;
wire [8*ROW_WIDTH-1:0] ram_wr_row;
wire [255:0] ram_wr_data;
wire [7:0] ram_rd_en;
wire [8*ROW_WIDTH-1:0] ram_rd_row;
wire [255:0] ram_a_dout;

wire [1:0] np_kind;
wire [15:0] np_requester_id;
wire [7:0] np_tag;
wire [7:0] np_func;
wire [2:0] np_tc;
wire [2:0] np_attr;
wire [SRAM_AW-3:0] np_dw_addr;
wire [11:0] np_byte_addr;
wire [12:0] np_byte_count;
wire np_valid;
wire np_ready;

wire db_valid;
wire [7:0] db_slot;
wire [4*18-1:0] watch_base, watch_size;
wire [4*4-1:0] watch_log2;
wire [4*8-1:0] watch_slot;
wire [31:0] db_value;
wire db_bad;

wire stat_mem_rd, stat_mem_wr, stat_posted_drop, stat_np_ur, stat_cpl;
wire [10:0] stat_cpl_dw;

ep_cq_rx #(
    .SRAM_SIZE(BAR0_SRAM_SIZE),
    .DB_SLOTS(DB_SLOTS)
)
cq_rx_inst (
    .clk(clk),
    .rst(rst),
    .quiesce(cfg_flr_in_process[0]),
    .s_axis_cq_tdata(s_axis_cq_tdata),
    .s_axis_cq_tkeep(s_axis_cq_tkeep),
    .s_axis_cq_tvalid(s_axis_cq_tvalid),
    .s_axis_cq_tready(s_axis_cq_tready),
    .s_axis_cq_tlast(s_axis_cq_tlast),
    .s_axis_cq_tuser(s_axis_cq_tuser),
    .ram_wr_en(ram_wr_en),
    .ram_wr_we(ram_wr_we),
    .ram_wr_row(ram_wr_row),
    .ram_wr_data(ram_wr_data),
    .np_kind(np_kind),
    .np_requester_id(np_requester_id),
    .np_tag(np_tag),
    .np_func(np_func),
    .np_tc(np_tc),
    .np_attr(np_attr),
    .np_dw_addr(np_dw_addr),
    .np_byte_addr(np_byte_addr),
    .np_byte_count(np_byte_count),
    .np_valid(np_valid),
    .np_ready(np_ready),
    .watch_base(watch_base),
    .watch_size(watch_size),
    .watch_log2(watch_log2),
    .watch_slot(watch_slot),
    .db_valid(db_valid),
    .db_slot(db_slot),
    .db_value(db_value),
    .db_bad(db_bad),
    .stat_mem_rd(stat_mem_rd),
    .stat_mem_wr(stat_mem_wr),
    .stat_posted_drop(stat_posted_drop),
    .stat_np_ur(stat_np_ur)
);

wire ram_busy = |ram_wr_en;

ep_cc_tx #(
    .SRAM_SIZE(BAR0_SRAM_SIZE),
    .NP_FIFO_DEPTH(NP_FIFO_DEPTH)
)
cc_tx_inst (
    .clk(clk),
    .rst(rst),
    .np_kind(np_kind),
    .np_requester_id(np_requester_id),
    .np_tag(np_tag),
    .np_func(np_func),
    .np_tc(np_tc),
    .np_attr(np_attr),
    .np_dw_addr(np_dw_addr),
    .np_byte_addr(np_byte_addr),
    .np_byte_count(np_byte_count),
    .np_valid(np_valid),
    .np_ready(np_ready),
    .pcie_cq_np_req(pcie_cq_np_req),
    .ram_busy(ram_busy),
    .ram_rd_en(ram_rd_en),
    .ram_rd_row(ram_rd_row),
    .ram_rd_data(ram_a_dout),
    .m_axis_cc_tdata(m_axis_cc_tdata),
    .m_axis_cc_tkeep(m_axis_cc_tkeep),
    .m_axis_cc_tvalid(m_axis_cc_tvalid),
    .m_axis_cc_tready(m_axis_cc_tready),
    .m_axis_cc_tlast(m_axis_cc_tlast),
    .m_axis_cc_tuser(m_axis_cc_tuser),
    .cfg_max_payload(cfg_max_payload),
    .stat_cpl(stat_cpl),
    .stat_cpl_dw(stat_cpl_dw)
);

// ---------------------------------------------------------------------------
// Local bus
// ---------------------------------------------------------------------------

wire rb_wr, rb_rd;
wire [11:0] rb_offset;
wire [31:0] rb_wdata;
wire [3:0] rb_wstrb;
wire sel_csr, sel_db, sel_msi, sel_dma, sel_sram, sel_dmabuf;
wire [SRAM_AW-3:0] sram_dw_addr;
wire [$clog2(DMA_BUF_SIZE)-3:0] dmabuf_dw_addr;
wire [31:0] csr_rdata, db_rdata, msi_rdata, dma_rdata, sram_rdata, dmabuf_rdata;

ep_local_bus #(
    .ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .SRAM_SIZE(BAR0_SRAM_SIZE),
    .DMA_BUF_SIZE(DMA_BUF_SIZE)
)
local_bus_inst (
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
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_wstrb(rb_wstrb),
    .sel_csr(sel_csr),
    .sel_db(sel_db),
    .sel_msi(sel_msi),
    .sel_dma(sel_dma),
    .sel_sram(sel_sram),
    .sram_dw_addr(sram_dw_addr),
    .sel_dmabuf(sel_dmabuf),
    .dmabuf_dw_addr(dmabuf_dw_addr),
    .csr_rdata(csr_rdata),
    .db_rdata(db_rdata),
    .msi_rdata(msi_rdata),
    .dma_rdata(dma_rdata),
    .sram_rdata(sram_rdata),
    .dmabuf_rdata(dmabuf_rdata)
);

// ---------------------------------------------------------------------------
// SRAM
// ---------------------------------------------------------------------------

wire [8*ROW_WIDTH-1:0] ram_a_row;
wire [7:0] sram_b_en;
wire [31:0] sram_b_we;
wire [8*ROW_WIDTH-1:0] sram_b_row;
wire [255:0] sram_b_din, sram_b_dout;

genvar g;
generate
for (g = 0; g < 8; g = g + 1) begin : port_a_mux
    assign ram_a_row[g*ROW_WIDTH +: ROW_WIDTH] = ram_wr_en[g] ?
        ram_wr_row[g*ROW_WIDTH +: ROW_WIDTH] : ram_rd_row[g*ROW_WIDTH +: ROW_WIDTH];
end
endgenerate

ep_banked_ram #(
    .SIZE(BAR0_SRAM_SIZE)
)
sram_inst (
    .clk(clk),
    .a_en(ram_wr_en | ram_rd_en),
    .a_we(ram_wr_we),
    .a_row(ram_a_row),
    .a_din(ram_wr_data),
    .a_dout(ram_a_dout),
    .b_en(sram_b_en),
    .b_we(sram_b_we),
    .b_row(sram_b_row),
    .b_din(sram_b_din),
    .b_dout(sram_b_dout)
);

ep_dword_port #(
    .ROW_WIDTH(ROW_WIDTH)
)
sram_cpu_inst (
    .clk(clk),
    .en(sel_sram && (rb_wr || rb_rd)),
    .we(rb_wr ? rb_wstrb : 4'd0),
    .addr(sram_dw_addr),
    .din(rb_wdata),
    .dout(sram_rdata),
    .bank_en(sram_b_en),
    .bank_we(sram_b_we),
    .bank_row(sram_b_row),
    .bank_din(sram_b_din),
    .bank_dout(sram_b_dout)
);

// ---------------------------------------------------------------------------
// DMA engine and its buffer RAM
// ---------------------------------------------------------------------------

localparam DMA_AW = $clog2(DMA_BUF_SIZE);
localparam DMA_ROW_WIDTH = DMA_AW - 5;

wire [7:0] dma_ram_en;
wire [31:0] dma_ram_we;
wire [8*DMA_ROW_WIDTH-1:0] dma_ram_row;
wire [255:0] dma_ram_wdata;
wire [7:0] dma_ram_rd_en;
wire [8*DMA_ROW_WIDTH-1:0] dma_ram_rd_row;
wire [255:0] dma_ram_rdata;
wire irq_dma_done;

// port B of the buffer RAM: the CPU's dword when it accesses the buffer (the write engine
// waits that cycle), the write engine's beat otherwise
wire cpu_dmabuf = sel_dmabuf && (rb_wr || rb_rd);
wire [7:0] cpu_dmabuf_en;
wire [31:0] cpu_dmabuf_we;
wire [8*DMA_ROW_WIDTH-1:0] cpu_dmabuf_row;
wire [255:0] cpu_dmabuf_din;

ep_dma #(
    .BUF_SIZE(DMA_BUF_SIZE),
    .TAGS(DMA_TAGS),
    .DESC_DEPTH(DMA_DESC_DEPTH),
    .READ_DESCS(DMA_READ_DESCS),
    .TIMEOUT_CYCLES(DMA_TIMEOUT_CYCLES)
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
    .ram_en(dma_ram_en),
    .ram_we(dma_ram_we),
    .ram_row(dma_ram_row),
    .ram_wdata(dma_ram_wdata),
    .ram_rd_busy(cpu_dmabuf),
    .ram_rd_en(dma_ram_rd_en),
    .ram_rd_row(dma_ram_rd_row),
    .ram_rdata(dma_ram_rdata),
    .rb_sel(sel_dma),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_rdata(dma_rdata),
    .irq_done(irq_dma_done)
);

ep_banked_ram #(
    .SIZE(DMA_BUF_SIZE)
)
dma_buf_inst (
    .clk(clk),
    .a_en(dma_ram_en),
    .a_we(dma_ram_we),
    .a_row(dma_ram_row),
    .a_din(dma_ram_wdata),
    .a_dout(),
    .b_en(cpu_dmabuf ? cpu_dmabuf_en : dma_ram_rd_en),
    .b_we(cpu_dmabuf ? cpu_dmabuf_we : 32'd0),
    .b_row(cpu_dmabuf ? cpu_dmabuf_row : dma_ram_rd_row),
    .b_din(cpu_dmabuf_din),
    .b_dout(dma_ram_rdata)
);

ep_dword_port #(
    .ROW_WIDTH(DMA_ROW_WIDTH)
)
dmabuf_cpu_inst (
    .clk(clk),
    .en(cpu_dmabuf),
    .we(rb_wr ? rb_wstrb : 4'd0),
    .addr(dmabuf_dw_addr),
    .din(rb_wdata),
    .dout(dmabuf_rdata),
    .bank_en(cpu_dmabuf_en),
    .bank_we(cpu_dmabuf_we),
    .bank_row(cpu_dmabuf_row),
    .bank_din(cpu_dmabuf_din),
    .bank_dout(dma_ram_rdata)
);

// ---------------------------------------------------------------------------
// Doorbells, MSI, CSRs
// ---------------------------------------------------------------------------

wire irq_db_pending, irq_db_fifo, irq_db_overflow, irq_msi_fail;

ep_doorbell #(
    .SLOTS(DB_SLOTS),
    .FIFO_DEPTH(DB_FIFO_DEPTH)
)
doorbell_inst (
    .clk(clk),
    .rst(rst),
    .db_valid(db_valid),
    .db_slot(db_slot),
    .db_value(db_value),
    .db_bad(db_bad),
    .rb_sel(sel_db),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_rdata(db_rdata),
    .watch_base(watch_base),
    .watch_size(watch_size),
    .watch_log2(watch_log2),
    .watch_slot(watch_slot),
    .irq_pending(irq_db_pending),
    .irq_fifo(irq_db_fifo),
    .irq_overflow(irq_db_overflow)
);

ep_msi #(
    .VECTORS(MSI_VECTORS),
    .TIMEOUT_CYCLES(MSI_TIMEOUT_CYCLES)
)
msi_inst (
    .clk(clk),
    .rst(rst),
    .rb_sel(sel_msi),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_rdata(msi_rdata),
    .msi_enable(cfg_interrupt_msi_enable[0]),
    .msi_mmenable(cfg_interrupt_msi_mmenable[2:0]),
    .msi_mask(cfg_interrupt_msi_data),
    .cfg_interrupt_msi_int(cfg_interrupt_msi_int),
    .cfg_interrupt_msi_sent(cfg_interrupt_msi_sent),
    .cfg_interrupt_msi_fail(cfg_interrupt_msi_fail),
    .cfg_interrupt_msi_pending_status(cfg_interrupt_msi_pending_status),
    .cfg_interrupt_msi_pending_status_data_enable(cfg_interrupt_msi_pending_status_data_enable),
    .irq_fail(irq_msi_fail)
);

wire cfg_flr_done_pf0;
assign cfg_flr_done = {3'd0, cfg_flr_done_pf0};

ep_csr #(
    .BAR0_SRAM_SIZE(BAR0_SRAM_SIZE),
    .DB_SLOTS(DB_SLOTS),
    .DB_FIFO_DEPTH(DB_FIFO_DEPTH),
    .MSI_VECTORS(MSI_VECTORS),
    .NP_FIFO_DEPTH(NP_FIFO_DEPTH),
    .DMA_BUF_SIZE(DMA_BUF_SIZE),
    .DMA_TAGS(DMA_TAGS)
)
csr_inst (
    .clk(clk),
    .rst(rst),
    .rb_sel(sel_csr),
    .rb_wr(rb_wr),
    .rb_rd(rb_rd),
    .rb_offset(rb_offset),
    .rb_wdata(rb_wdata),
    .rb_rdata(csr_rdata),
    .src_db_pending(irq_db_pending),
    .src_db_fifo(irq_db_fifo),
    .src_db_overflow(irq_db_overflow),
    .src_msi_fail(irq_msi_fail),
    .src_dma_done(irq_dma_done),
    .irq(irq),
    .flr_in_process(cfg_flr_in_process[0]),
    .flr_done(cfg_flr_done_pf0),
    .stat_cq_mem_rd(stat_mem_rd),
    .stat_cq_mem_wr(stat_mem_wr),
    .stat_cq_posted_drop(stat_posted_drop),
    .stat_cq_np_ur(stat_np_ur),
    .stat_cc_cpl(stat_cpl),
    .stat_cc_cpl_dw(stat_cpl_dw)
);

endmodule

`resetall
