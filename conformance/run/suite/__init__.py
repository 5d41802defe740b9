"""The conformance tests: one test per (target, requirement), generated from the requirement catalog."""
