"""Profiles for `make bench` (BENCH_PROFILE=1): py-spy samples a process (and its children) while a
phase runs, writes collapsed stacks to var/profiles/, and summarises where the time went."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "profiles"
ENABLED = bool(os.environ.get("BENCH_PROFILE"))


def _py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


@contextmanager
def sampled(name: str, pid: int | None = None, *, children: bool = False):
    """Sample `pid` (default: this process) while the block runs."""
    exe = _py_spy()
    if not ENABLED or exe is None:
        yield None
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.txt"
    cmd = [exe, "record", "-p", str(pid or os.getpid()), "-r", "200", "-f", "raw", "-o", str(path), "--nonblocking"]
    if children:
        cmd.append("--subprocesses")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield path
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py)"
    func, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    return f"{func} ({'/'.join(parts[-3:])})"


def summarise(path: Path, *, top: int = 12) -> str:
    """Share of samples by leaf (self) frame, and by the first Parley frame on each stack."""
    if not path or not path.exists():
        return "(no profile)"
    self_time: Counter = Counter()
    parley: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = [f for f in stack.split(";") if f]
        if not frames or "idle" in frames[-1]:
            continue
        total += count
        self_time[_short(frames[-1])] += count
        ours = [f for f in frames if any(f"({d}/" in f or f"/{d}/" in f for d in ("workflows", "config", "accounts"))]
        parley[_short(ours[-1]) if ours else "(outside Parley's code)"] += count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples. Self time:"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_time.most_common(top)]
    lines.append("Innermost Parley frame:")
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in parley.most_common(top)]
    return "\n".join(lines)
