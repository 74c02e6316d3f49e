"""The demo dataset behind ``gql-users seed-demo`` and ``make run``: ``data`` computes the rows,
``seed`` inserts the missing ones.

Not part of the core: it uses the core's helpers (passwords, slugs, tokens) but no API imports
it, only the command line (and the benchmarks and tests).
"""
