"""What the commands of ``gsocseq`` share: options, the error exit, progress, signals.

Only the modules of :mod:`gsocseq.cli` import click. A command catches
:class:`~gsocseq.errors.GsocseqError` (what a user can fix), prints it and exits with 2. Each
command imports the code it drives when it runs (numpy, rasterio, matplotlib), never at
import: ``gsocseq --help`` stays fast.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, TypeVar, cast

import click

from gsocseq._core import MODES  # the core owns the spellings (not config: --help stays fast)

F = TypeVar("F", bound=Callable[..., Any])

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar or report.")
wait_option = click.option(
    "--wait",
    is_flag=True,
    help="If another process is using the output folder, wait for it instead of stopping.",
)
output_folder_option = click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (overrides [run] output).",
)
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace earlier outputs.")
mode_option = click.option("--mode", type=click.Choice(MODES), help="Numerical mode.")


#: the -c option of the commands on site tables (its [inputs] are not needed)
site_config_option = click.option(
    "-c",
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration for [run] options, scenarios and classes.",
)


def measurements_arguments(command: Any) -> Any:
    """SITES and OBSERVATIONS, the two tables of ``evaluate`` and ``calibrate``."""
    for name in ("observations", "sites"):
        command = click.argument(name, type=click.Path(dir_okay=False, path_type=Path))(command)
    return command


def config_argument(name: str = "config") -> Callable[[Any], Any]:
    """A TOML file argument."""
    return click.argument(name, type=click.Path(dir_okay=False, path_type=Path))


def fail(exc: Exception) -> NoReturn:
    """Print ``exc`` as an error and exit with its code (2 for every
    :class:`~gsocseq.errors.GsocseqError`: what a user can fix)."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(getattr(exc, "exit_code", 2))


def notify(text: str) -> None:
    click.echo(text, err=True)


@contextmanager
def stopped_by_signals(kept: str = "nothing computed yet") -> Iterator[None]:
    """SIGTERM (batch schedulers, ``timeout``; SIGBREAK on Windows) stops a command as Ctrl-C
    does: the run removes its temporaries and says what it kept; exit 128 + the signal's
    number (130 for Ctrl-C, 143 for SIGTERM). Only the first signal stops: the ones that
    follow (Ctrl-C twice, SIGTERM then SIGINT) are ignored until the command has exited, so
    that none cuts the clean-up short. They are ignored by the system (SIG_IGN), not by a
    Python handler: Python puts its handlers back to the default while it shuts down, and a
    Ctrl-C then killed the process (-2) after the command had stopped cleanly. An exception
    in ``Thread.join`` marks the thread it waits for as ended while it still runs (CPython,
    bpo-45274): a block then read or written in GDAL while the run closes the files and exits
    crashed the process (SIGSEGV, GDAL's "CPLDestroyMutex: Error = 16") instead of exit
    130/143. ``kept``: what the user has after a stop outside a run's blocks."""
    from gsocseq.pipeline import Interrupted, RunInterrupted

    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            for sig in caught:
                signal.signal(sig, signal.SIG_IGN)
            raise Interrupted(signum)

    caught = [getattr(signal, name) for name in ("SIGTERM", "SIGBREAK") if hasattr(signal, name)]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # (not if ignored)
        caught.append(signal.SIGINT)
    before = {sig: signal.signal(sig, stop) for sig in caught}
    try:
        yield
    except RunInterrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)
        click.echo(f"interrupted: {kept}", err=True)
        sys.exit(128 + signum)
    finally:
        if not stopping:  # (stopping: the signals stay ignored until the process exits)
            for sig, handler in before.items():
                signal.signal(sig, handler)


def stoppable(kept: str) -> Callable[[F], F]:
    """A command stopped by SIGTERM and Ctrl-C as :func:`stopped_by_signals` stops one: its
    temporaries removed, exit 130/143 and ``kept`` said (SIGTERM killed it: a hidden stage of
    a delivery or a report's temporary left behind; Ctrl-C: click's "Aborted!", exit 1)."""

    def wrap(command: F) -> F:
        @functools.wraps(command)
        def stopped(*args: Any, **kwargs: Any) -> Any:
            with stopped_by_signals(kept):
                return command(*args, **kwargs)

        return cast(F, stopped)

    return wrap


def check_threads(threads: Optional[int]) -> None:
    """Warn when ``--threads`` asks for more threads than a call uses on this machine."""
    from gsocseq._core import max_threads

    if threads and threads > max_threads():
        click.echo(
            f"warning: --threads {threads}: more than {max_threads()} (4 per core of this "
            f"machine) would only wait on each other; using {max_threads()}",
            err=True,
        )


#: seconds between two progress lines when stderr is not a terminal (a batch log)
LOG_EVERY_S = 30.0


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """Progress of a run in pixels of the grid on stderr (``progress(done, total)``): a bar on
    a terminal, shown from the first call (once the configuration has loaded and the inputs
    opened); plain lines (at most every :data:`LOG_EVERY_S` seconds, and at 100 %) in a log."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.base: Optional[int] = None
        self.terminal = sys.stderr.isatty()
        self.started = 0.0
        self.last_line = 0.0

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if self.base is None:  # the first call: pixels done before (a resumed run, said)
            self.base, self.started, self.last_line = done, now, now
            if self.terminal:
                # the bar (and its estimate of the time left) over the pixels still to compute
                self.bar = click.progressbar(
                    length=max(total - done, 1),
                    label=f"computing {total:,} pixels",
                    file=sys.stderr,
                    show_eta=True,
                )
                self.bar.__enter__()
            else:
                click.echo(f"computing {total - done:,} of {total:,} pixels", err=True)
            return
        if self.bar is not None:
            self.bar.update(done - self.base - self.bar.pos)
            if done >= total:
                self.close()
            return
        if done < total and now - self.last_line < LOG_EVERY_S:
            return
        self.last_line = now
        share = 100.0 * done / total if total else 100.0
        line = f"{share:5.1f} % of {total:,} pixels, {_clock(now - self.started)} elapsed"
        if 0 < done - self.base and done < total:
            rate = (done - self.base) / (now - self.started or 1e-9)
            line += f", about {_clock((total - done) / rate)} left"
        click.echo(line, err=True)

    def close(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


def with_progress(job: Callable[[Any], Any], quiet: bool) -> Any:
    """``job(progress)`` with the progress of a run on stderr (:class:`Progress`, pixels of
    the grid: ``progress(done, total)``); ``job(None)`` when ``quiet``."""
    if quiet:
        return job(None)
    progress = Progress()
    try:
        return job(progress)
    finally:
        progress.close()


def report_summary(summary: Any, quiet: bool = False) -> None:
    """What a run did, on stderr: pixels modelled, layers, time, warnings. With ``quiet``
    the warnings only: what the user should look at is said even with --quiet."""
    if quiet:
        for w in summary.warnings:
            click.echo(f"warning: {w}", err=True)
        return
    if summary.status != "complete":
        click.echo(f"{summary.name}: {summary.status} ({summary.output})", err=True)
        return
    from gsocseq.config import model_words

    model = model_words(summary.options or {})
    click.echo(
        f"{summary.modelled} pixels modelled ({summary.mode}{', ' + model if model else ''}); "
        f"{len(summary.layers)} layers in {summary.output} "
        f"({summary.timings.get('total_s', 0):.1f} s)",
        err=True,
    )
    qa = getattr(summary, "qa_protocol", None) or {}
    if qa.get("checks"):
        verdict = "passed" if qa.get("passed") else f"{qa.get('failed')} checks failed"
        click.echo(
            f"QA protocol (Annex II) on the national layers: {verdict} (run.json, the report)",
            err=True,
        )
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)
