"""The vendor-compatibility matrix: requirements by targets of several runs."""
