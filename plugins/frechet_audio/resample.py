"""Sample-rate conversion with ``scipy.signal.resample_poly``, whole or block by block with the same samples.

The resampler is scipy's polyphase FIR resampler with its default Kaiser (β = 5) low-pass filter of 20·max(up, down)+1
taps, the ratio reduced to lowest terms. :class:`StreamResampler` produces exactly the samples that
``resample_poly(whole_signal, up, down)`` would, while holding only the filter's span of input: every output sample is
computed by ``upfirdn`` over a slice of the input that starts on a multiple of ``down``, so it sees the same input
samples and filter taps, in the same order, as in the whole-signal call.
"""

from __future__ import annotations

import math

import numpy as np

#: The filter window ``resample_poly`` uses by default; part of every audio embedder's configuration.
WINDOW = ("kaiser", 5.0)
RESAMPLER = "scipy.signal.resample_poly(kaiser 5.0)"


def rational_factors(source_rate: int, target_rate: int) -> tuple[int, int]:
    """(up, down) in lowest terms so that ``source_rate * up / down == target_rate``."""
    common = math.gcd(source_rate, target_rate)
    return target_rate // common, source_rate // common


def resample(signal: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """A whole 1-D signal at ``target_rate`` (float64), as ``scipy.signal.resample_poly``."""
    signal = np.asarray(signal, dtype=np.float64)
    up, down = rational_factors(source_rate, target_rate)
    if up == down:
        return signal.copy()
    from scipy.signal import resample_poly  # imported on use: scipy.signal adds ~1 s to every frechet start-up

    return resample_poly(signal, up, down, window=WINDOW)


class StreamResampler:
    """Resamples a 1-D signal given block by block; the concatenated output equals :func:`resample` of the whole."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self.up, self.down = rational_factors(source_rate, target_rate)
        self._pending = np.zeros(0)  # input samples from absolute index self._start on
        self._start = 0
        self._received = 0
        self._emitted = 0
        if self.up != self.down:
            from scipy.signal import firwin  # imported on use, as in resample()

            half_len = 10 * max(self.up, self.down)
            taps = firwin(2 * half_len + 1, 1.0 / max(self.up, self.down), window=WINDOW) * self.up
            pre_pad = self.down - half_len % self.down
            self._filter = np.concatenate([np.zeros(pre_pad), taps])
            self._delay = (half_len + pre_pad) // self.down  # leading outputs resample_poly removes

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add input samples; return the output samples that are now complete."""
        block = np.asarray(block, dtype=np.float64)
        if self.up == self.down:
            self._received += block.size
            return block
        self._pending = np.concatenate([self._pending, block])
        self._received += block.size
        # output n needs input up to floor((n + delay) * down / up); emit those whose inputs have all arrived
        ready = (self._received * self.up - 1) // self.down - self._delay + 1
        return self._emit(max(ready, self._emitted))

    def finish(self) -> np.ndarray:
        """The remaining output samples once the whole input has been pushed (zeros assumed beyond its end)."""
        if self.up == self.down:
            return np.zeros(0)
        total = -(-self._received * self.up // self.down)  # ceil, as resample_poly's output length
        return self._emit(total)

    def _emit(self, stop: int) -> np.ndarray:
        """Outputs ``self._emitted`` up to ``stop`` (exclusive), computed over the input slice they depend on."""
        if stop <= self._emitted:
            return np.zeros(0)
        first = self._first_input(self._emitted)
        offset = first * self.up // self.down  # output index of the slice's first upfirdn sample, less the delay
        from scipy.signal import upfirdn

        filtered = upfirdn(self._filter, self._pending[first - self._start :], self.up, self.down)
        out = filtered[self._emitted + self._delay - offset : stop + self._delay - offset]
        self._emitted = stop
        keep_from = self._first_input(stop)
        self._pending = self._pending[keep_from - self._start :]
        self._start = keep_from
        return out

    def _first_input(self, output: int) -> int:
        """First input index (a multiple of ``down``, so the polyphase phases line up) output ``output`` needs."""
        lowest = -(-((output + self._delay) * self.down - self._filter.size + 1) // self.up)
        return max(self._start, max(lowest, 0) // self.down * self.down)
