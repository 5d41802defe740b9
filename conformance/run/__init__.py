"""One run: the runner, the pytest plugin and suite, live targets, parallel sessions, plans."""
