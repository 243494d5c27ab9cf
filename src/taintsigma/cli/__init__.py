"""The taintsigma command line: a thin layer of parsing, printing and exit codes."""
