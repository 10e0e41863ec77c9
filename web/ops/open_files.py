"""As many open files as the system lets this process have.

Every student's socket is an open file, beside the tickets and chats being written. systemd
starts a service with a soft limit of 1,024 (and a hard one of 524,288), as a login shell
usually does: a process that keeps it stops accepting connections near a thousand students
(`socket.accept() out of system resource`, a traceback a thousand times a second), a
deadline's morning. The soft limit is the process's own to raise, up to the hard one."""

from __future__ import annotations

import resource


def raise_open_files() -> int:
    """Raise the soft limit on open files to the hard one; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft
