"""The self-test: the suite must catch every fault of the reference mocks, and nothing on faithful ones."""
