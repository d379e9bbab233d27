"""The HiGHS solver the planner uses, silent from the first solve in a process.

HiGHS prints its banner ("Running HiGHS ...") from C++ straight to file descriptor 1 when the
first `Highs` object of a process is built, before any option can be set, so neither pulp's
`msg=False` nor `output_flag` stops it and `contextlib.redirect_stdout` cannot catch it. The
banner is printed once per process: building that first object once with descriptor 1 pointed
at /dev/null keeps every later solve silent. Descriptor 1 is shared by the whole process, so for
those few milliseconds another thread's stdout would be lost too (logging goes to stderr).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading

import highspy
import pulp

SOLVER_TIME_LIMIT_S = 10.0

_lock = threading.Lock()
_quiet = False


def highs() -> pulp.HiGHS:
    """A HiGHS solver for pulp that prints nothing (not even the first solve's banner)."""
    _swallow_banner()
    return pulp.HiGHS(msg=False, timeLimit=SOLVER_TIME_LIMIT_S, output_flag=False)


def quiet_highs() -> highspy.Highs:
    """A bare `highspy.Highs` that prints nothing, for models passed as arrays (the hub's feeder
    dispatch, hub/grid/opf.py)."""
    _swallow_banner()
    solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", False)
    return solver


def _swallow_banner() -> None:
    global _quiet
    with _lock:
        if _quiet:
            return
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()  # type: ignore[no-untyped-call]
                _flush_c_stdio()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _quiet = True


def _flush_c_stdio() -> None:
    """Flush C's stdout buffer too, so the banner is not written after fd 1 is restored."""
    # Without a C library to load (not Linux/macOS) there is no C buffer to flush either.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)
