"""tune_allocator: freed memory is reused instead of being faulted in afresh (glibc only)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cordon.app.allocator import tune_allocator

# what pdqhash does for each image: a 384x384 RGB image's luma as float64 temporaries, then float32 buffers;
# prints the page faults of 300 passes
_LOOP = """
import resource, sys
import numpy as np
from cordon.app.allocator import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
img = np.ones((384, 384, 3), dtype=np.uint8)
for _ in range(300):
    g = (img[:, :, 0] * 0.299 + img[:, :, 1] * 0.587 + img[:, :, 2] * 0.114).astype("float32")
    z = np.zeros_like(g)
    del g, z
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _LOOP, mode], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_tuned_process_reuses_freed_blocks_instead_of_faulting_them_in_again() -> None:
    if not tune_allocator():
        pytest.skip("this C library has no mallopt (not glibc)")
    default, tuned = _faults("default"), _faults("tuned")
    # untuned, glibc hands the freed blocks back and faults them in again: ~560 pages a pass (168k seen)
    assert default > 300 * 100
    # tuned, the first pass faults the blocks in and the others reuse them (~700 in all seen)
    assert tuned < default / 20
