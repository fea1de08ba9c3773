"""`skip_final_collection`: a process ends without a last garbage collection over the heap it still holds."""

from __future__ import annotations

import subprocess
import sys

# Garbage in a reference cycle at exit: only the interpreter's last collection would finalize it.
SCRIPT = """
import gc, os, sys
gc.disable()  # no collection before exit; the interpreter's last one runs regardless
from orchestration.fast_exit import skip_final_collection

class Cycle:
    def __del__(self, write=os.write):
        write(1, b"finalized")

cycle = Cycle()
cycle.me = cycle
del cycle
if sys.argv[1:] == ["skip"]:
    skip_final_collection()
    skip_final_collection()  # a second call (another command in the same process) changes nothing
print("done", flush=True)
"""


def _run(*args: str) -> str:
    result = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, check=True)
    return result.stdout


def test_the_last_collection_is_skipped_only_when_asked() -> None:
    assert _run() == "done\nfinalized", "without it, Python's last collection walks the heap at exit"
    assert _run("skip") == "done\n", "with it, nothing alive at exit is walked again"
