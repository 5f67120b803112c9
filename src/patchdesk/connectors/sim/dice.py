"""Deterministic dice for the simulator: every draw is a pure function of its inputs.

Nothing here keeps state. A draw depends only on the seed, the device (or the connector),
what is being decided and a counter or key, never on the order in which devices or calls
happen, nor on Python's per-process string hashing:

- :func:`key_of` turns any parts (seed, connector id, a tag ...) into a 64-bit key
  (BLAKE2b, stable across processes and platforms);
- :func:`unit` is the n-th uniform number in [0, 1) of a key's stream (SplitMix64: a few
  integer operations, cheap enough for lazily computed facts asked of 50,000 devices);
- :func:`stream` is a ``random.Random`` seeded from the parts, for the rarer events that
  draw several values (an install, a reboot).
"""

from __future__ import annotations

import random
from datetime import timedelta
from hashlib import blake2b

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_TWO_TO_64 = float(1 << 64)

Span = tuple[float, float]


def key_of(*parts: object) -> int:
    """A stable 64-bit key for ``parts`` (joined as text with ':')."""
    text = ":".join(map(str, parts)).encode()
    return int.from_bytes(blake2b(text, digest_size=8).digest(), "little")


def _finalize(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def unit(key: int, n: int) -> float:
    """The ``n``-th number of ``key``'s stream, uniform in [0, 1)."""
    # (_finalize written out: the simulator draws this a few hundred thousand times a run.)
    z = (key + (n + 1) * _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) / _TWO_TO_64


def subkey(key: int, tag: int) -> int:
    """An independent stream derived from ``key`` (for one kind of decision)."""
    return _finalize((key ^ (tag * _GAMMA)) & _MASK)


def stream(*parts: object) -> random.Random:
    """A private random generator for one event, seeded only by ``parts``."""
    return random.Random(key_of(*parts))


def between(fraction: float, span: Span) -> float:
    """The point ``fraction`` (0..1) of the way through ``span``."""
    low, high = span
    return low + fraction * (high - low)


def minutes(value: float) -> timedelta:
    """A duration in whole seconds, at least one second (times must strictly increase)."""
    return timedelta(seconds=max(1, round(value * 60)))
