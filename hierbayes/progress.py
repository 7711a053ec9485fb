"""Progress of a NUTS run, drawn on the host.

The sampler reports after every chunk of iterations (see ``backends/pymc/jaxnuts.py``):
how many iterations each chain has done and the divergences so far. This module only
draws that, so it imports neither JAX nor PyMC. Three ways of drawing:

- ``"bar"``: a terminal bar redrawn in place with ``\\r`` (tqdm), at most ~10 times a
  second: phase (compile, warm-up, sampling), draws per second, divergences, time left;
- ``"notebook"``: the same in Jupyter, as an ipywidgets bar when ipywidgets is installed,
  else as the text bar (Jupyter redraws ``\\r`` lines);
- ``"lines"``: one quiet line per phase when the output is not a terminal (logs, CI).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Self, TextIO

PHASES = ("compile", "warm-up", "sampling")
#: Seconds between two redraws of a bar (tqdm's ``mininterval``).
MIN_INTERVAL = 0.1


def in_notebook() -> bool:
    """True inside a Jupyter kernel (notebook, lab, VS Code), False in a terminal or IPython."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        name = type(shell.get_ipython()).__name__
    except AttributeError:
        return False
    return name == "ZMQInteractiveShell"


def progress_mode(progressbar: bool | str, stream: TextIO) -> str:
    """How to draw progress: "off", "bar", "notebook" or "lines".

    ``progressbar`` is True (choose from the stream), False, or one of the mode names.
    """
    if progressbar is False or progressbar == "off":
        return "off"
    if isinstance(progressbar, str):
        if progressbar not in ("bar", "notebook", "lines"):
            from .errors import SamplingError

            raise SamplingError(
                f"progressbar must be True, False, 'bar', 'notebook' or 'lines', not {progressbar!r}"
            )
        return progressbar
    if in_notebook():
        return "notebook"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def _seconds(value: float) -> str:
    value = round(value)
    return f"{value // 60}:{value % 60:02d}" if value >= 60 else f"{value} s"


def _terminal_size(stream: TextIO) -> tuple[int, int]:
    """Columns (60-120) and lines of the stream's terminal. A pseudo-terminal may report
    0 x 0, with which tqdm would hide the bar (it hides bars below the last line)."""
    import os

    try:
        size = os.get_terminal_size(stream.fileno())
        columns, lines = size.columns, size.lines
    except (AttributeError, OSError, ValueError):
        columns, lines = 0, 0
    return (min(max(columns, 60), 120) if columns else 110), (lines if lines > 0 else 24)


class SamplingProgress:
    """Draws the progress of one NUTS run; also a record of what the sampler reported.

    Use as a context manager around the run: leaving it with ``KeyboardInterrupt`` ends
    the display with "interrupted".

    Parameters
    ----------
    sampler : name shown in the header ("numpyro", "blackjax").
    chains, tune, draws : the run's shape; every chain makes ``tune + draws`` iterations.
    devices : number of devices the chains run on (shown in the header).
    progressbar : True (bar in a terminal or notebook, lines otherwise), False (nothing),
        or "bar", "notebook", "lines".
    stream : where to draw; default ``sys.stderr``.
    """

    def __init__(
        self,
        *,
        sampler: str,
        chains: int,
        tune: int,
        draws: int,
        devices: int = 1,
        progressbar: bool | str = True,
        stream: TextIO | None = None,
    ) -> None:
        self.sampler, self.chains, self.tune, self.draws, self.devices = sampler, chains, tune, draws, devices
        self.stream = stream if stream is not None else sys.stderr
        self.mode = progress_mode(progressbar, self.stream)
        self.phase = "compile"
        #: Iterations done per chain, as last reported.
        self.chain_iterations: list[int] = [0] * chains
        self.warmup_divergences: int | None = 0
        self.divergences = 0
        self.updates = 0
        self._phase_start = time.perf_counter()
        self._compile_note = ""
        self._bar = None
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop_ticking = threading.Event()
        self._closed = False

    # -- what the sampler calls ------------------------------------------------------
    @property
    def total(self) -> int:
        """Iterations of all chains together (warm-up and kept draws)."""
        return self.chains * (self.tune + self.draws)

    def header(self) -> str:
        return (f"NUTS[{self.sampler}]: {self.chains} chains x ({self.tune} tune + {self.draws} draws) "
                f"on {self.devices} device(s)")

    def compile_started(self, note: str) -> None:
        """The host starts getting the sampler program ready; ``note`` says how
        ("compiling the sampler", "loading the cached sampler", ...)."""
        self._compile_note = note
        self._phase_start = time.perf_counter()
        if self.mode == "off":
            return
        self._write(self.header() + "\n")
        if self.mode != "lines":  # a bar: count the seconds while compiling
            self._ticker = threading.Thread(target=self._tick_compile, daemon=True)
            self._ticker.start()

    def compile_done(self) -> None:
        """The program is ready; the first iterations start."""
        seconds = time.perf_counter() - self._phase_start
        self._end_phase(f"compile: {self._compile_note} took {seconds:.1f} s")
        self.phase = "warm-up" if self.tune > 0 else "sampling"
        self._phase_start = time.perf_counter()
        if self.mode in ("bar", "notebook"):
            self._bar = self._make_bar()

    def update(self, chain_iterations: Sequence[int], warmup_divergences: int | None, divergences: int) -> None:
        """The chains have done ``chain_iterations`` iterations (warm-up included), with
        ``warmup_divergences`` divergent warm-up iterations (None: not counted) and
        ``divergences`` divergent kept draws over all chains."""
        before = sum(self.chain_iterations)
        self.chain_iterations = [int(i) for i in chain_iterations]
        self.warmup_divergences = None if warmup_divergences is None else int(warmup_divergences)
        self.divergences = int(divergences)
        self.updates += 1
        if self.phase == "warm-up" and min(self.chain_iterations) >= self.tune:
            elapsed = time.perf_counter() - self._phase_start
            n = self.chains * self.tune
            # NUTS diverges while it adapts its step size; those draws are discarded
            adapting = " (while adapting, not in the draws)" if self.warmup_divergences else ""
            self._end_phase(f"warm-up: {n} draws in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.0f} draws/s), "
                            f"divergences {self._count(self.warmup_divergences)}{adapting}")
            self.phase = "sampling"
            self._phase_start = time.perf_counter()
        if self._bar is not None:
            self._bar.set_description_str(self.phase, refresh=False)
            self._bar.set_postfix_str(self._divergence_text(), refresh=False)
            self._bar.update(sum(self.chain_iterations) - before)
        if self.phase == "sampling" and min(self.chain_iterations) >= self.tune + self.draws:
            elapsed = time.perf_counter() - self._phase_start
            n = self.chains * self.draws
            self._end_phase(f"sampling: {n} draws in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.0f} draws/s), "
                            f"divergences {self.divergences}")
            self.phase = "done"

    def close(self, interrupted: bool = False) -> None:
        """End the display (idempotent); ``interrupted`` says the user stopped the run."""
        if self._closed:
            return
        self._closed = True
        self._stop_ticker()
        if self._bar is not None:
            if interrupted:
                self._bar.set_postfix_str(self._divergence_text() + ", interrupted", refresh=True)
            self._bar.close()
            self._bar = None
        if interrupted and self.mode != "off":
            done, total = sum(self.chain_iterations), self.total
            seconds = time.perf_counter() - self._phase_start
            text = f"  {self.phase}: interrupted after {done} of {total} draws ({seconds:.1f} s in this phase)"
            self._write(("\r" + text.ljust(60) if self.mode != "lines" else text) + "\n")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(interrupted=exc_type is not None and issubclass(exc_type, KeyboardInterrupt))

    # -- drawing -------------------------------------------------------------------------
    @staticmethod
    def _count(value: int | None) -> str:
        return "not counted" if value is None else str(value)

    def _divergence_text(self) -> str:
        if self.phase == "warm-up":
            return f"divergences {self._count(self.warmup_divergences)} (warm-up)"
        return f"divergences {self.divergences}"

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()

    def _end_phase(self, text: str) -> None:
        """One line for a finished phase: in "lines" mode the whole log; with a bar only the
        compile line (the bar itself shows the other phases)."""
        if self.mode == "lines":
            self._write(f"  {text}\n")
        elif self.mode in ("bar", "notebook") and text.startswith("compile"):
            self._stop_ticker()
            self._write(f"\r  {text}".ljust(60) + "\n")

    def _tick_compile(self) -> None:
        start = self._phase_start
        while True:
            self._write(f"\r  compile: {self._compile_note} ... {_seconds(time.perf_counter() - start)}")
            if self._stop_ticking.wait(0.5):
                return

    def _stop_ticker(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            self._stop_ticking.set()
            ticker.join(timeout=1.0)

    def _make_bar(self):
        bar_class = None
        if self.mode == "notebook":
            try:
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm as bar_class
            except ImportError:
                bar_class = None
        if bar_class is None:
            from tqdm.std import tqdm as bar_class
        ncols, nrows = _terminal_size(self.stream)
        return bar_class(
            total=self.total,
            desc=self.phase,  # the header above names the sampler
            unit=" draws",
            file=self.stream,
            mininterval=MIN_INTERVAL,
            smoothing=0.1,
            ncols=ncols,
            nrows=nrows,
            bar_format="  {desc:<8} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                       "[{elapsed}<{remaining}, {rate_fmt}{postfix}]",
            postfix=self._divergence_text(),
            leave=True,
        )
