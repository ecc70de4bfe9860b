"""Benchmarks: simulated clients and workers driving a real Horde server over HTTP."""
