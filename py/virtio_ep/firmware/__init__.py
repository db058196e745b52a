"""Device side: the soft-CPU model that drives the endpoint's AXI4-Lite port."""
