"""Isolation: an implementation imported in a separate, resource-limited process and
tested through proxies (`--prodcon-isolate`, and every submission `prodcon grade` runs).

May import: the shared modules at the package's top only.
"""
