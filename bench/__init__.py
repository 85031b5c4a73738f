"""Benchmarks: service-layer timings against bare-SQL baselines measured in the same run."""
