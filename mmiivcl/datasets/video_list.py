"""The videos a list file or a folder names, as the tools read them
(``tools/check_videos.py``, ``tools/data/prepare_videos.py``)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from .unlabeled_video_dataset import VIDEO_EXTENSIONS


def read_entries(source: str, root: str = '',
                 extensions=VIDEO_EXTENSIONS,
                 unchecked: Optional[Dict[str, List[str]]] = None
                 ) -> List[Tuple[str, str]]:
    """``(full path, original line)`` for a list file or a folder scan.

    A folder scan adds every file it leaves out to ``unchecked``
    (extension -> relative paths; hidden files under ``'(hidden)'``).
    """
    if osp.isdir(source):
        exts = tuple(e.lower() for e in extensions)
        out = []
        for dirpath, dirnames, files in os.walk(source, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for f in sorted(files):
                full = osp.join(dirpath, f)
                rel = osp.relpath(full, source)
                ext = osp.splitext(f)[1].lower()
                if not f.startswith('.') and ext in exts:
                    out.append((full, rel))
                elif unchecked is not None:
                    key = '(hidden)' if f.startswith('.') else (
                        ext or '(no extension)')
                    unchecked.setdefault(key, []).append(rel)
        return sorted(out, key=lambda e: e[1])  # as UnlabeledVideoDataset
    if not osp.isfile(source):
        raise FileNotFoundError(f'{source}: neither a list file nor a folder')
    out = []
    with open(source, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            text = line.strip()
            if not text or text.startswith('#'):
                continue
            parts = text.split()
            if len(parts) > 1:
                try:
                    int(parts[-1])
                    parts = parts[:-1]
                except ValueError:
                    pass
            path = ' '.join(parts)
            out.append((osp.join(root, path) if root else path, text))
    return out
