"""`conformance sdk-gate`: a client's traffic against the validating mock, judged."""
