"""GPU kit, section 2: the carried stack imports and runs on this machine.

Records versions (torch, CUDA, numpy, opencv, mmengine, mmcv, mmaction2,
decord), whether mmcv is the lite build (no compiled ops), and runs on numpy
as installed: the shipped pretraining pipeline on one carried Kinetics clip
(DecordInit, SampleClipPair, DecordDecodeClips, ClipAugment, FormatShape,
PackActionInputs), mmaction2's own ``ColorJitter`` (reported, not required:
the pretraining pipeline does not use it), and builds the R3D-50 IIVCL
model of ``configs/iivcl/r3d50_k400.py``. Exit status 1 when a required
part fails; every result is in the JSON.
"""
import argparse
import importlib
import json
import os
import os.path as osp
import sys
import traceback

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)


def attempt(out: dict, name: str, fn, required: bool = True) -> None:
    try:
        out[name] = dict(ok=True, result=fn())
    except Exception as e:  # noqa: BLE001  (recorded, then reported)
        out[name] = dict(ok=False, required=required,
                         error=f'{type(e).__name__}: {e}'[:500],
                         trace=traceback.format_exc()[-1500:])
    print(f'{name:22s} {"ok" if out[name]["ok"] else "FAILED"}: '
          f'{out[name].get("result", out[name].get("error"))}', flush=True)


def versions() -> dict:
    v = {}
    for m in ('torch', 'numpy', 'cv2', 'mmengine', 'mmcv', 'mmaction',
              'decord', 'matplotlib', 'mmiivcl'):
        v[m] = getattr(importlib.import_module(m), '__version__', '?')
    import torch
    v['cuda'] = torch.version.cuda
    v['cuda_available'] = torch.cuda.is_available()
    v['device'] = (torch.cuda.get_device_name() if torch.cuda.is_available()
                   else 'cpu')
    return v


def mmcv_lite() -> bool:
    import importlib.util
    return importlib.util.find_spec('mmcv._ext') is None


def pipeline(clips: str) -> dict:
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    import numpy as np
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets',
                                   'k400_unlabeled.py'))
    files = sorted(os.listdir(clips))
    if not files:
        raise FileNotFoundError(f'no clips in {clips} (run '
                                'benchmarks/gpu_kit/prepare_wheels.sh)')
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        pipe = Compose(cfg.train_pipeline)
        out = pipe(dict(filename=osp.join(clips, files[0]), label=-1,
                        sample_idx=0, start_index=0, modality='RGB'))
    x = out['inputs']
    return dict(shape=list(x.shape), dtype=str(x.dtype))


def mmaction_color_jitter() -> str:
    import numpy as np
    from mmaction.registry import TRANSFORMS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        t = TRANSFORMS.build(dict(type='ColorJitter'))
    imgs = [np.full((8, 8, 3), 100, np.uint8) for _ in range(2)]
    t(dict(imgs=imgs, modality='RGB'))
    return 'runs'


def build_model() -> str:
    import mmiivcl  # noqa: F401
    from mmaction.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'iivcl',
                                   'r3d50_k400.py'))
    m = MODELS.build(cfg.model)
    n = sum(p.numel() for p in m.parameters())
    return f'{type(m).__name__}, {n / 1e6:.1f} M params'


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--clips', required=True)
    p.add_argument('--json', required=True)
    args = p.parse_args()
    out = {}
    attempt(out, 'versions', versions)
    attempt(out, 'mmcv_lite', mmcv_lite)
    attempt(out, 'import mmiivcl', lambda: bool(importlib.import_module(
        'mmiivcl')))
    attempt(out, 'pretrain pipeline', lambda: pipeline(args.clips))
    attempt(out, 'mmaction ColorJitter', mmaction_color_jitter,
            required=False)
    attempt(out, 'build R3D-50 IIVCL', build_model)
    with open(args.json, 'w') as f:
        json.dump(out, f, indent=1)
    return int(any(not r['ok'] and r.get('required') for r in out.values()))


if __name__ == '__main__':
    sys.exit(main())
