"""Paths of the repository the experiments run in."""
import os
import os.path as osp

#: the repository root (the folder holding ``mmiivcl/`` and ``tools/``)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def rel(path: str) -> str:
    """``path`` relative to the repository when it lies inside, else as
    given (absolute)."""
    p = osp.abspath(path)
    return osp.relpath(p, REPO_ROOT) if p.startswith(REPO_ROOT + os.sep) \
        else p
