"""Garbage collection tuned for the web process's latency.

The web process holds many long-lived objects: Django's, and a few hundred per open WebSocket
connection. CPython's full (generation 2) collections walk all of them: with 1,000 stream
clients one took 80-170 ms, during which no event reached anyone (bench/notification_latency.py
saw p99 190 ms instead of 55 ms). Freezing what exists once the application is loaded takes
Django's objects out of every later collection, and larger thresholds make young collections
rarer, so fewer short-lived objects get promoted and full collections come seldom.
"""

import gc

# (young, middle, old): a young collection every 10,000 net allocations (CPython: 700); a
# full one after 100 middle ones (CPython: 10).
THRESHOLDS = (10_000, 50, 100)


def tune_for_latency() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
