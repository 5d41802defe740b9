"""The command line: one module per command; every error is one line and a documented exit code."""
