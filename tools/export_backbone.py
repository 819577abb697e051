#!/usr/bin/env python
"""Export the online backbone of a pretraining checkpoint (IIVCL or VCLR).

    python tools/export_backbone.py work_dirs/iivcl_r3d50_k400/epoch_200.pth \
        iivcl_r3d50_k400_backbone.pth

The output is a small mmengine-style checkpoint
``{'meta': {...}, 'state_dict': {'backbone.<name>': tensor, ...}}`` holding
only the online encoder (no momentum encoder, heads, queues or optimizer
state), loadable with ``torch.load(..., weights_only=True)`` and by every
downstream config (``--cfg-options model.init_cfg.checkpoint=OUT``).
``meta`` keeps the source's ``epoch``, ``iter``, ``cfg`` (config text),
``experiment_name`` and adds ``meta['mmiivcl_export']`` = {algorithm,
source_checkpoint, source_prefix, num_tensors, num_params, time}.
``--momentum`` exports the momentum (key) encoder instead.
"""
import argparse
import ast
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from typing import Mapping, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import torch  # noqa: E402

import mmiivcl  # noqa: E402,F401  (torch.load allowlist)
from mmiivcl.models.pretrained import (EXPORT_META_KEY,  # noqa: E402
                                       checkpoint_kind,
                                       extract_backbone_state,
                                       model_state_of, read_checkpoint)

#: checkpoint key patterns -> algorithm, when the config text says nothing
_KEY_HINTS = (('head_nn.', 'IIVCL'), ('head_intra.', 'IIVCL'),
              ('head_order.', 'VCLR'), ('head_video.', 'VCLR'),
              ('head_inter.', 'VCLR'))


def algorithm_from_config_text(text: str) -> Optional[str]:
    """``model.type`` of a config's text, read with ``ast`` (never executed:
    a checkpoint is untrusted input)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, TypeError):
        return None
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(
                node.value, ast.Call):
            continue
        if not any(isinstance(t, ast.Name) and t.id == 'model'
                   for t in node.targets):
            continue
        for kw in node.value.keywords:
            if kw.arg == 'type' and isinstance(kw.value, ast.Constant):
                return str(kw.value.value)
    return None


def detect_algorithm(ckpt: Mapping) -> str:
    """IIVCL / VCLR / ... from the checkpoint's config text, else its keys."""
    meta = ckpt.get('meta', None)
    if isinstance(meta, Mapping):
        exp = meta.get(EXPORT_META_KEY, None)
        if isinstance(exp, Mapping) and exp.get('algorithm'):
            return str(exp['algorithm'])
        if isinstance(meta.get('cfg', None), str):
            algo = algorithm_from_config_text(meta['cfg'])
            if algo:
                return algo
    keys = [k for k in model_state_of(ckpt) if isinstance(k, str)]
    for hint, algo in _KEY_HINTS:
        if any(k.startswith(hint) for k in keys):
            return algo
    return 'unknown'


def export_backbone(src: str, dst: str, momentum: bool = False) -> dict:
    """Write the backbone of ``src`` to ``dst``; return the export meta."""
    ckpt = read_checkpoint(src)
    prefix = 'momentum_encoder.backbone.' if momentum else 'backbone.'
    state = extract_backbone_state(ckpt, prefix)
    kind = checkpoint_kind(ckpt)
    if kind in ('recognizer', 'detector'):
        print(f'note: {src} looks like a finetuned {kind} checkpoint; '
              'exporting its backbone anyway', file=sys.stderr)
    src_meta = ckpt.get('meta', None)
    src_meta = src_meta if isinstance(src_meta, Mapping) else {}
    export = dict(
        algorithm=detect_algorithm(ckpt),
        source_checkpoint=osp.abspath(src),
        source_prefix=prefix,
        source_kind=kind,
        num_tensors=len(state),
        num_params=int(sum(v.numel() for k, v in state.items()
                           if v.is_floating_point()
                           and not k.endswith(('running_mean',
                                               'running_var')))),
        mmiivcl_version=mmiivcl.__version__,
        time=time.strftime('%Y%m%d_%H%M%S', time.localtime()))
    meta = {EXPORT_META_KEY: export}
    for key in ('epoch', 'iter', 'cfg', 'experiment_name', 'seed',
                'mmengine_version'):
        value = src_meta.get(key, None)
        if isinstance(value, (str, int, float)) and not isinstance(
                value, bool):
            meta[key] = value
    out = {
        'meta': meta,
        'state_dict': OrderedDict(
            ('backbone.' + k, v.detach().cpu().clone())
            for k, v in state.items())
    }
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(out, dst)
    return meta


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description='Keep only the online backbone (backbone.*) of an IIVCL '
        '/ VCLR pretraining checkpoint.')
    parser.add_argument('checkpoint', help='pretraining checkpoint (.pth)')
    parser.add_argument('out', help='output file (.pth)')
    parser.add_argument('--momentum', action='store_true',
                        help='export the momentum (key) encoder '
                        '(momentum_encoder.backbone.*) instead')
    args = parser.parse_args(argv)
    if osp.abspath(args.checkpoint) == osp.abspath(args.out):
        parser.error('the output must not overwrite the input checkpoint')
    meta = export_backbone(args.checkpoint, args.out, momentum=args.momentum)
    exp = meta[EXPORT_META_KEY]
    size = osp.getsize(args.out) / 2**20
    print(f"exported {exp['num_tensors']} backbone tensors "
          f"({exp['num_params'] / 1e6:.2f}M parameters) of a "
          f"{exp['algorithm']} {exp['source_kind']} checkpoint "
          f"(epoch {meta.get('epoch', '?')}, iter {meta.get('iter', '?')}) "
          f'to {args.out} ({size:.1f} MiB)')


if __name__ == '__main__':
    main()
