"""Keep freed memory in the process for reuse instead of handing it back to the kernel at once (glibc).

glibc's malloc serves a block of more than a few hundred KB by a fresh `mmap` and unmaps it when freed, and it
gives the top of its heap back whenever more than a little is free there. Bulk jobs allocate and free the same
few megabytes again and again (an image's pixels as floats for PDQ, a batch's lists and bytes), and every time
the pages are faulted in afresh, zeroed by the kernel: hashing 1,500 images of the 1M-post world took 2.2 s of
user time and 0.9-1.1 s in the kernel (532,000 page faults); with the settings below, 0.02-0.05 s (under 900).

`tune_allocator` serves blocks under `MMAP_THRESHOLD` (32 MB, glibc's maximum) from the heap and trims its top
only past `TRIM_THRESHOLD` (256 MB). A process keeps at most that much free memory it no longer uses; large
buffers (Arrow's, DuckDB's) come from their own allocators and are not affected. Elsewhere than glibc (musl,
macOS) there is nothing to tune and it does nothing. Settings carry over to forked children; spawned workers
call it themselves (`processes.ordered_map`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.cache
def tune_allocator() -> bool:
    """Apply the settings above to this process (once); True when the C library took them."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False  # no C library by that name, or one without mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    took_mmap: int = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    took_trim: int = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return took_mmap == 1 and took_trim == 1
