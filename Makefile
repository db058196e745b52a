# virtio over a CPU-driven PCIe endpoint: co-simulation entry points.
#
#   make sim      set up (venv, packages) and run the demo on $(SIM) (icarus by default):
#                 TRANSPORT=async (default), restable, virtio-pci, virtio-pci-ack, mailbox,
#                 virtio-msg, or echo
#   make test     the whole suite: lint, layout checks, every test on both simulators
#                 (SIM=icarus or SIM=verilator runs one); JUnit XML in sim_build/junit/
#   make bench    measured comparisons: tables printed, markdown and PNG written under docs/
#                 (`make bench load`: throughput under load, 13 to 30 min on Verilator;
#                 PROFILE=server: under the server host profile, docs/load-server.md;
#                 `make bench sensitivity`: one knob at a time, docs/sensitivity.md;
#                 `make bench wake`: the endpoint CPU waking 10 us late, docs/wake.md;
#                 `make bench depths`: between the load bench's depths, docs/depths.md)
#   make report   every transport and data-path variant under a sweep of latencies:
#                 docs/results.md and its plots (fails if a headline claim stops holding);
#                 PROFILES=ideal,server (default): the default latencies again under the
#                 server host profile, and how the ranking moves
#   make long     the long runs outside CI: the soak at SOAK_REQUESTS (default 2000) per
#                 device and the data-path tests at REQUESTS (default 60) mixed requests with
#                 all four Linux feature combinations, on $(SIM) or both
#   make regress  the pyuvm regression: SEEDS=N seeds (default 8), SIM=, TESTS=, SEED_BASE=,
#                 UVM_VARIANT= and UVM_DEVICE= to fix the virtio test's variant and device;
#                 CLUSTER=local runs it on a Dask LocalCluster, SCHEDULER=tcp://host:8786 on
#                 any Dask cluster; python -m virtio_ep.regress --merge DIR... merges shards
#   make linux    Linux's own virtio_net and virtio_blk in User-Mode Linux through the RTL,
#                 split and packed rings (Verilator unless SIM=; REQUESTS= frames, default
#                 200; WRITES= block writes, default 24)
#   make mutate   deliberate bugs in RTL and firmware against the tests that should catch
#                 them (Icarus; MUTANTS="name ..." runs some)
#   make synth    Yosys synthesis for UltraScale+ at the default and the largest parameters:
#                 docs/synthesis.md (cells per block, block RAM, logic depth; checks)
#   make lint     verilator --lint-only -Wall on hdl/
#   make waves    open the newest FST (run with WAVES=1 first) in GTKWave
#
# JOBS (default: the cores) is how many simulations a target runs at once. Everything
# runs inside .venv, created on first use; apt packages are installed only when missing.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILES ?= ideal,server
JOBS ?= $(shell nproc)
WAVES ?= 0
export WAVES

# apt packages: a command to check and the package that provides it (ccache: the Verilator
# runtime every build compiles is compiled once per run)
APT_NEEDS := iverilog:iverilog g++:g++ make:make ccache:ccache

.PHONY: all setup wave-deps linux-source synth-deps uml-deps synth sim test linux long bench model trace report regress mutate lint waves clean

# Every variable a user may set, checked before a target runs: a bad value stops it with one
# line listing the valid ones (virtio_ep/makevars.py), and so does a variable set on make's
# command line that nothing reads (a typo, which would otherwise run at the defaults)
GIVEN = $(strip $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v))))
CHECK_VARS = @$(VPY) -m virtio_ep.makevars --given '$(GIVEN)' SIM='$(SIM)' TRANSPORT='$(TRANSPORT)' PROFILE='$(PROFILE)' \
    PROFILES='$(PROFILES)' SEEDS='$(SEEDS)' SEED_BASE='$(SEED_BASE)' JOBS='$(JOBS)' REQUESTS='$(REQUESTS)' \
    SOAK_REQUESTS='$(SOAK_REQUESTS)' WRITES='$(WRITES)' TESTS='$(TESTS)' CLUSTER='$(CLUSTER)' SCHEDULER='$(SCHEDULER)' WAVES='$(WAVES)' \
    LATENCIES='$(LATENCIES)' PARAMS='$(PARAMS)' MODE='$(MODE)' SIZE='$(SIZE)' DEPTH='$(DEPTH)' TURN='$(TURN)'

all: sim

setup: $(STAMP)

$(STAMP): pyproject.toml
	@missing=""; for pair in $(APT_NEEDS); do \
	    command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing apt packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[cluster]'
	@touch $@

# Verilator writes FST through liblz4
wave-deps:
	@if [ "$(WAVES)" = "1" ] && ! dpkg -s liblz4-dev >/dev/null 2>&1; then \
	    echo "installing liblz4-dev (Verilator FST waves)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev; \
	fi

# Linux's virtio_ring.c (the kernel-driver tests): Debian's kernel source, a 139 MB
# download; virtio_ep.linux.build extracts the few files it needs into sim_build/linux/
linux-source:
	@if [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then \
	    echo "installing linux-source-6.1 (Linux's virtio ring code for the kernel-driver tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1; \
	fi
	@echo "linux-source-6.1 $$(dpkg-query -W -f='$${Version}' linux-source-6.1)"

# User-Mode Linux (Linux 6.1 as a process) and a static busybox for its initramfs: Linux's
# own virtio drivers against the project's vhost-user back end (tb/test_uml.py)
uml-deps:
	@if [ ! -x /usr/bin/linux.uml ] || ! dpkg -s busybox-static >/dev/null 2>&1; then \
	    echo "installing user-mode-linux busybox-static (Linux's drivers in User-Mode Linux)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq user-mode-linux busybox-static; \
	fi

# Yosys for the synthesis estimate and its check in make test (Debian's 0.23)
synth-deps:
	@command -v yosys >/dev/null 2>&1 || { echo "installing yosys (synthesis estimate)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yosys; }

synth: $(STAMP) synth-deps
	$(VPY) -m virtio_ep.synth

sim: $(STAMP) wave-deps
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.demo --sim $(or $(SIM),icarus) --transport $(or $(TRANSPORT),async) $(if $(filter 1,$(WAVES)),--waves)

test: $(STAMP) wave-deps linux-source synth-deps uml-deps
	$(CHECK_VARS)
	$(VPY) -m pytest -n $(JOBS) --maxschedchunk 1 -q -rs --junitxml=sim_build/junit/test.xml tb

long: $(STAMP) linux-source
	$(CHECK_VARS)
	SOAK_REQUESTS=$(or $(SOAK_REQUESTS),2000) REQUESTS=$(or $(REQUESTS),60) \
	    $(VPY) -m pytest -n $(JOBS) --maxschedchunk 1 -q --junitxml=sim_build/junit/long.xml tb/test_sim.py -k "soak or tb_datapath"

# Linux's own virtio_net in User-Mode Linux, through the RTL (Verilator unless SIM=)
linux: $(STAMP) uml-deps
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.linux_run --sim $(or $(SIM),verilator) $(if $(REQUESTS),--frames $(REQUESTS)) \
	    $(if $(WRITES),--writes $(WRITES))

regress: $(STAMP) linux-source
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.regress --sim $(or $(SIM),icarus) --jobs $(JOBS) $(if $(CLUSTER),--engine $(CLUSTER)) \
	    $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# deliberate bugs in the RTL and firmware, each against the tests that should catch it
# (Icarus, about 20 min; table in sim_build/mutants/report.md)
mutate: $(STAMP) linux-source
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.mutate --jobs $(JOBS) $(MUTANTS)

# `make bench NAME ...` runs some: control, datapath, rings (the default set), load, sensitivity, wake,
# depths and model-check (the load model against their CSVs: `make bench load sensitivity wake depths
# model-check` regenerates all), and spread (the RTL's own spread at the load model's held-out points;
# Verilator: make bench spread SIM=verilator)
BENCH_NAMES := control datapath rings load sensitivity wake depths model-check spread
bench: $(STAMP)
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.bench --sim $(or $(SIM),icarus) --profile $(or $(PROFILE),ideal) --jobs $(JOBS) $(filter $(BENCH_NAMES),$(MAKECMDGOALS))
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(filter $(BENCH_NAMES),$(MAKECMDGOALS)):
	@:
endif

# the load model's fast mode: 1,000,000 requests (REQUESTS=) of mixed ring modes, payloads and
# depths through the vectorized ring processors, each turn priced by the model (seconds); at
# another setting: PROFILE= (host profile), LATENCIES= (latency setting), PARAMS=dma_tags=8,...
model: $(STAMP)
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.bench_model --fast $(if $(REQUESTS),--requests $(REQUESTS)) $(if $(PROFILE),--profile $(PROFILE)) \
	    $(if $(LATENCIES),--latencies $(LATENCIES)) $(if $(PARAMS),--params $(PARAMS))

# one load point on the RTL, each firmware turn timed beside the load model's price, and one
# turn's DMA submits, waits and TLPs (Verilator unless SIM=; MODE= SIZE= DEPTH= LATENCIES= PROFILE= (ideal@mps=128: varied),
# PARAMS=dma_desc_depth=16,... (RTL parameters), TURN=k: the window's turn k)
trace: $(STAMP)
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.bench_trace --sim $(or $(SIM),verilator) --mode $(or $(MODE),push) --size $(or $(SIZE),1024) \
	    --depth $(or $(DEPTH),16) --latencies $(or $(LATENCIES),default) --profile $(or $(PROFILE),ideal) \
	    $(if $(TURN),--turn $(TURN)) $(if $(PARAMS),--params $(PARAMS))

report: $(STAMP)
	$(CHECK_VARS)
	$(VPY) -m virtio_ep.report --sim $(or $(SIM),icarus) --profiles $(PROFILES) --jobs $(JOBS)

lint: $(STAMP)
	$(VPY) -m pytest -q tb/test_static.py -k lint

waves:
	@command -v gtkwave >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gtkwave; }
	@fst=$$(ls -t $$(find sim_build -name '*.fst') 2>/dev/null | head -1); \
	if [ -z "$$fst" ]; then echo "no waveform yet: run 'make sim WAVES=1' first"; exit 1; fi; \
	echo "opening $$fst"; gtkwave "$$fst" tb/waves.gtkw

clean:
	rm -rf sim_build
