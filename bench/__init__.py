"""Attune's benchmarks: `make bench` runs every script here (see run_all.py)."""
