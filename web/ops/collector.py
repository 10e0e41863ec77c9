"""The garbage collector, set for a server that holds thousands of live chats.

CPython's cycle collector runs a young collection every 700 net allocations and, every tenth
time, an older one; a full collection walks every tracked object. With 2,000 students
connected that walk is 100-400 ms, the event loop stands still meanwhile, and at the deadline
rush it came every few seconds: the exchange p99 and the loop lag p99 were these pauses, and
the collector was a third of the server's CPU (bench.load, issue 14).

So, once the app is built: everything made at start (modules, the FAQ index, templates: about
80,000 objects that live as long as the process) is frozen out of every walk, and the young
generation is collected every YOUNG_THRESHOLD allocations instead of 700. Most of a step's
objects die by reference counting before that, so collections become rare; the older
generations keep CPython's ratios, so a cycle left by a closed connection is still collected,
within a few thousand students' worth of allocations.
"""

from __future__ import annotations

import gc

# Measured with bench.load at 2,000 students: 20,000 made the middle generation's walks reach
# 175 ms (it then holds up to 10 x 20,000 survivors); 5,000 keeps them under 40 ms.
YOUNG_THRESHOLD = 5_000


def settle() -> None:
    """Call once the app is built, before it serves."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
