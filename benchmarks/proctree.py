"""Run a command and watch its whole process tree: peak RSS per process kind, CPU time, the machine's other load.

Used by `benchmarks.scale`. psutil is imported here only, so the rest of the benchmark (and its smoke test) does
not need it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.3
MIB = 1024 * 1024


def process_kind(cmdline: Sequence[str]) -> str:
    """`dbt`, `opmetrics`, `reader` (a sync's reading processes) or `other` (Dagster's log tailers and orphan
    watchers, multiprocessing helpers)."""
    words = [Path(part).name for part in cmdline[:3]]
    if "orchestration.raw.reader" in words:
        return "reader"
    if "dbt" in words or "opmetrics-dbt" in words:
        return "dbt"
    if "opmetrics" in words:
        return "opmetrics"
    return "other"


@dataclass
class TreeUsage:
    """What one command's process tree used while it ran."""

    returncode: int
    seconds: float
    timed_out: bool
    peak_rss_mib: dict[str, float]  # per process kind: the largest RSS any one process of that kind reached
    peak_tree_rss_mib: float  # the largest sum of RSS over the tree at one sample
    kernel_max_rss_mib: float  # the kernel's high-water mark of the largest single process (between samples too)
    cpu_seconds: float  # user + system of the whole tree, from the kernel (exact)
    processes_seen: dict[str, int] = field(default_factory=dict)  # per kind
    other_load_cores: float = 0.0  # CPU used meanwhile by processes outside this tree and `exclude`, in cores
    excluded_cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU of `exclude` (e.g. the server)
    # every sample: (epoch seconds, kind of the largest process, its RSS in MiB), to say which step used memory
    rss_samples: list[tuple[float, str, float]] = field(default_factory=list)


def _cpu(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def run_watched(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    timeout: float | None = None,
    exclude: Mapping[str, int] | None = None,
    kind_of_root: str | None = None,
) -> TreeUsage:
    """Run `argv`, sampling the RSS of it and all its descendants every 0.3 s until it exits.

    `exclude` names processes that are not part of the run (the sample server) whose CPU time over the same
    interval is reported apart; `kind_of_root` forces the kind of the started process (e.g. `dlt`).
    Output goes to `log_path`. On `timeout` the whole tree is killed (its process group).
    """
    exclude = dict(exclude or {})
    watched = {name: psutil.Process(pid) for name, pid in exclude.items() if psutil.pid_exists(pid)}
    excluded_before = {name: _cpu(p) for name, p in watched.items()}
    machine_before = psutil.cpu_times()
    me = psutil.Process()
    me_before = _cpu(me)
    peaks: dict[str, float] = {}
    samples: list[tuple[float, str, float]] = []
    seen: dict[int, str] = {}
    peak_tree = 0.0
    started = time.perf_counter()
    timed_out = False
    with log_path.open("wb") as log:
        # A session of its own: on a timeout the run, dbt and everything they started are killed together.
        proc = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        root = psutil.Process(proc.pid)
        try:
            while True:
                # wait4 rather than Popen.poll: it hands back the exited tree's rusage (CPU, max RSS).
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                tree_rss, largest = 0.0, ("other", 0.0)
                try:
                    members = [root, *root.children(recursive=True)]
                except psutil.Error:
                    members = []
                for member in members:
                    try:
                        if member.pid not in seen:
                            kind = kind_of_root if member.pid == proc.pid and kind_of_root else None
                            seen[member.pid] = kind or process_kind(member.cmdline())
                        rss = member.memory_info().rss / MIB
                    except psutil.Error:
                        continue  # exited between the listing and the read
                    kind = seen[member.pid]
                    peaks[kind] = max(peaks.get(kind, 0.0), rss)
                    tree_rss += rss
                    largest = max(largest, (kind, rss), key=lambda kind_rss: kind_rss[1])
                peak_tree = max(peak_tree, tree_rss)
                samples.append((time.time(), *largest))
                if timeout is not None and time.perf_counter() - started > timeout:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    _, status, rusage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                time.sleep(SAMPLE_SECONDS)
        except BaseException:
            # Interrupted (Ctrl-C reaches only this process: the run has a session of its own): end the run too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    seconds = time.perf_counter() - started
    machine_after = psutil.cpu_times()
    busy = (machine_after.user + machine_after.system + machine_after.nice) - (
        machine_before.user + machine_before.system + machine_before.nice
    )
    excluded = {name: _cpu(p) - excluded_before[name] for name, p in watched.items()}
    tree_cpu = rusage.ru_utime + rusage.ru_stime
    others = busy - tree_cpu - sum(excluded.values()) - (_cpu(me) - me_before)
    kinds: dict[str, int] = {}
    for kind in seen.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    return TreeUsage(
        returncode=proc.returncode,
        seconds=seconds,
        timed_out=timed_out,
        peak_rss_mib=peaks,
        peak_tree_rss_mib=peak_tree,
        kernel_max_rss_mib=rusage.ru_maxrss / 1024,
        cpu_seconds=tree_cpu,
        processes_seen=kinds,
        other_load_cores=max(0.0, others) / seconds if seconds else 0.0,
        excluded_cpu_seconds=excluded,
        rss_samples=samples,
    )


def rss_mib(pid: int) -> float:
    """Current RSS of one process (0 when it is gone)."""
    try:
        return psutil.Process(pid).memory_info().rss / MIB
    except psutil.Error:
        return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        return _cpu(psutil.Process(pid))
    except psutil.Error:
        return 0.0
