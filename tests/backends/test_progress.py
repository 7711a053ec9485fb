"""Progress of the default (numpyro) sampler: the host-side renderer, the chunked program
that reports to it, and Ctrl-C between chunks."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from typing import ClassVar

import numpy as np
import pytest

import hierbayes as hb
import hierbayes.model
from hierbayes import progress as progress_module
from hierbayes.backends.pymc.chunks import CHUNK_SECONDS, MAX_GROWTH, next_chunk
from hierbayes.errors import SamplingError
from hierbayes.progress import MIN_INTERVAL, SamplingProgress, progress_mode


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def simulate(progress: SamplingProgress, steps: int = 20, pause: float = 0.0) -> None:
    """Feed a run of 2 chains x (100 tune + 100 draws) in ``steps`` equal chunks."""
    with progress:
        progress.compile_started("loading the cached sampler")
        progress.compile_done()
        for k in range(1, steps + 1):
            done = 200 * k // steps
            progress.update([done, done], warmup_divergences=min(done, 3), divergences=max(0, done - 100) // 50)
            time.sleep(pause)


def make(stream, progressbar=True) -> SamplingProgress:
    return SamplingProgress(sampler="numpyro", chains=2, tune=100, draws=100, progressbar=progressbar, stream=stream)


def test_lines_mode_prints_one_line_per_phase_with_rate_and_divergences():
    stream = io.StringIO()  # not a terminal: logs, CI
    progress = make(stream)
    assert progress.mode == "lines"
    simulate(progress)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "NUTS[numpyro]: 2 chains x (100 tune + 100 draws) on 1 device(s)"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["compile", "warm-up", "sampling"]
    assert "loading the cached sampler took" in lines[1]
    assert "200 draws in" in lines[2] and "draws/s" in lines[2] and "divergences 3" in lines[2]
    assert "200 draws in" in lines[3] and "draws/s" in lines[3] and "divergences 2" in lines[3]
    assert "\r" not in stream.getvalue()


def test_terminal_bar_redraws_in_place_at_most_ten_times_a_second():
    stream = FakeTerminal()
    progress = make(stream)
    assert progress.mode == "bar"
    began = time.perf_counter()
    simulate(progress, steps=400, pause=0.001)
    elapsed = time.perf_counter() - began
    text = stream.getvalue()
    bar = text.split("\n")[2]  # header, compile line, then the bar redrawn with \r
    redraws = bar.count("\r")
    assert 2 <= redraws <= elapsed / MIN_INTERVAL + 4, (redraws, elapsed)
    final = bar.split("\r")[-1]
    assert "sampling" in final and "100%" in final and "400/400" in final
    assert "draws/s" in final and "divergences 2" in final
    assert "warm-up" in bar and "divergences 3 (warm-up)" in bar
    assert "<" in final  # elapsed<remaining
    assert text.endswith("\n")


def test_terminal_interrupted_run_says_so():
    stream = FakeTerminal()
    progress = make(stream)
    with pytest.raises(KeyboardInterrupt), progress:
        progress.compile_started("compiling the sampler")
        progress.compile_done()
        progress.update([40, 40], 1, 0)
        raise KeyboardInterrupt
    assert "interrupted" in stream.getvalue()


def test_nothing_is_drawn_when_progressbar_is_false():
    for stream in (io.StringIO(), FakeTerminal()):
        progress = make(stream, progressbar=False)
        assert progress.mode == "off"
        simulate(progress)
        assert stream.getvalue() == ""
        assert progress.chain_iterations == [200, 200]  # still a record of the run


def test_notebook_without_ipywidgets_gets_the_text_bar(monkeypatch):
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    stream = io.StringIO()  # a notebook's stderr is not a TTY
    assert progress_mode(True, stream) == "notebook"
    progress = make(stream)
    simulate(progress, steps=5)
    out = stream.getvalue()
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert "\r" in out and "100%" in out  # the text bar, redrawn with \r
    assert "compile: loading the cached sampler" in out


def _lines_after(*updates) -> str:
    """What a compiled sampler's progress writes for these (iterations, warm-up divergences,
    divergences) updates."""
    stream = io.StringIO()
    progress = make(stream)
    with progress:
        progress.compile_started("compiling the sampler")
        progress.compile_done()
        for update in updates:
            progress.update(*update)
    return stream.getvalue()


def test_uncounted_warm_up_divergences_say_so():
    out = _lines_after(([100, 100], None, 0), ([200, 200], None, 1))  # blackjax adapts in one piece
    assert "warm-up: 200 draws" in out and "divergences not counted" in out
    assert "divergences 1" in out.splitlines()[-1]


def test_bad_progressbar_value_is_an_error():
    with pytest.raises(SamplingError, match="progressbar must be True, False"):
        progress_mode("fancy", io.StringIO())


def test_chunks_grow_bounded_and_stop_at_the_end_of_warm_up():
    assert next_chunk(0, 100, 200, 0, None) == 2
    assert next_chunk(2, 100, 200, 2, 0.001) == 2 * MAX_GROWTH  # fast: grows, bounded
    assert next_chunk(10, 100, 200, 8, 8 * CHUNK_SECONDS) == 1  # 1 s per iteration: one at a time
    assert next_chunk(90, 100, 200, 50, 0.01) == 10  # never crosses the end of warm-up
    assert next_chunk(190, 100, 200, 50, 0.01) == 10
    # a whole run: sizes add up exactly to tune + draws with a chunk ending at tune
    done, size, ends = 0, 0, []
    while done < 200:
        size = next_chunk(done, 100, 200, size, 0.0001 * size)
        done += size
        ends.append(done)
    assert 100 in ends and ends[-1] == 200


class Recorder(SamplingProgress):
    runs: ClassVar[list[Recorder]] = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reports: list[list[int]] = []
        Recorder.runs.append(self)

    def update(self, chain_iterations, warmup_divergences, divergences):
        self.reports.append(list(chain_iterations))
        super().update(chain_iterations, warmup_divergences, divergences)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.slow
def test_fit_reports_every_chain_to_its_last_draw_and_the_bar_does_not_change_draws(
    sleepstudy, monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(progress_module, "SamplingProgress", Recorder)
    Recorder.runs.clear()
    # and what comes after sampling is imported on a thread while the chains run
    (tmp_path / "hb_imported_while_sampling.py").write_text(
        "import threading\nTHREAD = threading.current_thread().name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hb_imported_while_sampling", raising=False)
    monkeypatch.setattr(hierbayes.model, "IMPORTS_AFTER_SAMPLING", ("hb_imported_while_sampling",))
    model = hb.Model("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    kwargs = {"draws": 200, "tune": 200, "chains": 2, "random_seed": 5, "sampler": "numpyro"}
    with_bar = model.fit(progressbar=True, **kwargs)
    err = capsys.readouterr().err  # pytest's capture is not a terminal: one line per phase
    assert "NUTS[numpyro]: 2 chains x (200 tune + 200 draws)" in err
    for phase in ("compile:", "warm-up: 400 draws", "sampling: 400 draws"):
        assert sum(line.strip().startswith(phase) for line in err.splitlines()) == 1, (phase, err)
    run = Recorder.runs[-1]
    assert run.reports[-1] == [400, 400]
    assert any(r == [200, 200] for r in run.reports)  # a chunk ends where warm-up ends
    assert all(a[0] < b[0] for a, b in zip(run.reports, run.reports[1:]))
    assert sys.modules["hb_imported_while_sampling"].THREAD == "hierbayes-imports"

    without_bar = model.fit(progressbar=False, **kwargs)
    assert capsys.readouterr().err == ""
    for name in with_bar.idata.posterior.data_vars:
        np.testing.assert_array_equal(with_bar.idata.posterior[name].values, without_bar.idata.posterior[name].values)


@pytest.mark.slow  # about 35 s on 2 loaded cores: compiles a 2 x 40,000-iteration sampler
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ctrl_c_stops_within_a_second_and_the_next_fit_works(sleepstudy, monkeypatch, request):
    """SIGINT from a timer thread while the chains run: the fit ends within a second with
    the interrupted message, and the same model fits again in the same process."""
    monkeypatch.setattr(progress_module, "SamplingProgress", Recorder)
    Recorder.runs.clear()
    # a known start: in one full slow run on 2 xdist workers the worker no longer raised
    # KeyboardInterrupt at SIGINT after earlier tests (cause not found; alone this passes)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    model = hb.Model("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    kwargs = {"draws": 20000, "tune": 20000, "chains": 2, "random_seed": 1, "sampler": "numpyro",
              "progressbar": False}
    sent: list[float] = []

    def interrupt_when_running():
        while not (Recorder.runs and Recorder.runs[-1].reports):
            time.sleep(0.01)
        time.sleep(0.3)
        if Recorder.runs[-1].reports[-1][0] < 40000:
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt_when_running, daemon=True)
    timer.start()
    with pytest.raises(hb.FitInterrupted, match=r"interrupted by the user \(Ctrl-C\)"):
        model.fit(**kwargs)
    stopped = time.perf_counter()
    timer.join(timeout=5)
    assert sent, "the fit ended before the interrupt was sent"
    assert stopped - sent[0] < 1.0
    assert Recorder.runs[-1].reports[-1][0] < 40000

    again = model.fit(**{**kwargs, "draws": 200, "tune": 200, "random_seed": 5})
    assert again.idata.posterior.sizes["draw"] == 200


@pytest.mark.slow  # blackjax's sampler compiles for ~45 s; blackjax is an optional extra
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_blackjax_goes_through_the_same_chunked_path(sleepstudy, monkeypatch, capsys):
    pytest.importorskip("blackjax")
    monkeypatch.setattr(progress_module, "SamplingProgress", Recorder)
    Recorder.runs.clear()
    model = hb.Model("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
    model.fit(draws=200, tune=200, chains=2, random_seed=3, sampler="blackjax", progressbar=True)
    err = capsys.readouterr().err
    assert "NUTS[blackjax]" in err and "divergences not counted" in err and "sampling: 400 draws" in err
    assert Recorder.runs[-1].reports[-1] == [400, 400]


@pytest.mark.slow  # starts a Jupyter kernel (~8 s)
def test_a_real_jupyter_kernel_gets_a_redrawn_bar():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = f"""
import sys; sys.path.insert(0, {root!r})
from hierbayes.progress import SamplingProgress
p = SamplingProgress(sampler="numpyro", chains=2, tune=100, draws=100)
print("mode", p.mode)
with p:
    p.compile_started("loading the cached sampler"); p.compile_done()
    for k in range(1, 21):
        p.update([10 * k, 10 * k], 1, 0)
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    stdout = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "mode notebook" in stdout
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        assert stderr.count("\r") >= 2 and "100%" in stderr and "sampling" in stderr


def test_a_jupyter_kernel_without_ipywidgets_hears_nothing_of_tqdms_widgets():
    """numpyro imports tqdm.auto, whose "IProgress not found. Please update jupyter and
    ipywidgets" a notebook user saw on every first fit; hierbayes draws its own bar."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = f"""
import sys; sys.path.insert(0, {root!r}); sys.modules["ipywidgets"] = None
from hierbayes.backends.pymc.nuts_setup import configure_jax
configure_jax()
import numpyro.infer
print("imported")
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert "imported" in text
    assert "IProgress" not in text


def test_warm_up_divergences_say_they_are_not_in_the_draws():
    lines = _lines_after(([200, 200], 7, 0), ([400, 400], 7, 0)).splitlines()
    assert any("divergences 7 (while adapting, not in the draws)" in line for line in lines)
    assert "divergences 0" in lines[-1] and "adapting" not in lines[-1]
