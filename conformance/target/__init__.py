"""One target under test: configuration, the recording HTTP client, safety, the ledger."""
