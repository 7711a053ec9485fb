"""The CLI's report folder, replaced whole or not at all.

A report is written into a staging folder beside ``--out`` and swapped in when every file is
written: an interrupted or failed run leaves the previous report as it was (it had left a new
``summary.txt`` and ``fit.nc`` among the old tables and plots), and a report written over an
older one keeps none of its files. A folder is only replaced when a hierbayes report wrote it
(its :data:`MARKER` file), so ``--out`` cannot delete a folder of the user's; both problems
and an ``--out`` that cannot be written are found before sampling, not after.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import SpecError

#: The file that marks a folder as a hierbayes report (which a later report may replace).
MARKER = ".hierbayes-report"


def staging_folder(folder: Path) -> Path:
    """Check that ``folder`` may receive a report and create the staging folder beside it.

    Raises
    ------
    SpecError
        When ``folder`` is a file, a non-empty folder without :data:`MARKER`, or its parent
        cannot be written.
    """
    if folder.exists() and not folder.is_dir():
        raise SpecError(f"--out {str(folder)!r} is a file, not a folder; give a folder for the report")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise SpecError(
            f"--out {str(folder)!r} is a folder with files hierbayes did not write (no {MARKER}); "
            "give a new or empty folder, so that the report replaces nothing of yours"
        )
    staging = folder.parent / f".{folder.name}.writing-{os.getpid()}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise SpecError(f"cannot write the report beside {str(folder)!r}: {exc.strerror or exc}") from None
    (staging / MARKER).write_text("a hierbayes report folder: the next report written here replaces it\n",
                                  encoding="utf-8")
    return staging


def publish(staging: Path, folder: Path) -> None:
    """Put the finished report ``staging`` in place of ``folder`` (the old one removed)."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    staging.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(staging: Path) -> None:
    """Remove an unfinished report's staging folder."""
    shutil.rmtree(staging, ignore_errors=True)
