"""Fixtures for the transfer tests: tiny list files of real clips, small
backbone checkpoints, and a function that shrinks a downstream config to one
CPU training iteration and one test iteration."""
import copy
import os
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# real clips of ../shared/data/videos (label = index in the tiny list)
TRAIN_CLIPS = ['kinetics/arm_wrestling_demo.mp4', 'kinetics/tai_chi.mp4']
TEST_CLIPS = ['kinetics/skateboarding.mp4']

SLOWONLY_R50 = dict(
    type='ResNet3dSlowOnly', depth=50, pretrained=None, pretrained2d=False,
    lateral=False, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
    pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)
RESNET_R50 = dict(type='ResNet', depth=50, pretrained=None, norm_eval=False)


def randomize_buffers(module: torch.nn.Module, seed: int = 0) -> None:
    """Give BN running stats non-default values (so loading them shows)."""
    g = torch.Generator().manual_seed(seed)
    for name, buf in module.named_buffers():
        if name.endswith('running_mean'):
            buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
        elif name.endswith('running_var'):
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)


@pytest.fixture(scope='session')
def video_lists(shared_data, tmp_path_factory):
    """Train / test list files (``path label``) over ../shared/data/videos."""
    root = osp.join(shared_data, 'videos')
    d = tmp_path_factory.mktemp('lists')
    out = dict(root=root)
    for split, clips in (('train', TRAIN_CLIPS), ('test', TEST_CLIPS)):
        path = d / f'{split}.txt'
        lines = []
        for i, clip in enumerate(clips):
            assert osp.isfile(osp.join(root, clip)), clip
            label = i if split == 'train' else 1
            lines.append(f'{clip} {label}\n')
        path.write_text(''.join(lines))
        out[split] = str(path)
    return out


@pytest.fixture(scope='session')
def backbone_ckpt(tmp_path_factory):
    """Factory: backbone cfg -> (path of a backbone.* checkpoint, state)."""
    from mmaction.registry import MODELS
    cache = {}
    d = tmp_path_factory.mktemp('ckpts')

    def make(cfg: dict):
        key = repr(sorted(cfg.items()))
        if key not in cache:
            torch.manual_seed(len(cache) + 1)
            bb = MODELS.build(copy.deepcopy(cfg))
            bb.init_weights()
            with torch.no_grad():
                randomize_buffers(bb, len(cache))
            state = {k: v.clone() for k, v in bb.state_dict().items()}
            path = str(d / f'backbone_{len(cache)}.pth')
            torch.save({'meta': {'epoch': 1},
                        'state_dict': {'backbone.' + k: v
                                       for k, v in state.items()}}, path)
            cache[key] = (path, state)
        return cache[key]

    return make


def _shrink_pipeline(pipeline, size: int, test_clips: int):
    out = []
    for t in pipeline:
        t = copy.deepcopy(dict(t))
        kind = t['type']
        if kind == 'ClipAugment':
            t.update(scale=(size, size + 16), crop_size=size)
        elif kind == 'RandomRescale':
            t['scale_range'] = (size, size + 16)
        elif kind == 'RandomCrop':
            t['size'] = size
        elif kind == 'Resize':
            scale = tuple(t['scale'])
            t['scale'] = (-1, size) if scale[0] == -1 else (size, size)
        elif kind in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            t['crop_size'] = size
        elif kind == 'MultiScaleCrop':
            t['input_size'] = size
        elif kind in ('SampleFrames', 'OrderedSampleFrames') and t.get(
                'test_mode') and t.get(
                'clip_len', 1) > 1:
            t['num_clips'] = min(t['num_clips'], test_clips)
        out.append(t)
    return out


def shrink_config(cfg, lists: dict, work_dir: str, checkpoint=None,
                  size: int = 64, batch_size: int = 2, max_epochs: int = 1,
                  test_clips: int = 1):
    """One CPU epoch (= one iteration with 2 videos, batch 2) on the tiny
    lists, no validation, no checkpoint files, small crops."""
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    for name, ann, bs in (('train_dataloader', lists['train'], batch_size),
                          ('test_dataloader', lists['test'], 1)):
        dl = cfg[name]
        dl.batch_size = bs
        dl.num_workers = 0
        dl.persistent_workers = False
        dl.dataset.ann_file = ann
        dl.dataset.data_prefix = dict(video=lists['root'])
        dl.dataset.pipeline = _shrink_pipeline(dl.dataset.pipeline, size,
                                               test_clips)
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                         val_interval=10**6)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6,
                                        save_last=False, save_best=None)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer = dict(type='ActionVisualizer', vis_backends=[])
    cfg.model.init_cfg.checkpoint = checkpoint
    return cfg


@pytest.fixture(scope='session')
def shrink():
    return shrink_config


@pytest.fixture(scope='session')
def tool(tool_module):
    return tool_module


os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture(scope='session')
def helpers(tool_module):
    """Constants and helpers of this conftest, for the test modules
    (pytest's importlib mode does not let them import conftest)."""
    import types
    return types.SimpleNamespace(SLOWONLY_R50=SLOWONLY_R50,
                                 RESNET_R50=RESNET_R50,
                                 randomize_buffers=randomize_buffers,
                                 load_tool=tool_module)
