"""Fault injection (issue 16): after a full disk, a second process, a signal, a kill -9, a
changed input with its modification time restored, a damaged checkpoint, a changed
configuration or an output used as an input, a run either stops with a clear exit 2 and nothing
wrong under a final name, or gives layers bit-identical to an undisturbed run."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from .conftest import Area, cli, fresh, interruptible, layers, same, start, wait_blocks

BLOCKS = 9  # 48 x 48 pixels in blocks of 16


def temporaries(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if ".part" in p.name)


def file_size_limit(kib: int):
    """A subprocess's files may grow to ``kib`` KiB at most (as on a full disk: writes past it
    fail with EFBIG; Python ignores SIGXFSZ)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))

    return limit


def run_limited(kib: int, *args: str) -> subprocess.CompletedProcess:
    proc = start(*args, preexec=file_size_limit(kib))
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# 1. disk full ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kib", [4, 8, 11])
def test_write_failure_exits_2_naming_the_folder_and_a_bigger_disk_completes(area, kib):
    toml, out = fresh(area, f"full{kib}")
    if kib == 4:  # the block checkpoints fail first
        res = run_limited(kib, "run", str(toml), "-q", "--threads", "1")
    else:  # blocks computed; the layers fail (temporaries, COGs) while assembling
        assert cli("run", str(toml), "-q", "--tile", "1/1").returncode == 0
        res = run_limited(kib, "assemble", str(toml), "-q")
    assert res.returncode == 2, res.stderr
    assert str(out) in res.stderr and "free" in res.stderr and "needs up to" in res.stderr
    assert "Traceback" not in res.stderr
    area_out = Area.__new__(Area)
    area_out.out, area_out.ref = out, area.ref
    area_out.final_names_ok()
    assert not (out / "TST_GSOCseq_run.json").exists()
    assert not temporaries(out)
    # the same command on a bigger disk completes, bit for bit
    again = cli("assemble" if kib != 4 else "run", str(toml), "-q")
    assert again.returncode == 0, again.stderr
    same(area.ref, layers(out))


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kib", [8, 100])
def test_export_and_report_on_a_full_disk_exit_2_and_keep_the_earlier_ones(area, kib):
    # before: a traceback and exit 1 (GDAL's errors and EFBIG/ENOSPC were not caught), and a
    # figure of the earlier report overwritten in place was left cut short
    toml, out = fresh(area, f"deliver{kib}")
    assert cli("run", str(toml), "-q").returncode == 0
    assert cli("export", str(out), "--fao", "KEN", "-q").returncode == 0
    assert cli("report", str(out), "-q").returncode == 0
    delivery, report = files(out / "FAO_KEN"), files(out / "report")
    for args, what in (
        (("export", str(out), "--fao", "KEN", "--overwrite", "-q"), "the export"),
        (("report", str(out), "-q"), "the report"),
    ):
        res = run_limited(kib, *args)
        assert res.returncode == 2, res.stderr
        assert f"{what} needs up to" in res.stderr and str(out) in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    # the earlier delivery and report whole (every file of the report is written the same
    # but the PDF, whose date differs: the limit stops it before it replaces the earlier one)
    assert files(out / "FAO_KEN") == delivery
    assert files(out / "report") == report
    assert not temporaries(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".FAO_KEN")]


#: a command run with a step patched to end in SIGTERM (as a batch scheduler's time limit)
TERM_DURING = """
import os, signal, sys, time
import matplotlib.figure
from gsocseq import writing

def term():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)

to_cog, savefig = writing.to_cog, matplotlib.figure.Figure.savefig
def cog_then_term(*args, **kwargs):
    to_cog(*args, **kwargs)
    term()
def half_a_figure_then_term(self, path, *args, **kwargs):
    with open(path, "wb") as f:
        f.write(b"half a figure")
    term()
writing.to_cog = cog_then_term
matplotlib.figure.Figure.savefig = half_a_figure_then_term
from gsocseq.cli import main
main(sys.argv[1:])
"""


def test_export_and_report_stopped_by_sigterm_exit_143_and_keep_the_earlier_ones(area):
    # before: killed by SIGTERM (exit -15), the delivery's hidden stage left in the folder
    # (and Ctrl-C: click's "Aborted!", exit 1)
    toml, out = fresh(area, "term")
    assert cli("run", str(toml), "-q").returncode == 0
    assert cli("export", str(out), "--fao", "KEN", "-q").returncode == 0
    assert cli("report", str(out), "-q").returncode == 0
    delivery, report = files(out / "FAO_KEN"), files(out / "report")
    for args in (("export", str(out), "--fao", "KEN", "--overwrite", "-q"), ("report", str(out))):
        res = subprocess.run(
            [sys.executable, "-c", TERM_DURING, *args], capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 143, res.stderr
        assert "interrupted:" in res.stderr and "Traceback" not in res.stderr
    assert files(out / "FAO_KEN") == delivery
    assert files(out / "report") == report
    assert not temporaries(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".FAO_KEN")]


# 2. two runs into one folder -------------------------------------------------------------------


def test_second_run_is_refused_naming_the_process_and_wait_waits(area):
    from gsocseq.folder import FolderLock

    toml, out = fresh(area, "two")
    out.mkdir()
    with FolderLock(out):  # this test's process is the first run
        second = cli("run", str(toml), "-q")
        assert second.returncode == 2, second.stderr
        assert f"folder in use by process {os.getpid()}" in second.stderr
        report = cli("report", str(out), "-q")  # a report never mixes two runs' layers
        assert report.returncode == 2 and "in use by process" in report.stderr
        waiting = start("run", str(toml), "-q", "--wait")
        assert waiting.stderr is not None
        assert f"waiting for process {os.getpid()}" in waiting.stderr.readline()
        assert waiting.poll() is None
        assert not list(out.glob("*.tif"))
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    same(area.ref, layers(out))
    # while a report holds the folder (shared), a run waits too
    with FolderLock(out, shared=True, what="report"):
        res = cli("run", str(toml), "-q", "--overwrite")
        assert res.returncode == 2 and "in use by process" in res.stderr


def test_runs_started_together_never_mix(area):
    toml, out = fresh(area, "together")
    procs = [start("run", str(toml), "-q", "--threads", "1") for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert all(rc in (0, 2) for rc, _ in results), results
    assert any(rc == 0 for rc, _ in results)
    assert all("in use by process" in err for rc, err in results if rc == 2)
    same(area.ref, layers(out))


def test_a_killed_holder_leaves_no_stale_lock(area):
    toml, out = fresh(area, "killed_holder")
    proc = start("run", str(toml), "-q", "--threads", "1")
    wait_blocks(proc, out, 2)
    proc.kill()
    proc.wait()
    res = cli("run", str(toml), "-q")
    assert res.returncode == 0, res.stderr
    same(area.ref, layers(out))
    assert not temporaries(out)


# 3. tiles of two configurations ----------------------------------------------------------------


def test_tiles_and_assembly_of_another_configuration_are_refused_and_nothing_deleted(area):
    toml, out = fresh(area, "tiles")
    other = area.root / "tiles_other.toml"
    other.write_text(toml.read_text().replace("[run]\n", "[run]\nyears = 30\n"))
    assert cli("run", str(toml), "-q", "--tile", "1/2").returncode == 0
    blocks = sorted(p.name for p in (out / ".gsocseq-TST" / "blocks").glob("*.npz"))
    assert blocks
    for args in (["run", str(other), "-q", "--tile", "2/2"], ["assemble", str(other), "-q"]):
        res = cli(*args)
        assert res.returncode == 2, res.stderr
        assert "another configuration" in res.stderr and "years: 20 -> 30" in res.stderr
        assert sorted(p.name for p in (out / ".gsocseq-TST" / "blocks").glob("*.npz")) == blocks
    res = cli("run", str(toml), "-q", "--no-qa-mask", "--tile", "2/2")
    assert res.returncode == 2 and "qa_mask: true -> false" in res.stderr
    assert cli("run", str(toml), "-q", "--tile", "2/2").returncode == 0
    assert cli("assemble", str(toml), "-q").returncode == 0
    same(area.ref, layers(out))


# 4. content changed, size and mtime restored ---------------------------------------------------


def rewrite_keeping_stat(path: Path) -> None:
    st = path.stat()
    with rasterio.open(path, "r+") as ds:
        ds.write(ds.read() * np.float32(1.05))
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_resume_and_up_to_date_are_decided_by_content(tmp_path):
    area = Area(tmp_path, seed=32)
    toml, out = area.toml, area.out
    proc = start("run", str(toml), "-q", "--threads", "1")
    wait_blocks(proc, out, 3)
    proc.kill()
    proc.wait()
    rewrite_keeping_stat(area.input("soc"))
    res = cli("run", str(toml), "-q")
    assert res.returncode == 2 and "input soc changed" in res.stderr, res.stderr
    area.final_names_ok()
    res = cli("run", str(toml), "-q", "--overwrite")
    assert res.returncode == 0, res.stderr
    changed = layers(out)
    assert changed != area.ref
    # a finished run is not "up to date" after the same kind of change
    rewrite_keeping_stat(area.input("clay"))
    res = cli("run", str(toml), "-q")
    assert res.returncode == 2 and "input clay changed" in res.stderr, res.stderr
    assert layers(out) == changed
    # what the layers are for the inputs now: a fresh folder
    ref_toml, ref_out = fresh(area, "now")
    assert cli("run", str(ref_toml), "-q").returncode == 0
    assert cli("run", str(toml), "-q", "--overwrite").returncode == 0
    same(layers(ref_out), layers(out))


# 5. an output used as an input -----------------------------------------------------------------


def test_an_output_of_the_run_as_its_input_is_refused(area):
    toml, out = fresh(area, "chained")
    assert cli("run", str(toml), "-q").returncode == 0
    final = out / "TST_GSOCseq_finalSOC_BAU_Map030.tif"
    before = final.read_bytes()
    chained = area.root / "chained2.toml"
    text = toml.read_text()
    soc = str(area.input("soc"))
    chained.write_text(text.replace(f'soc = "{soc}"', f'soc = "{final}"'))
    for extra in ([], ["--overwrite"]):
        res = cli("run", str(chained), "-q", *extra)
        assert res.returncode == 2, res.stderr
        assert "input soc is an output of this run" in res.stderr
    assert final.read_bytes() == before
    same(area.ref, layers(out))


# 6. a changed configuration into a finished folder ---------------------------------------------


def test_changed_configuration_needs_overwrite_which_removes_the_old_layers_and_report(area):
    toml, out = fresh(area, "changed")
    assert cli("run", str(toml), "-q").returncode == 0
    assert cli("report", str(out), "-q").returncode == 0
    assert (out / "report" / "report.html").exists()
    other = area.root / "changed_none.toml"
    other.write_text(toml.read_text().replace("[run]\n", '[run]\nuncertainty = "none"\n'))
    res = cli("run", str(other), "-q")
    assert res.returncode == 2, res.stderr
    assert "finished run" in res.stderr and "--overwrite" in res.stderr
    same(area.ref, layers(out))
    res = cli("run", str(other), "-q", "--overwrite")
    assert res.returncode == 0, res.stderr
    names = {p.name for p in out.glob("*.tif")}
    assert not [n for n in names if "Uncertainty" in n]  # the old run's layers are gone
    assert not (out / "report" / "report.html").exists()
    ref_toml, ref_out = area.root / "none_ref.toml", area.root / "none_ref"
    ref_toml.write_text(other.read_text().replace(str(out), str(ref_out)))
    assert cli("run", str(ref_toml), "-q").returncode == 0
    same(layers(ref_out), layers(out))


# 7. a damaged block checkpoint -----------------------------------------------------------------


def test_damaged_checkpoints_are_found_and_computed_again(area):
    toml, out = fresh(area, "damaged")
    assert cli("run", str(toml), "-q", "--tile", "1/1").returncode == 0
    blocks = out / ".gsocseq-TST" / "blocks"
    truncated = blocks / "block_0000003.npz"
    truncated.write_bytes(truncated.read_bytes()[:-200])
    flipped = blocks / "block_0000005.npz"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x40
    flipped.write_bytes(bytes(data))
    (blocks / "block_0000007.npz").write_bytes(b"")
    res = cli("assemble", str(toml), "-q")
    assert res.returncode == 0, res.stderr
    same(area.ref, layers(out))
    summary = (out / "TST_GSOCseq_run.json").read_text()
    assert "block 3: its checkpoint was damaged" in summary
    # the same on a resumed run
    toml2, out2 = fresh(area, "damaged_resume")
    proc = start("run", str(toml2), "-q", "--threads", "1")
    wait_blocks(proc, out2, 4)
    proc.kill()
    proc.wait()
    for p in sorted((out2 / ".gsocseq-TST" / "blocks").glob("block_*.npz"))[:2]:
        p.write_bytes(p.read_bytes()[:100])
    res = cli("run", str(toml2), "-q")
    assert res.returncode == 0, res.stderr
    same(area.ref, layers(out2))


# 8. signals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "code", "after"),
    [(signal.SIGTERM, 143, 1), (signal.SIGTERM, 143, 5), (signal.SIGINT, 130, 3)],
)
def test_signal_stops_cleanly_and_the_same_command_continues(area, sig, code, after):
    toml, out = fresh(area, f"signal{int(sig)}_{after}")
    proc = start("run", str(toml), "--threads", "1")
    wait_blocks(proc, out, after)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # it finished first: nothing to continue
        same(area.ref, layers(out))
        return
    assert proc.returncode == code, err
    assert "run the same command again to continue" in err and "Traceback" not in err
    kept = int(err.split("interrupted: ")[1].split(" of ")[0])
    assert f"interrupted: {kept} of {BLOCKS} blocks kept" in err
    assert not temporaries(out)
    area_out = Area.__new__(Area)
    area_out.out, area_out.ref = out, area.ref
    area_out.final_names_ok()
    res = cli("run", str(toml))
    assert res.returncode == 0, res.stderr
    if kept:
        assert f"resuming: {kept} of {BLOCKS} blocks done" in res.stderr
    same(area.ref, layers(out))


def test_kill_9_at_several_points_then_the_same_command_is_bit_identical(area):
    toml, out = fresh(area, "kill9")
    for blocks in (1, 4, 8, 9):
        proc = start("run", str(toml), "-q", "--threads", "1")
        wait_blocks(proc, out, blocks)
        proc.kill()
        proc.wait()
        area_out = Area.__new__(Area)
        area_out.out, area_out.ref = out, area.ref
        area_out.final_names_ok()
    assert cli("run", str(toml), "-q").returncode == 0
    same(area.ref, layers(out))
    assert not temporaries(out)


# 9. a run name too long for the file system ----------------------------------------------------


def test_a_run_name_too_long_is_refused_before_computing(area):
    toml, out = fresh(area, "longname")
    toml.write_text(toml.read_text().replace('name = "TST"', f'name = "{"N" * 205}"'))
    res = cli("run", str(toml), "-q")
    assert res.returncode == 2, res.stderr
    assert "choose a name of at most" in res.stderr and "Traceback" not in res.stderr
    assert not list(out.glob("*.tif")) and not list(out.rglob("*.npz"))


# 10. threads -----------------------------------------------------------------------------------

_CORE = """
import sys, time
import numpy as np
from gsocseq import rothc
n, months, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
args = dict(pools=np.ones((n, 5)), temperature=np.full(months, 10.0), precipitation=50.0,
            evaporation=40.0, cover=1.0, plant_input=0.2, fym_input=0.0, dpm_rpm=1.44,
            rate_factor=1.0, clay=20.0, depth=23.0)
print("started", flush=True)
try:
    r = rothc.run(threads=threads, **args)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter(), flush=True)
    sys.exit(130)
one = rothc.run(threads=1, **args)
print("same" if r.pools.tobytes() == one.pools.tobytes() else "different", flush=True)
"""


def test_a_huge_thread_count_is_capped_with_the_same_numbers():
    res = subprocess.run(
        [sys.executable, "-c", _CORE, "3000", "240", str(10**6)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "same" in res.stdout


def test_ctrl_c_stops_the_core_between_chunks():
    # ~20 s of work on one thread: a Ctrl-C that waited for the end would take that long
    proc = subprocess.Popen(
        [sys.executable, "-c", _CORE, "200000", "1200", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    took = float(out.split("interrupted ")[1].split()[0]) - sent
    assert took < 5, took  # (perf_counter is system-wide on Linux)


def test_cli_caps_a_huge_thread_count(area):
    toml, out = fresh(area, "threads")
    res = cli("run", str(toml), "-q", "--threads", "1000000")
    assert res.returncode == 0, res.stderr
    assert "warning: --threads 1000000" in res.stderr
    same(area.ref, layers(out))


# 11. demo over a demo --------------------------------------------------------------------------


def test_demo_over_an_existing_demo_needs_overwrite(tmp_path):
    config = tmp_path / "demo" / "inputs" / "gsocseq.toml"
    config.parent.mkdir(parents=True)
    config.write_text("# an earlier demo\n")
    res = cli("demo", str(tmp_path / "demo"), "-q")
    assert res.returncode == 2 and "--overwrite" in res.stderr, res.stderr
    assert config.read_text() == "# an earlier demo\n"
    assert sorted(p.name for p in (tmp_path / "demo").rglob("*")) == ["gsocseq.toml", "inputs"]
