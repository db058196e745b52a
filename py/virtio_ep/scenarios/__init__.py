"""What the benches and tests run on the bench (simulation side, needs cocotb):

  bring_up   the one bring-up: a registered transport's firmware, probe, driver queues
  exercise   checked traffic for each device class (tests, soak)
  control    the control-plane measurement (make sim, bench, report; tb_control)
  datapath   the data-path measurement (make bench, report; tb_timing)
  echo       the echo mailbox demo (make sim TRANSPORT=echo; tb_system)
  runs       the cocotb test module that make sim / bench / report simulate
"""

# The import name of `runs`, for the runner side (it imports cocotb's simulator-only parts).
RUNS_MODULE = f"{__name__}.runs"
