"""Benchmarks: each measures hanoinet beside a reference measured in the same run."""
