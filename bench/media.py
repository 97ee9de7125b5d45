"""Processing a 12-megapixel JPEG (issue 22): time and peak memory of the whole media intake,
beside Pillow's bare open + save of the same file, measured in the same run.

`python bench/media.py` (or `make bench-media`) makes a 4000×3000 photo-like JPEG carrying EXIF
(camera, GPS), then measures in fresh processes (spawn), one per path and run, so each peak is
its own:

  intake  `workflows.media.intake.clean_upload`: sniff, framing walk (polyglots), markup scan,
          bomb check, verify, decode, EXIF orientation, strip, re-encode (quality 90), 480 px
          JPEG thumbnail, SHA-256;
  bare    `Image.open(f)` + `im.save(out, "JPEG", quality=90)`: Pillow alone, nothing checked,
          the EXIF not even carried (Pillow does not write it unless asked) — the reference;
  loaded  the same with `im.load()` before the save (measured here: a save of a JPEG opened
          but not loaded peaks at nearly twice the memory; this is the fairer floor).

Time: the median of BENCH_MEDIA_RUNS runs (5; quick mode 2), each the first run of a fresh
process whose imports and file read happened before the clock started. Peak memory: the process's peak
resident set during the run minus what it held before it (Linux: VmHWM, reset to the current
size just before the run through /proc/self/clear_refs; elsewhere `ru_maxrss`, which may carry
the parent's peak over a fork), and tracemalloc's Python-heap peak (Pillow's pixel buffers are
C allocations tracemalloc does not see), taken in a second run of the same process so that
tracing does not slow the timed one.
BENCH_QUICK=1: a 2-megapixel photo (1600×1200), 2 runs. BENCH_APPEND=0 (the harness test) prints
only; otherwise the table is appended to BENCHMARKS.md. Benchmarks assert nothing about timing.
"""
from __future__ import annotations

import io
import multiprocessing as mp
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/profile.py would shadow the standard library's `profile` (which cProfile imports).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

QUICK = bool(os.environ.get("BENCH_QUICK"))
SIZE = (1600, 1200) if QUICK else (4000, 3000)
RUNS = int(os.environ.get("BENCH_MEDIA_RUNS", "2" if QUICK else "5"))
APPEND = os.environ.get("BENCH_APPEND", "1") != "0"


def make_photo(size: tuple[int, int]) -> bytes:
    """A photo-like JPEG (smooth gradients, a little grain, shapes) with a phone's EXIF."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    base = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size),
                               Image.linear_gradient("L").rotate(90).resize(size)])
    draw = ImageDraw.Draw(base)
    for i in range(40):
        x, y = (i * 7919) % w, (i * 104729) % h
        draw.ellipse((x, y, x + w // 8, y + h // 8), fill=((i * 53) % 256, (i * 97) % 256, (i * 31) % 256))
    grain = Image.effect_noise(size, 24).convert("RGB")
    photo = Image.blend(base.filter(ImageFilter.GaussianBlur(3)), grain, 0.15)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 12", 1
    exif[0x8825] = {1: "N", 2: (45.0, 25.0, 17.0), 3: "W", 4: (75.0, 41.0, 50.0)}
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def _intake(data: bytes) -> int:
    from workflows.media.intake import clean_upload

    with clean_upload(io.BytesIO(data), name="IMG_0001.jpg") as clean:
        return clean.size


def _bare(data: bytes) -> int:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return len(out.getvalue())


def _rss_kb(field: str) -> int | None:
    """VmRSS / VmHWM of this process in kB (Linux), None elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Linux: make the peak resident set (VmHWM) the current one, so the next peak is the run's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _loaded(data: bytes) -> int:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return len(out.getvalue())


PATHS = {"intake": _intake, "bare": _bare, "loaded": _loaded}


def _measure(conn, which: str, path: str) -> None:
    """In a fresh process: set up, then one timed run with its peak memory."""
    import django

    django.setup()
    from PIL import Image  # noqa: F401

    import workflows.media.intake  # noqa: F401 - imported before the clock, like a warm worker

    data = Path(path).read_bytes()
    fn = PATHS[which]
    # The peak resident set during the run, above what the process held before it. Linux: VmHWM
    # reset to the current size first (ru_maxrss would carry the forking parent's peak over).
    linux = _reset_peak() and _rss_kb("VmRSS") is not None
    before = _rss_kb("VmRSS") if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    size = fn(data)
    elapsed = time.perf_counter() - started
    peak = _rss_kb("VmHWM") if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The Python heap's peak in a second run: tracemalloc slows Python code down, not the clock's run.
    tracemalloc.start()
    fn(data)
    _current, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    conn.send({"seconds": elapsed, "rss_kb": (peak or 0) - (before or 0), "py_kb": py_peak // 1024, "size": size})
    conn.close()


def measure(which: str, path: str, runs: int) -> dict:
    ctx = mp.get_context("spawn")
    samples = []
    for _ in range(runs):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_measure, args=(child, which, path))
        proc.start()
        samples.append(parent.recv())
        proc.join(timeout=60)
    return {
        "ms": statistics.median(s["seconds"] for s in samples) * 1000,
        "ms_min": min(s["seconds"] for s in samples) * 1000,
        "rss_mb": statistics.median(s["rss_kb"] for s in samples) / 1024,
        "py_mb": statistics.median(s["py_kb"] for s in samples) / 1024,
        "size": samples[0]["size"],
    }


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> None:
    import tempfile

    data = make_photo(SIZE)
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        intake = measure("intake", tmp.name, RUNS)
        bare = measure("bare", tmp.name, RUNS)
        loaded = measure("loaded", tmp.name, RUNS)
    mp_count = SIZE[0] * SIZE[1] / 1e6
    load = os.getloadavg()[0]
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M UTC} — commit {commit()} — media intake",
        "",
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at start, "
        f"Python {platform.python_version()}; a {mp_count:g}-megapixel JPEG ({SIZE[0]}×{SIZE[1]}, "
        f"{len(data) / 1e6:.1f} MB, EXIF with GPS), median of {RUNS} runs, each in a fresh process.",
        "",
        "| path | time (median, min) | peak RSS added | Python heap peak | output |",
        "|---|---|---|---|---|",
        f"| intake: sniff, framing, bomb check, verify, decode, orient, strip, re-encode q90, thumbnail, SHA-256 "
        f"| {intake['ms']:.0f} ms ({intake['ms_min']:.0f}) | {intake['rss_mb']:.0f} MB | {intake['py_mb']:.1f} MB "
        f"| {intake['size'] / 1e6:.1f} MB |",
        f"| Pillow bare open + save q90 (reference) | {bare['ms']:.0f} ms ({bare['ms_min']:.0f}) "
        f"| {bare['rss_mb']:.0f} MB | {bare['py_mb']:.1f} MB | {bare['size'] / 1e6:.1f} MB |",
        f"| Pillow open + `load()` + save q90 | {loaded['ms']:.0f} ms ({loaded['ms_min']:.0f}) "
        f"| {loaded['rss_mb']:.0f} MB | {loaded['py_mb']:.1f} MB | {loaded['size'] / 1e6:.1f} MB |",
        f"| **ratio intake / bare** | **{intake['ms'] / bare['ms']:.2f}×** "
        f"| **{intake['rss_mb'] / max(bare['rss_mb'], 0.1):.2f}×** | | |",
        f"| ratio intake / open + load + save | {intake['ms'] / loaded['ms']:.2f}× "
        f"| {intake['rss_mb'] / max(loaded['rss_mb'], 0.1):.2f}× | | |",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if APPEND:
        with (ROOT / "BENCHMARKS.md").open("a") as fh:
            fh.write("\n" + table)
        print("table appended to BENCHMARKS.md")
    else:
        print("BENCHMARKS.md left as it was (BENCH_APPEND=0)")


if __name__ == "__main__":
    main()
