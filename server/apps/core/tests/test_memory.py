"""core/memory.py: with the thresholds raised, a large block comes from the heap instead of a mapping of its own."""

import subprocess
import sys

import pytest

from server.apps.core.memory import keep_large_blocks

# A fresh interpreter allocates an 8 MiB block and prints how many blocks glibc has mapped on their own before and
# while it lives (mallinfo2's hblks), after keep_large_blocks() when asked.
PROBE = """
import ctypes, sys
from server.apps.core.memory import keep_large_blocks
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    assert keep_large_blocks()
before = mallinfo2().hblks
block = bytearray(8 * 1024 * 1024)
print(before, mallinfo2().hblks)
"""


def mapped_blocks(mode: str) -> tuple[int, int]:
    found = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    before, during = found.stdout.split()
    return int(before), int(during)


def test_the_project_runs_on_a_c_library_with_mallopt():
    # Debian's glibc, in the image and on the machines it runs on; a False here means large blocks go unkept.
    assert keep_large_blocks() is True


@pytest.mark.parametrize(("mode", "new_mappings"), [("default", 1), ("keep", 0)])
def test_a_large_block_is_mapped_only_by_default(mode, new_mappings):
    before, during = mapped_blocks(mode)
    assert during - before == new_mappings
