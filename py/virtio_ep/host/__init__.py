"""Host side: enumeration, BAR access and MSI over the cocotbext-pcie root complex."""
