"""A command stopped by a signal: only the first signal stops it; one that follows (Ctrl-C
twice, SIGTERM then SIGINT) cannot cut the clean-up short (a block then read or written in
GDAL while the files close crashed the process: SIGSEGV instead of exit 130/143)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gsocseq.cli.options import stopped_by_signals


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill(SIGTERM) ends a Windows process")
def test_a_second_signal_does_not_cut_the_clean_up_short() -> None:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    cleaned: list[bool] = []
    try:
        with pytest.raises(SystemExit) as stopped:
            with stopped_by_signals():
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)  # the first signal stops the command here
                except KeyboardInterrupt:
                    os.kill(os.getpid(), signal.SIGTERM)  # another one while it cleans up
                    time.sleep(0.2)
                    cleaned.append(True)
                    raise
        assert cleaned, "the second signal cut the clean-up short"
        assert stopped.value.code == 143
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


LATE_SIGNAL = """
import os, signal, time
from gsocseq.cli.options import stopped_by_signals

class SignalAtShutdown:
    # deleted while Python shuts down, after it has put its signal handlers back to the default
    def __del__(self, kill=os.kill, pid=os.getpid(), sig=signal.SIGINT, sleep=time.sleep):
        kill(pid, sig)
        sleep(0.05)

late = SignalAtShutdown()
with stopped_by_signals():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the first signal stops the command here
"""


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill(SIGTERM) ends a Windows process")
def test_a_signal_while_python_shuts_down_keeps_the_exit_code() -> None:
    """A Ctrl-C after the command stopped (exit 143 said) while the interpreter shuts down:
    still exit 143, not killed by SIGINT (-2) with the clean-up half done."""
    done = subprocess.run(
        [sys.executable, "-c", LATE_SIGNAL], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 143, (done.returncode, done.stderr)
    assert "interrupted" in done.stderr
