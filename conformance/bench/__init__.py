"""Benchmarks: `prodcon bench`, throughput and latency of an implementation's queue
against the reference and the standard library.

May import: the shared modules at the package's top.
"""
