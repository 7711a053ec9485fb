"""JAX started before hierbayes (so with one CPU device): the chains would run one after
another, silently, and the same seed would give other draws; hierbayes says so and how to
fix it."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from hierbayes.backends.pymc.nuts_setup import TooFewDevicesWarning, warn_if_too_few_devices


def test_one_device_for_four_chains_says_they_run_one_after_another_and_how_to_fix_it(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")  # as hierbayes sets it
    with pytest.warns(TooFewDevicesWarning) as record:
        warn_if_too_few_devices(found=1, usable=2, chains=4)
    message = str(record[0].message)
    assert "JAX has 1 CPU device, so the 4 chains run one after another where 2 cores" in message
    assert "import hierbayes before using JAX" in message
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=4 before JAX starts" in message


def test_a_device_count_the_user_set_is_named_as_the_cause(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
    with pytest.warns(TooFewDevicesWarning, match=r"run one after another where 2 cores could run them at once: "
                                                  r"XLA_FLAGS sets --xla_force_host_platform_device_count=1\. Set it "
                                                  r"to 4 \(or leave it out\) before JAX starts\.$"):
        warn_if_too_few_devices(found=1, usable=2, chains=4)


def test_fewer_devices_than_cores_names_how_many_run_at_once(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")  # as hierbayes sets it
    with pytest.warns(TooFewDevicesWarning, match=r"JAX has 2 CPU devices, so the 8 chains run 2 at a time where 8 "
                                                  r"cores .*device_count=8 before"):
        warn_if_too_few_devices(found=2, usable=8, chains=8)


def test_enough_devices_warn_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_too_few_devices(found=4, usable=2, chains=4)
        warn_if_too_few_devices(found=2, usable=2, chains=4)


@pytest.mark.slow  # a fresh process compiles its programs for one device (~15 s)
def test_a_process_that_started_jax_first_is_warned_at_its_fit():
    code = (
        "import warnings, jax; jax.devices()\n"
        "import hierbayes as hb\n"
        "df = hb.datasets.load('sleepstudy')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    hb.Model('Reaction ~ Days + (1 | Subject)', df).fit(draws=100, tune=100, chains=2, cores=2,"
        " progressbar=False, random_seed=1)\n"
        "print([type(w.message).__name__ for w in caught])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # hierbayes set it in this process
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True, env=env)
    assert "TooFewDevicesWarning" in out.stdout, out.stdout + out.stderr
