"""Benchmarks (`make bench`): each measures the project against a baseline taken in the same run, on a
scratch database. Shared helpers are in bench/common.py."""
