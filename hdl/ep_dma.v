/*
 * DMA engine for the UltraScale+ requester interface (RQ/RC, 256-bit, dword aligned):
 * the register and descriptor front end, with a read engine (ep_dma_rd: host memory ->
 * buffer RAM) and a write engine (ep_dma_wr: buffer RAM -> host memory) behind it and the
 * TLP output stage (ep_tlp_tx) the completer uses too. The buffer RAM has a port for each
 * engine (completions land on port A while the write engine reads port B), so a read and a
 * write stream at the same time; the owner of port B may take it for a cycle (ram_rd_busy:
 * the local CPU's accesses), which holds the write engine for that cycle.
 *
 * The local CPU queues descriptors {host address, buffer offset, length, direction, tag},
 * in a queue per direction (DESC_DEPTH each: a read never waits behind a write, nor the
 * reverse); the read and the write engine work side by side, and the read engine keeps
 * several descriptors in flight, so descriptors may end out of order: each ends with an entry
 * {tag, status} in the done FIFO (the CPU matches them by tag), and nothing can hang it: a
 * bad descriptor or bus mastering disabled fails it without sending anything, and the engines report completion errors and
 * timeouts as its status. Host and buffer addresses must be equal modulo 4 (dword lanes
 * line up).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ep_dma #
(
    // DMA buffer RAM size in bytes
    parameter BUF_SIZE = 65536,
    // Outstanding read requests (tags 0..TAGS-1, at most 32)
    parameter TAGS = 16,
    // Queued descriptors (power of two)
    parameter DESC_DEPTH = 16,
    // Read descriptors in flight at once (1 to 8)
    parameter READ_DESCS = 4,
    // Completion timeout of a read request, in cycles
    parameter TIMEOUT_CYCLES = 16384,
    // Buffer byte address width (derived)
    parameter BUF_AW = $clog2(BUF_SIZE),
    // Buffer bank row width (derived)
    parameter ROW_WIDTH = BUF_AW - 5
)
(
    input  wire                      clk,
    input  wire                      rst,

    /*
     * Requester request interface (to the PCIe core)
     */
    output wire [255:0]              m_axis_rq_tdata,
    output wire [7:0]                m_axis_rq_tkeep,
    output wire                      m_axis_rq_tvalid,
    input  wire                      m_axis_rq_tready,
    output wire                      m_axis_rq_tlast,
    output wire [61:0]               m_axis_rq_tuser,
    input  wire [5:0]                pcie_rq_seq_num0,
    input  wire                      pcie_rq_seq_num_vld0,

    /*
     * Requester completion interface (from the PCIe core)
     */
    input  wire [255:0]              s_axis_rc_tdata,
    input  wire [7:0]                s_axis_rc_tkeep,
    input  wire                      s_axis_rc_tvalid,
    output wire                      s_axis_rc_tready,
    input  wire                      s_axis_rc_tlast,
    // tuser[74:32] (sop/eop flags, discontinue, parity) is not used: the state machine
    // tracks packet boundaries and parity checking is disabled in the core.
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [74:0]               s_axis_rc_tuser,
    /* verilator lint_on UNUSEDSIGNAL */

    /*
     * Configuration
     */
    input  wire [1:0]                cfg_max_payload,
    input  wire [2:0]                cfg_max_read_req,
    input  wire                      bus_master_enable,

    /*
     * Buffer RAM port A: the read engine writes completions
     */
    output wire [7:0]                ram_en,
    output wire [31:0]               ram_we,
    output wire [8*ROW_WIDTH-1:0]    ram_row,
    output wire [255:0]              ram_wdata,

    /*
     * Buffer RAM port B: the write engine reads (data one cycle after ram_rd_en); not in
     * a cycle the port's other user takes (ram_rd_busy)
     */
    input  wire                      ram_rd_busy,
    output wire [7:0]                ram_rd_en,
    output wire [8*ROW_WIDTH-1:0]    ram_rd_row,
    input  wire [255:0]              ram_rdata,

    /*
     * Register bus (region-local offset, read data one cycle after rb_rd)
     */
    input  wire                      rb_sel,
    input  wire                      rb_wr,
    input  wire                      rb_rd,
    input  wire [11:0]               rb_offset,
    input  wire [31:0]               rb_wdata,
    output wire [31:0]               rb_rdata,

    /*
     * Interrupt source (level): the done FIFO is not empty
     */
    output wire                      irq_done
);

/* verilator lint_off UNUSEDPARAM */
// Generated register map: each module uses a subset of its constants.
`include "ep_regs.vh"
/* verilator lint_on UNUSEDPARAM */

localparam DESC_W = 64 + (BUF_AW + 1) + 17 + 16;
// width of a buffer offset plus a length (17 bits), with a bit to spare for the carry
localparam END_W = (BUF_AW + 2 > 18) ? BUF_AW + 2 : 18;
localparam OUT_DEPTH = 4;

initial begin
    if (BUF_AW < 8 || BUF_AW > 24 || (1 << BUF_AW) != BUF_SIZE) begin
        $error("Error: BUF_SIZE must be a power of two, 256 to 16 MiB (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------------------
// Registers: descriptor staging, queues, counters
// ---------------------------------------------------------------------------

wire wr = rb_sel && rb_wr;
wire rd = rb_sel && rb_rd;

reg [31:0] host_lo_reg = 32'd0;
reg [31:0] host_hi_reg = 32'd0;
reg [BUF_AW:0] local_reg = {BUF_AW+1{1'b0}};
reg [16:0] length_reg = 17'd0;
reg [31:0] rdata_reg = 32'd0;
reg [31:0] cnt_rd_req_reg = 32'd0;
reg [31:0] cnt_wr_tlp_reg = 32'd0;
reg [31:0] cnt_cpl_reg = 32'd0;
reg [31:0] cnt_errors_reg = 32'd0;
reg [31:0] cnt_rd_dw_reg = 32'd0;
reg [31:0] cnt_wr_dw_reg = 32'd0;

assign rb_rdata = rdata_reg;

wire submit = wr && rb_offset == DMA_SUBMIT;
wire submit_dir = rb_wdata[0];
wire [DESC_W-1:0] desc_in = {host_hi_reg, host_lo_reg, local_reg, length_reg, rb_wdata[31:16]};
localparam COUNT_W = $clog2(DESC_DEPTH) + 1;

// one descriptor queue per direction; q_*[0] reads, q_*[1] writes
wire [DESC_W-1:0] q_out [0:1];
wire [1:0] q_valid, q_ready_in, q_pop, q_full;
wire [COUNT_W-1:0] q_count [0:1];

genvar q;
generate
for (q = 0; q < 2; q = q + 1) begin : queue
    ep_fifo #(
        .WIDTH(DESC_W),
        .DEPTH(DESC_DEPTH)
    )
    fifo_inst (
        .clk(clk),
        .rst(rst),
        .in_data(desc_in),
        .in_valid(submit && submit_dir == q),
        .in_ready(q_ready_in[q]),
        .out_data(q_out[q]),
        .out_valid(q_valid[q]),
        .out_ready(q_pop[q]),
        .count(q_count[q])
    );
    assign q_full[q] = !q_ready_in[q];
end
endgenerate

wire [63:0]     r_host, w_host;
wire [BUF_AW:0] r_local, w_local;
wire [16:0]     r_length, w_length;
wire [15:0]     r_tag, w_tag;
assign {r_host, r_local, r_length, r_tag} = q_out[0];
assign {w_host, w_local, w_length, w_tag} = q_out[1];

wire done_push;
wire [23:0] done_in;
wire [23:0] done_head;
wire done_valid;
wire done_ready_in;
wire done_pop = wr && rb_offset == DMA_DONE_POP;

ep_fifo #(
    .WIDTH(24),
    .DEPTH(16)
)
done_fifo_inst (
    .clk(clk),
    .rst(rst),
    .in_data(done_in),
    .in_valid(done_push),
    .in_ready(done_ready_in),
    .out_data(done_head),
    .out_valid(done_valid),
    .out_ready(done_pop),
    .count()
);

assign irq_done = done_valid;

// ---------------------------------------------------------------------------
// Dispatch: the descriptor at the head of the queue goes to its engine when that engine is
// ready; a bad one (or any, with bus mastering off) ends here without sending anything
// ---------------------------------------------------------------------------

// a descriptor is bad when empty, too long, past the buffer or with host and buffer
// addresses that differ modulo 4
function desc_bad(input [1:0] host_lane, input [BUF_AW:0] local_off, input [16:0] length);
    reg [END_W-1:0] last;
    begin
        last = {{(END_W-BUF_AW-1){1'b0}}, local_off} + {{(END_W-17){1'b0}}, length};
        desc_bad = length == 17'd0 || length > DMA_MAX_LENGTH[16:0] || last > BUF_SIZE[END_W-1:0] ||
            host_lane != local_off[1:0];
    end
endfunction

wire rd_ready, wr_ready, rd_busy;
reg refused_reg = 1'b0;                            // a refused descriptor's result waits
reg [15:0] refused_tag_reg = 16'd0;
reg [7:0] refused_result_reg = 8'd0;

// the head of each queue goes to its engine when that engine is ready; a bad one (or any,
// with bus mastering off) ends here without sending anything, in the one result slot for
// refused descriptors (the read queue's first)
wire r_bad = desc_bad(r_host[1:0], r_local, r_length);
wire w_bad = desc_bad(w_host[1:0], w_local, w_length);
wire r_refused = r_bad || !bus_master_enable;
wire w_refused = w_bad || !bus_master_enable;
wire r_refuse = q_valid[0] && r_refused && !refused_reg;
wire w_refuse = q_valid[1] && w_refused && !refused_reg && !r_refuse;
assign q_pop[0] = q_valid[0] && (r_refused ? r_refuse : rd_ready);
assign q_pop[1] = q_valid[1] && (w_refused ? w_refuse : wr_ready);
wire start_rd = q_pop[0] && !r_refused;
wire start_wr = q_pop[1] && !w_refused;

// results into the done FIFO, one per cycle: refused, then read, then write
wire rd_done, wr_done;
wire [15:0] rd_done_tag, wr_done_tag;
wire [7:0] rd_result, wr_result;
wire take_refused = refused_reg && done_ready_in;
wire take_rd = !refused_reg && rd_done && done_ready_in;
wire take_wr = !refused_reg && !rd_done && wr_done && done_ready_in;
// pushed in the cycle it is taken: a registered push would let the next take pass a FIFO
// whose last slot is already promised (a result lost when results end back to back)
assign done_push = take_refused || take_rd || take_wr;
assign done_in = take_refused ? {refused_result_reg, refused_tag_reg} :
    take_rd ? {rd_result, rd_done_tag} : {wr_result, wr_done_tag};

// ---------------------------------------------------------------------------
// Engines and the shared TLP output stage
// ---------------------------------------------------------------------------

reg [5:0] seq_reg = 6'd0;                          // sequence number of the next RQ TLP

wire tx_room;
wire rd_issue, wr_issue;
wire wr_busy;                                      // a write TLP is being issued: reads wait
wire [127:0] rd_header, wr_header;
wire [3:0] rd_first_be, rd_last_be, wr_first_be, wr_last_be;
wire wr_first, wr_last;
wire [2:0] wr_rot;
wire [7:0] wr_keep;


wire stat_rd_req, stat_cpl, stat_wr_tlp;
wire [10:0] stat_cpl_dw, stat_wr_dw;

ep_dma_rd #(
    .BUF_SIZE(BUF_SIZE),
    .TAGS(TAGS),
    .TIMEOUT_CYCLES(TIMEOUT_CYCLES),
    .DESCS(READ_DESCS)
)
rd_inst (
    .clk(clk),
    .rst(rst),
    .ready(rd_ready),
    .busy(rd_busy),
    .start(start_rd),
    .start_host(r_host),
    .start_buf(r_local),
    .start_length(r_length),
    .start_tag(r_tag),
    .done(rd_done),
    .done_tag(rd_done_tag),
    .result(rd_result),
    .done_ack(take_rd),
    .cfg_max_read_req(cfg_max_read_req),
    .bus_master_enable(bus_master_enable),
    .tx_room(tx_room && !wr_busy),
    .tx_issue(rd_issue),
    .tx_header(rd_header),
    .tx_first_be(rd_first_be),
    .tx_last_be(rd_last_be),
    .s_axis_rc_tdata(s_axis_rc_tdata),
    .s_axis_rc_tkeep(s_axis_rc_tkeep),
    .s_axis_rc_tvalid(s_axis_rc_tvalid),
    .s_axis_rc_tready(s_axis_rc_tready),
    .s_axis_rc_tlast(s_axis_rc_tlast),
    .s_axis_rc_tuser(s_axis_rc_tuser),
    .ram_en(ram_en),
    .ram_we(ram_we),
    .ram_row(ram_row),
    .ram_wdata(ram_wdata),
    .stat_req(stat_rd_req),
    .stat_cpl(stat_cpl),
    .stat_cpl_dw(stat_cpl_dw)
);

ep_dma_wr #(
    .BUF_SIZE(BUF_SIZE),
    .TIMEOUT_CYCLES(TIMEOUT_CYCLES)
)
wr_inst (
    .clk(clk),
    .rst(rst),
    .ready(wr_ready),
    .start(start_wr),
    .start_host(w_host),
    .start_buf(w_local),
    .start_length(w_length),
    .start_tag(w_tag),
    .done(wr_done),
    .done_tag(wr_done_tag),
    .result(wr_result),
    .done_ack(take_wr),
    .cfg_max_payload(cfg_max_payload),
    .bus_master_enable(bus_master_enable),
    .tx_room(tx_room && !rd_issue),
    .tx_issue(wr_issue),
    .tx_busy(wr_busy),
    .tx_first(wr_first),
    .tx_rot(wr_rot),
    .tx_keep(wr_keep),
    .tx_last(wr_last),
    .tx_header(wr_header),
    .tx_first_be(wr_first_be),
    .tx_last_be(wr_last_be),
    .seq(seq_reg),
    .pcie_rq_seq_num0(pcie_rq_seq_num0),
    .pcie_rq_seq_num_vld0(pcie_rq_seq_num_vld0),
    .ram_busy(ram_rd_busy),
    .ram_rd_en(ram_rd_en),
    .ram_rd_row(ram_rd_row),
    .stat_tlp(stat_wr_tlp),
    .stat_tlp_dw(stat_wr_dw)
);

// a descriptor is in an engine or its result waits
wire busy = refused_reg || rd_busy || !wr_ready;

// one beat per cycle goes to the output stage: a write TLP's beats back to back, read
// requests (one beat of 4 descriptor dwords) between write TLPs. tuser: sequence number, first and last byte enables.
wire tx_issue = rd_issue || wr_issue;
wire tx_first = rd_issue || wr_first;
wire [3:0] tx_first_be = rd_issue ? rd_first_be : wr_first_be;
wire [3:0] tx_last_be = rd_issue ? rd_last_be : wr_last_be;
wire [61:0] tx_user = {seq_reg[5:4], 32'd0, seq_reg[3:0], 16'd0, tx_last_be, tx_first_be};

ep_tlp_tx #(
    .HEADER_DW(4),
    .USER_WIDTH(62),
    .DEPTH(OUT_DEPTH)
)
tlp_tx_inst (
    .clk(clk),
    .rst(rst),
    .issue(tx_issue),
    .issue_first(tx_first),
    .issue_nodata(rd_issue),
    .issue_rot(rd_issue ? 3'd0 : wr_rot),
    .issue_keep(rd_issue ? 8'h0f : wr_keep),
    .issue_last(rd_issue || wr_last),
    .issue_header(rd_issue ? rd_header : wr_header),
    .issue_user(tx_user),
    .room(tx_room),
    .ram_data(ram_rdata),
    .m_axis_tdata(m_axis_rq_tdata),
    .m_axis_tkeep(m_axis_rq_tkeep),
    .m_axis_tvalid(m_axis_rq_tvalid),
    .m_axis_tready(m_axis_rq_tready),
    .m_axis_tlast(m_axis_rq_tlast),
    .m_axis_tuser(m_axis_rq_tuser)
);

// ---------------------------------------------------------------------------
// Sequential logic
// ---------------------------------------------------------------------------

always @(posedge clk) begin
    if (tx_issue && tx_first) begin
        seq_reg <= seq_reg + 6'd1;
    end
    if (stat_rd_req) begin
        cnt_rd_req_reg <= cnt_rd_req_reg + 32'd1;
    end
    if (stat_cpl) begin
        cnt_cpl_reg <= cnt_cpl_reg + 32'd1;
        cnt_rd_dw_reg <= cnt_rd_dw_reg + {21'd0, stat_cpl_dw};
    end
    if (stat_wr_tlp) begin
        cnt_wr_tlp_reg <= cnt_wr_tlp_reg + 32'd1;
        cnt_wr_dw_reg <= cnt_wr_dw_reg + {21'd0, stat_wr_dw};
    end

    if (r_refuse || w_refuse) begin
        refused_reg <= 1'b1;
        refused_tag_reg <= r_refuse ? r_tag : w_tag;
        refused_result_reg <= (r_refuse ? r_bad : w_bad) ? DMA_RESULT_BAD_DESCRIPTOR : DMA_RESULT_NO_BUS_MASTER;
    end else if (take_refused) begin
        refused_reg <= 1'b0;
    end
    if (done_push) begin
        if (done_in[23:16] != DMA_RESULT_OK) begin
            cnt_errors_reg <= cnt_errors_reg + 32'd1;
        end
    end

    // staging registers and reads
    if (wr) begin
        case (rb_offset)
            DMA_HOST_LO: host_lo_reg <= rb_wdata;
            DMA_HOST_HI: host_hi_reg <= rb_wdata;
            DMA_LOCAL: local_reg <= rb_wdata[BUF_AW:0];
            DMA_LENGTH: length_reg <= rb_wdata[16:0];
            default: ;
        endcase
        if (submit && q_full[submit_dir]) begin
            cnt_errors_reg <= cnt_errors_reg + 32'd1;
        end
    end

    rdata_reg <= 32'd0;
    if (rd) begin
        case (rb_offset)
            DMA_HOST_LO: rdata_reg <= host_lo_reg;
            DMA_HOST_HI: rdata_reg <= host_hi_reg;
            DMA_LOCAL: rdata_reg <= {{(31-BUF_AW){1'b0}}, local_reg};
            DMA_LENGTH: rdata_reg <= {15'd0, length_reg};
            DMA_STATUS: rdata_reg <= ({31'd0, busy} << DMA_STATUS_BUSY_BIT) |
                ({31'd0, q_full[0]} << DMA_STATUS_READ_FULL_BIT) |
                ({31'd0, q_full[1]} << DMA_STATUS_WRITE_FULL_BIT) |
                ({31'd0, !done_ready_in} << DMA_STATUS_DONE_FULL_BIT) |
                {{(32-COUNT_W-1){1'b0}}, {1'b0, q_count[0]} + {1'b0, q_count[1]}};
            DMA_DONE_HEAD: rdata_reg <= done_valid ? ({8'd0, done_head} | (32'd1 << DMA_DONE_VALID_BIT)) : 32'd0;
            DMA_CNT_RD_REQ: rdata_reg <= cnt_rd_req_reg;
            DMA_CNT_WR_TLP: rdata_reg <= cnt_wr_tlp_reg;
            DMA_CNT_CPL: rdata_reg <= cnt_cpl_reg;
            DMA_CNT_ERRORS: rdata_reg <= cnt_errors_reg;
            DMA_CNT_RD_DW: rdata_reg <= cnt_rd_dw_reg;
            DMA_CNT_WR_DW: rdata_reg <= cnt_wr_dw_reg;
            default: rdata_reg <= 32'd0;
        endcase
    end

    if (rst) begin
        refused_reg <= 1'b0;
        seq_reg <= 6'd0;
        cnt_rd_req_reg <= 32'd0;
        cnt_wr_tlp_reg <= 32'd0;
        cnt_cpl_reg <= 32'd0;
        cnt_errors_reg <= 32'd0;
        cnt_rd_dw_reg <= 32'd0;
        cnt_wr_dw_reg <= 32'd0;
        rdata_reg <= 32'd0;
    end
end

endmodule

`resetall
