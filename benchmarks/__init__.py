"""Benchmarks run by command (``python -m benchmarks``), never by the test suite."""
