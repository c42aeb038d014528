"""Children tied to their parent: they die with it, and starting them never hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shortlist.processes import descendants

ROOT = Path(__file__).resolve().parents[1]


def test_starting_children_while_another_thread_multiplies_matrices_never_hangs():
    """A `preexec_fn` made subprocess fork(), whose OpenBLAS handler waits for a BLAS call in
    another thread: a reindex decoding one video while embedding another hung for good."""
    script = f"""
import sys, threading, subprocess
import numpy as np
sys.path.insert(0, {str(ROOT)!r})
from shortlist.processes import tied_to_parent
stop = False
def multiply():
    a = np.random.rand(384, 1536).astype(np.float32)
    b = np.random.rand(1536, 384).astype(np.float32)
    while not stop:
        a @ b
worker = threading.Thread(target=multiply)
worker.start()
for _ in range(200):
    subprocess.run(tied_to_parent(["true"]), check=True)
stop = True
worker.join()
print("started 200")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "started 200" in proc.stdout, proc.stderr


def test_a_tied_child_ends_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", (
        f"import sys, subprocess; sys.path.insert(0, {str(ROOT)!r}); "
        "from shortlist.processes import tied_to_parent; "
        "subprocess.run(tied_to_parent(['sleep', '60']))")])
    try:
        deadline = time.monotonic() + 10
        while not (children := descendants(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children, "the child never started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in children)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
