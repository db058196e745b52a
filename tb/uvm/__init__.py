"""pyuvm environment over the endpoint: items, sequences, driver, monitors, scoreboard, coverage."""
