"""Who a worker is, and whether a worker that holds leases has died on this machine.

A worker's id is ``host:namespace:pid:tag``: the host name, the process-id namespace it runs in (a container has its
own), its process id, and a random tag. A worker that starts hands back at once the messages leased to a worker of
the same host and namespace whose process is gone (``Transport.release_abandoned``), as ``inv run-local`` or a
supervisor restarting a killed worker would want, instead of leaving them to their leases (30 s). Anything less
certain (another host, another namespace, a process id in use again, an id of another shape) is left to the lease.
"""

from __future__ import annotations

import os
import socket
import uuid


def _namespace() -> str:
    try:
        # "pid:[4026531836]": the same number for every process of one namespace.
        return os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]") or "0"
    except OSError:  # no /proc (not Linux): one namespace per host
        return "0"


def worker_identity() -> str:
    return f"{socket.gethostname()}:{_namespace()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def worker_host_prefix() -> str:
    """What the ids of the workers of this host and namespace begin with."""
    return f"{socket.gethostname()}:{_namespace()}:"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        pass
    return True


def worker_died_here(worker_id: str) -> bool:
    """Whether ``worker_id`` names a worker of this host and namespace whose process has ended."""
    prefix = worker_host_prefix()
    if not worker_id.startswith(prefix):
        return False
    pid, _, tag = worker_id[len(prefix) :].partition(":")
    if not (pid.isdigit() and tag) or int(pid) == os.getpid():
        return False
    return not _running(int(pid))
