"""The data of a Table 6 run: ``path label`` lists, a class-folder split, the
generated demo set (made on demand, with or without scene-action
correlation) and the per-video scene of its manifest."""
import json
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .paths import rel

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.mpg', '.mpeg',
              '.m4v')


def read_list(path: str) -> List[Tuple[str, int]]:
    """``path label`` lines (label -1 when missing)."""
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            parts = line.strip().rsplit(maxsplit=1)
            if not parts:
                continue
            if len(parts) == 2 and re.fullmatch(r'-?\d+', parts[1]):
                out.append((parts[0], int(parts[1])))
            else:
                out.append((line.strip(), -1))
    return out


def lists_from_folder(folder: str, out_dir: str, query_ratio: float,
                      seed: int = 0) -> Dict[str, Any]:
    """Write train/query lists for ``folder/<class>/<video>`` (labels =
    sorted class folder order; class-stratified split, see
    :func:`mmiivcl.datasets.synthetic.stratified_query_split`)."""
    from mmiivcl.datasets.synthetic import stratified_query_split
    classes = sorted(d for d in os.listdir(folder)
                     if osp.isdir(osp.join(folder, d)))
    items = []
    for label, c in enumerate(classes):
        for root, _, files in os.walk(osp.join(folder, c)):
            for f in sorted(files):
                if f.lower().endswith(VIDEO_EXTS):
                    items.append((osp.relpath(osp.join(root, f), folder),
                                  label))
    if len(classes) < 2 or not items:
        raise SystemExit(f'--video-folder {folder}: need >= 2 class '
                         f'sub-folders with videos ({VIDEO_EXTS})')
    labels = [lab for _, lab in items]
    is_q = stratified_query_split(labels, query_ratio, seed)
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, sel in (('train_list', ~is_q), ('query_list', is_q)):
        paths[name] = osp.join(out_dir, f'{name}.txt')
        with open(paths[name], 'w', encoding='utf-8') as f:
            for (p, lab), s in zip(items, sel):
                if s:
                    f.write(f'{p} {lab}\n')
    paths['classes'] = osp.join(out_dir, 'classes.txt')
    with open(paths['classes'], 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    return paths


def scenes_phrase(looks: int) -> str:
    """What the generator's ``looks`` parameter means, in words."""
    if not looks:
        return 'every video has a scene of its own'
    if looks == 1:
        return 'every video is filmed in the same scene'
    return (f'scenes come from a pool of {looks} looks shared by every '
            'class, the camera is each video\'s own')


def manifest_fields(meta_file: str, lists: Dict[str, List[Tuple[str, int]]],
                    key: str = 'looks') -> Dict[str, np.ndarray]:
    """Per list name, the integer ``key`` of every listed video in the
    generator's manifest (read once; a one-element list is unwrapped; -1
    where absent or not one integer)."""
    from mmiivcl.datasets.unlabeled_video_dataset import meta_int
    with open(meta_file, encoding='utf-8') as f:
        values = {v['path']: meta_int(v.get(key))
                  for v in json.load(f)['videos']}
    return {name: np.array([values.get(p, -1) for p, _ in items])
            for name, items in lists.items()}


def generated_set(root: str, demo_data: Optional[dict],
                  look_bias: float = 0.0, make: bool = True
                  ) -> Dict[str, Any]:
    """The generated motion-class set under ``root``, made when ``make``
    (a no-op when up to date) with the config's generator parameters
    ``demo_data``; ``look_bias > 0``: as many looks as classes, class c owns
    look c with that probability (``generate_demo_dataset``)."""
    from mmiivcl.datasets.synthetic import generate_demo_dataset
    gen = dict(demo_data or {})
    if look_bias:
        gen.update(looks=10, look_bias=look_bias)
    if make:
        generate_demo_dataset(root, **gen)
    with open(osp.join(root, 'manifest.json'), encoding='utf-8') as f:
        man = json.load(f)
    par = man.get('params', man)
    size = par.get('size', '?')
    return dict(train_list=osp.join(root, 'train_list.txt'),
                query_list=osp.join(root, 'query_list.txt'),
                meta_file=osp.join(root, 'manifest.json'),
                look_bias=float(par.get('look_bias', 0.0)),
                video_root=osp.join(root, 'videos'),
                classes=osp.join(root, 'classes.txt'),
                source='the generated motion-class set '
                f'({rel(root)}: {par.get("num_frames", "?")} frames of '
                f'{size}x{size} px per video; classes differ only in motion; '
                f'{scenes_phrase(par.get("looks", 0))}; '
                'mmiivcl/datasets/synthetic.py)')


def load_lists(d: Dict[str, Any]) -> Dict[str, Any]:
    """Read ``d``'s train/query lists into ``d``: the items, labels, class
    count and, with a manifest (``meta_file``), every video's scene
    (``train_looks`` / ``query_looks``). Exits with a message when a list is
    missing or a video has no label."""
    for k in ('train_list', 'query_list'):
        if not osp.isfile(d[k]):
            raise SystemExit(f'{k} not found: {d[k]}')
    d['train'] = read_list(d['train_list'])
    d['query'] = read_list(d['query_list'])
    tl = np.array([lab for _, lab in d['train']])
    ql = np.array([lab for _, lab in d['query']])
    if (tl < 0).any() or (ql < 0).any():
        raise SystemExit('every train/query video needs a label (">= 0") for '
                         'the retrieval and the linear probe')
    d['num_classes'] = int(len(np.unique(np.concatenate([tl, ql]))))
    d['train_labels'], d['query_labels'] = tl, ql
    if d.get('meta_file'):
        looks = manifest_fields(d['meta_file'], {r: d[r] for r in
                                                 ('train', 'query')})
        d['train_looks'], d['query_looks'] = looks['train'], looks['query']
    return d
