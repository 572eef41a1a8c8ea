"""Duration and inter-arrival distributions of the simulator.

A :class:`Distribution` is a small frozen description (picklable, so that it
travels to worker processes); :meth:`Distribution.sampler` turns it into a fast
closure over a :class:`random.Random`. All values are in seconds.

Kinds and parameters (seconds):

============  ==========================================  ====================================
kind          parameters                                  sample
============  ==========================================  ====================================
fixed         ``value``                                   always ``value``
exponential   ``mean``, ``shift`` (default 0)             ``shift`` + Exp(mean - shift)
uniform       ``low``, ``high``                           U(low, high)
normal        ``mean``, ``sd``                            N(mean, sd)
lognormal     ``mean``, ``sd`` (of the value itself)      exp(N(mu, sigma)) with that mean, sd
gamma         ``mean``, ``sd``                            Gamma(shape=(mean/sd)^2, scale=sd^2/mean)
triangular    ``low``, ``mode``, ``high``                 triangular
empirical     ``values``                                  one of the values, uniformly
============  ==========================================  ====================================

``low`` and ``high`` also truncate the other kinds: a sample outside
``[low, high]``, or negative, is drawn again (as Prosimos does), up to 100
times; then the mean (or the middle of the range) is used.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidInputError

__all__ = ["KINDS", "Batch", "Distribution", "Sampler"]

KINDS = ("fixed", "exponential", "uniform", "normal", "lognormal", "gamma", "triangular", "empirical")
Sampler = Callable[[], float]
Batch = Callable[[int], list[float]]
_TRIES = 100
_BATCH = 256


@dataclass(frozen=True)
class Distribution:
    """A distribution of durations in seconds (see the module docstring for the kinds)."""

    kind: str
    value: float = 0.0
    mean: float = 0.0
    sd: float = 0.0
    low: float | None = None
    high: float | None = None
    mode: float = 0.0
    shift: float = 0.0
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise InvalidInputError(problem)

    def problem(self) -> str | None:
        """Why these parameters are not valid, or None."""
        k = self.kind
        if k not in KINDS:
            return f"unknown distribution {k!r}: expected one of {', '.join(KINDS)}"
        if k == "fixed":
            return "a fixed duration must be >= 0" if self.value < 0 else None
        if k == "empirical":
            if not self.values or any(v < 0 or not math.isfinite(v) for v in self.values):
                return "an empirical sample needs at least one value, all >= 0"
            return None
        if k in ("uniform", "triangular"):
            if self.low is None or self.high is None or not 0 <= self.low <= self.high:
                return f"{k} needs 0 <= min <= max"
            if k == "triangular" and not self.low <= self.mode <= self.high:
                return "triangular needs min <= mode <= max"
            return None
        if self.mean <= 0 and k != "normal":
            return f"{k} needs a mean > 0"
        if k in ("lognormal", "gamma") and self.sd <= 0:
            return f"{k} needs sd > 0 (use fixed for no spread)"
        if k == "normal" and (self.sd < 0 or self.mean + 5 * self.sd <= 0):
            return "normal needs sd >= 0 and a mean that is not far below 0"
        if k == "exponential" and not 0 <= self.shift < self.mean:
            return "exponential needs 0 <= shift < mean"
        if self.low is not None and self.high is not None and self.low > self.high:
            return "min must not exceed max"
        return None

    @property
    def expected(self) -> float:
        """The mean of the untruncated distribution (seconds)."""
        k = self.kind
        if k == "fixed":
            return self.value
        if k == "empirical":
            return sum(self.values) / len(self.values)
        if k == "uniform":
            return ((self.low or 0.0) + (self.high or 0.0)) / 2
        if k == "triangular":
            return ((self.low or 0.0) + self.mode + (self.high or 0.0)) / 3
        return self.mean

    def scaled(self, factor: float) -> Distribution:
        """The same distribution in other units (every time parameter multiplied by ``factor``)."""

        def s(x: float | None) -> float | None:
            return None if x is None else x * factor

        return Distribution(
            self.kind,
            self.value * factor,
            self.mean * factor,
            self.sd * factor,
            s(self.low),
            s(self.high),
            self.mode * factor,
            self.shift * factor,
            tuple(v * factor for v in self.values),
        )

    def sampler(self, rng: random.Random) -> Sampler:
        """A closure that draws one value per call from ``rng`` (truncated to ``[low, high]`` and >= 0)."""
        batch = self.batch(rng)
        buf: list[float] = []

        def draw() -> float:
            if not buf:
                buf.extend(batch(_BATCH))
            return buf.pop()

        return draw

    def batch(self, rng: random.Random) -> Batch:
        """A function ``k -> k values``, drawn in bulk (much faster in Python than one call per value)."""
        k = self.kind
        u = rng.random
        if k == "fixed":
            v = self.value
            return lambda n: [v] * n
        if k == "empirical":
            values = self.values
            return lambda n: rng.choices(values, k=n)
        if k == "uniform":
            a, w = self.low or 0.0, (self.high or 0.0) - (self.low or 0.0)
            return lambda n: [a + w * u() for _ in range(n)]
        if k == "triangular":
            a, b, m = self.low or 0.0, self.high or 0.0, self.mode
            return lambda n: [rng.triangular(a, b, m) for _ in range(n)]
        lo = max(0.0, self.low if self.low is not None else 0.0)
        hi = self.high if self.high is not None else math.inf
        fallback = self.mean if lo <= self.mean <= hi else (lo + (hi if hi < math.inf else lo)) / 2
        raw = self._raw(rng)

        def truncated(n: int) -> list[float]:
            out: list[float] = []
            for _ in range(_TRIES):
                out += [x for x in raw(n - len(out) + 8) if lo <= x <= hi]
                if len(out) >= n:
                    return out[:n]
            return out + [fallback] * (n - len(out))

        return truncated

    def _raw(self, rng: random.Random) -> Batch:
        k, u, log, exp = self.kind, rng.random, math.log, math.exp
        if k == "exponential":
            scale, shift = self.mean - self.shift, self.shift
            return lambda n: [shift - scale * log(1.0 - u()) for _ in range(n)]
        if k == "normal":
            mu, sigma = self.mean, self.sd
            return lambda n: [mu + sigma * z for z in _normals(u, n)]
        if k == "lognormal":
            phi2 = self.sd**2 + self.mean**2
            mu = math.log(self.mean**2 / math.sqrt(phi2))
            sigma = math.sqrt(math.log(phi2 / self.mean**2))
            return lambda n: [exp(mu + sigma * z) for z in _normals(u, n)]
        shape, scale = (self.mean / self.sd) ** 2, self.sd**2 / self.mean
        if shape < 1:
            return lambda n: [rng.gammavariate(shape, scale) for _ in range(n)]
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)

        def gamma(n: int) -> list[float]:  # Marsaglia and Tsang (2000), shape >= 1
            out: list[float] = []
            while len(out) < n:
                for x in _normals(u, n - len(out) + 4):
                    v = 1.0 + c * x
                    if v <= 0:
                        continue
                    v = v * v * v
                    if log(1.0 - u()) < 0.5 * x * x + d - d * v + d * log(v):
                        out.append(d * v * scale)
            return out

        return gamma


def _normals(u: Callable[[], float], n: int) -> list[float]:
    """``n`` standard normal values (Box-Muller, in pairs)."""
    out: list[float] = []
    log, sqrt, cos, sin, tau = math.log, math.sqrt, math.cos, math.sin, math.tau
    for _ in range((n + 1) // 2):
        r = sqrt(-2.0 * log(1.0 - u()))
        t = tau * u()
        out.append(r * cos(t))
        out.append(r * sin(t))
    return out
