"""What a bench measures, and the statistics of it: pure, shared by the thread round,
the asyncio round and the report."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    """One workload: P producer threads, C consumer threads, a capacity, a total of items."""

    producers: int
    consumers: int
    maxsize: int
    items: int

    @property
    def label(self) -> str:
        size = f"maxsize={self.maxsize}" if self.maxsize > 0 else "unbounded"
        return f"{self.producers}P/{self.consumers}C {size}"



def percentile(sorted_values: list[float], pct: float) -> float:
    """The pct-th percentile, linearly interpolated between ranks (numpy's default).

    Interpolated rather than nearest-rank so that p99 of a small quick run still moves
    smoothly with the data instead of jumping to the maximum.
    """
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    position = (len(sorted_values) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def ratio(value: float | None, base: float | None) -> float | None:
    """value / base, or None when either side is missing (stuck, failed) or base is 0."""
    if value is None or not base:
        return None
    return value / base


def split(total: int, parts: int) -> list[int]:
    """`total` items over `parts` threads, as evenly as possible (the first ones take the rest)."""
    share, rest = divmod(total, parts)
    return [share + (1 if i < rest else 0) for i in range(parts)]


@dataclass(frozen=True)
class Round:
    """What one round of one case measured for one contender."""

    throughput: float  # items per second, start barrier to last consumer done
    p50_ns: float  # put-to-get latency over every item of the round
    p99_ns: float

    @classmethod
    def of(cls, items: int, latencies: list[list[int]], started_ns: int,
           finished_ns: list[int]) -> Round:
        """The figures of a round from what it recorded: each consumer's latencies, the
        start, and when each consumer was done (threads and tasks alike)."""
        every = sorted(itertools.chain.from_iterable(latencies))
        elapsed_ns = max(max(finished_ns) - started_ns, 1)
        return cls(items * 1e9 / elapsed_ns, percentile(every, 50), percentile(every, 99))


@dataclass(frozen=True)
class Trouble:
    """Why a contender has no figures for a case: it got stuck, or a call raised."""

    status: str  # "stuck" or "failed"
    detail: str


@dataclass
class Figures:
    """Every round of one contender in one case, and their medians."""

    rounds: list[Round] = field(default_factory=list)
    trouble: Trouble | None = None

    @property
    def ok(self) -> bool:
        return self.trouble is None and bool(self.rounds)

    def _median(self, attribute: str) -> float | None:
        if not self.ok:
            return None
        return statistics.median(getattr(r, attribute) for r in self.rounds)

    @property
    def throughput(self) -> float | None:
        return self._median("throughput")

    @property
    def p50_ns(self) -> float | None:
        return self._median("p50_ns")

    @property
    def p99_ns(self) -> float | None:
        return self._median("p99_ns")
