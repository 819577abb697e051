"""Shared fixtures.

Tests that read ``../shared/data`` use the ``shared_data`` fixture: it skips with
a reason when the folder is absent (a user's clone), unless
``MMIIVCL_REQUIRE_SHARED=1`` (set by .ci/run), which turns the skip into a
failure.

Helpers and fixtures of many folders live here, so that a test can sit in the
folder of the package it tests (tests mirror ``mmiivcl/``):

* bad and good videos (``bad_videos``: every kind of unusable file, from
  ``../shared/data`` where it exists and generated here where it does not;
  ``good_videos``: real clips; ``hanging_reader`` makes a valid video hang),
  ``tiny_data`` (a tiny generated motion set) and ``rel`` (the helper
  functions: a tiny IIVCL config, list writing, a Runner config, the plain
  colour-jitter reference of the augmentation tests);
* inspection fixtures: ``solid_videos`` (tiny solid-colour videos, a known
  colour per video so a drawn tile can be traced back to its video), tiny
  IIVCL / feature-extractor configs and pipelines, and ``recording_model``
  (a stand-in for IIVCL's NN-recording interface).
"""
import colorsys
import copy
import importlib.util
import os
import os.path as osp
import struct
import time

import cv2
import numpy as np
import pytest

import mmiivcl  # noqa: F401  (compat patches + registration)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = os.environ.get('MMIIVCL_SHARED_DATA',
                             osp.join(REPO, '..', 'shared', 'data'))


def _require_shared() -> str:
    if osp.isdir(SHARED_DATA):
        return osp.abspath(SHARED_DATA)
    msg = f'../shared/data not found at {SHARED_DATA}'
    if os.environ.get('MMIIVCL_REQUIRE_SHARED') == '1':
        pytest.fail(msg + ' (MMIIVCL_REQUIRE_SHARED=1)')
    pytest.skip(msg)


@pytest.fixture(scope='session')
def shared_data() -> str:
    """Absolute path of ../shared/data (skip or fail when absent)."""
    return _require_shared()


@pytest.fixture(scope='session')
def kinetics_clips(shared_data) -> list:
    d = osp.join(shared_data, 'videos', 'kinetics')
    return sorted(osp.join(d, f) for f in os.listdir(d))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


def load_tool(name: str):
    """Import tools/<name>.py as a module (tools are scripts, not package
    modules; pytest's importlib mode does not let tests import conftest, so
    test modules get this through the ``tool_module`` fixture)."""
    path = osp.join(REPO, 'tools', name + '.py')
    spec = importlib.util.spec_from_file_location('mmiivcl_tool_' + name,
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tool_module():
    """``tool_module('run_demo')`` -> tools/run_demo.py as a module."""
    return load_tool


# ----------------------------------------------------------------------
# videos, tiny models and Runner configs (reliability, engine, dist tests)
TINY_BACKBONE = dict(type='ResNet3d', depth=18, pretrained=None,
                     pretrained2d=False, base_channels=8,
                     conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                     pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)


def tiny_model(**kw) -> dict:
    """A tiny IIVCL (R3D-18 with 8 base channels: 64-d output)."""
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layers=3)
    cfg = dict(type='IIVCL', backbone=copy.deepcopy(TINY_BACKBONE),
               head_intra=head, head_nn=copy.deepcopy(head), feat_dim=16,
               queue_len=24, temperature=0.1, exclude_same_video=True,
               data_preprocessor=dict(
                   type='ActionDataPreprocessor',
                   mean=[123.675, 116.28, 103.53],
                   std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
    cfg.update(kw)
    return cfg


# corrupted.mp4 decodes frames 0-27 and fails from 28: with a stride of 30
# the second frame of every clip is in the broken part, so it always fails
SKIP_PIPELINE = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=2, frame_interval=30, num_clips=2),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]


def tiny_gif_bytes(num_frames: int = 3) -> bytes:
    """An animated 1x1 GIF89a written byte by byte (OpenCV < 4.11 writes no
    GIF): header, 2-colour table, loop extension, then per frame a graphic
    control extension, an image descriptor and the LZW data of one pixel."""
    out = b'GIF89a' + struct.pack('<HH', 1, 1) + b'\x80\x00\x00'
    out += b'\x00\x00\x00\xff\xff\xff'
    out += b'!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
    for _ in range(num_frames):
        out += b'!\xf9\x04\x00\x0a\x00\x00\x00'
        out += b',' + struct.pack('<HHHH', 0, 0, 1, 1) + b'\x00'
        out += b'\x02\x02\x44\x01\x00'
    return out + b';'


def write_mp4v(path: str, frames: int = 40, size: int = 32,
               seed: int = 0) -> str:
    rng = np.random.RandomState(seed)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 12,
                             (size, size))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(rng.randint(0, 255, (size, size, 3), np.uint8))
    writer.release()
    return path


def write_av1_like(path: str, tmp_dir: str) -> str:
    """An mp4 whose video track is declared AV1 ('av01' sample entry, the
    MPEG-4 'esds' descriptor blanked to a same-size 'free' box): decord's
    FFmpeg has no AV1 decoder, so it finds no decodable video stream -- what a
    user with AV1 downloads sees."""
    src = write_mp4v(osp.join(tmp_dir, '_src_for_av1.mp4'))
    data = open(src, 'rb').read()
    assert data.count(b'mp4v') == 1 and data.count(b'esds') == 1
    with open(path, 'wb') as f:
        f.write(data.replace(b'mp4v', b'av01').replace(b'esds', b'free'))
    return path


@pytest.fixture(scope='session')
def edge_dir(shared_data) -> str:
    return osp.join(shared_data, 'videos', 'edge_cases')


@pytest.fixture(scope='session')
def bad_videos(tmp_path_factory, edge_dir) -> dict:
    """name -> (path, reason code of UnlabeledVideoDataset.bad_mask)."""
    d = str(tmp_path_factory.mktemp('bad_videos'))
    empty = osp.join(d, 'empty.mp4')
    open(empty, 'wb').close()
    gif = osp.join(d, 'anim.gif')
    with open(gif, 'wb') as f:
        f.write(tiny_gif_bytes())
    av1 = write_av1_like(osp.join(d, 'av1_codec.mp4'), d)
    hang = write_mp4v(osp.join(d, 'hang_reader.mp4'), frames=60)
    return dict(
        corrupted=(osp.join(edge_dir, 'corrupted.mp4'), 4),
        empty=(empty, 2),
        missing=(osp.join(d, 'no_such_video.mp4'), 1),
        gif=(gif, 4),
        av1=(av1, 4),
        three_frames=(osp.join(edge_dir, 'video_90.mov'), 3),
        four_frames=(osp.join(edge_dir, 'unordered.mov'), 3),
        hang=(hang, 5),
    )


@pytest.fixture(scope='session')
def good_videos(shared_data) -> list:
    v = osp.join(shared_data, 'videos')
    return [osp.join(v, p) for p in (
        'kinetics/tai_chi.mp4', 'kinetics/abseiling.mp4',
        'kinetics/skateboarding.mp4', 'kinetics/flipping_pancake.mkv',
        'ucf101/v_Basketball_g01_c01.avi', 'misc/tree.avi',
        'edge_cases/realshort.mp4',  # 36 frames: looped, not skipped
        'edge_cases/carphone_distorted.mp4')]


@pytest.fixture
def hanging_reader(monkeypatch):
    """Make mmaction2's DecordInit hang (sleep, like decord#373's endless
    loop) on files whose name contains 'hang'. Forked DataLoader workers and
    their decode helpers inherit the patch."""
    from mmaction.datasets.transforms.loading import DecordInit
    original = DecordInit._get_video_reader

    def hanging(self, filename):
        if 'hang' in osp.basename(filename):
            time.sleep(3600)
        return original(self, filename)

    monkeypatch.setattr(DecordInit, '_get_video_reader', hanging)
    return hanging


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory) -> str:
    """12 generated 16-frame 32x32 videos, 2 motion classes, all in
    train_list.txt (no query split)."""
    from mmiivcl.datasets.synthetic import generate_demo_dataset
    out = str(tmp_path_factory.mktemp('tiny_data'))
    generate_demo_dataset(out, num_per_class=6,
                          classes=['move_right', 'move_left'], num_frames=16,
                          size=32, query_ratio=0.0, workers=1, verbose=False)
    return out


def write_list(path: str, files) -> str:
    with open(path, 'w') as f:
        f.writelines(p + '\n' for p in files)
    return path


def runner_cfg(work_dir: str, name: str, ann_file: str, pipeline,
               data_root: str = '', **kw) -> dict:
    """Runner kwargs for a tiny in-process pretraining run."""
    cfg = dict(
        model=tiny_model(),
        work_dir=work_dir,
        experiment_name=name,
        train_dataloader=dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='UnlabeledVideoDataset', ann_file=ann_file,
                         data_prefix=dict(video=data_root),
                         pipeline=pipeline),
            drop_last=True),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01,
                                          momentum=0.9)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=100)),
        custom_hooks=[dict(type='MomentumUpdateHook', base_momentum=0.99)],
        randomness=dict(seed=0),
        default_scope='mmaction',
        log_level='WARNING',
    )
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


@pytest.fixture
def clean_env():
    """Undo what a Runner sets process-wide (deterministic algorithms)."""
    import torch
    flag = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(flag)


def pytest_configure(config):  # noqa: D103
    os.environ.setdefault('OMP_NUM_THREADS', '1')


def ref_jitter(x: np.ndarray, p: dict) -> np.ndarray:
    """Plain per-pixel colour jitter (colorsys for hue), x float (T,H,W,3)."""
    luma = np.array([0.299, 0.587, 0.114])
    x = x.astype(np.float64)
    for op in p['order']:
        if op == 0:
            x = x * p['brightness']
        elif op == 1:
            m = (x @ luma).mean()  # mean luma of the whole clip
            x = x * p['contrast'] + m * (1 - p['contrast'])
        elif op == 2:
            g = (x @ luma)[..., None]
            x = x * p['saturation'] + g * (1 - p['saturation'])
        else:
            flat = x.reshape(-1, 3) / 255.0
            out = np.empty_like(flat)
            for i, (r, g, b) in enumerate(flat):
                hh, ss, vv = colorsys.rgb_to_hsv(r, g, b)
                out[i] = colorsys.hsv_to_rgb((hh + p['hue']) % 1.0, ss, vv)
            x = out.reshape(x.shape) * 255.0
        x = np.clip(x, 0, 255)
    return x


@pytest.fixture(scope='session')
def rel():
    """The helper functions above (test modules cannot import conftest
    under --import-mode=importlib)."""
    import types
    return types.SimpleNamespace(
        tiny_model=tiny_model, write_list=write_list, runner_cfg=runner_cfg,
        ref_jitter=ref_jitter,
        write_mp4v=write_mp4v, tiny_gif_bytes=tiny_gif_bytes,
        skip_pipeline=copy.deepcopy(SKIP_PIPELINE),
        tiny_backbone=copy.deepcopy(TINY_BACKBONE))


# ----------------------------------------------------------------------
# inspection: solid-colour videos, tiny extractor / IIVCL configs
#: one RGB colour per video, far apart
SOLID_COLORS = [(220, 30, 30), (30, 200, 40), (40, 60, 220), (230, 220, 40),
          (200, 40, 210), (40, 210, 220), (250, 250, 250), (10, 10, 10),
          (240, 140, 20), (120, 60, 20)]
SOLID_LABELS = [0, 0, 1, 1, 2, 2, 0, 1, 2, 0]

PREPROCESSOR = dict(type='ActionDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], format_shape='NCTHW')


def tiny_test_pipeline(clip_len=4, num_clips=2, size=32):
    return [
        dict(type='DecordInit', io_backend='disk'),
        dict(type='SampleFrames', clip_len=clip_len, frame_interval=2,
             num_clips=num_clips, test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(-1, size)),
        dict(type='CenterCrop', crop_size=size),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
    ]


def _write_video(path, color, frames=16, size=32, seed=0):
    """A video of one colour with a small square that moves (so the model
    sees motion); the middle frame is the colour almost everywhere."""
    rng = np.random.RandomState(seed)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (size, size))
    assert writer.isOpened()
    for t in range(frames):
        img = np.empty((size, size, 3), np.uint8)
        img[:] = color[::-1]  # BGR
        if t != frames // 2:
            x = (t * 2 + rng.randint(4)) % (size - 4)
            img[2:6, x:x + 4] = 128
        writer.write(img)
    writer.release()


@pytest.fixture(scope='session')
def solid_videos(tmp_path_factory):
    """10 labelled solid-colour videos: dict(root, videos, all_list,
    train_list, query_list, classes, colors, labels, paths)."""
    root = str(tmp_path_factory.mktemp('solid_videos'))
    vdir = osp.join(root, 'videos')
    os.makedirs(vdir)
    rel = []
    for i, c in enumerate(SOLID_COLORS):
        name = f'v{i:02d}.mp4'
        _write_video(osp.join(vdir, name), c, seed=i)
        rel.append(name)

    def write(name, idx):
        p = osp.join(root, name)
        with open(p, 'w') as f:
            f.writelines(f'{rel[i]} {SOLID_LABELS[i]}\n' for i in idx)
        return p

    n = len(SOLID_COLORS)
    classes = osp.join(root, 'classes.txt')
    with open(classes, 'w') as f:
        f.write('red_ish\ngreen_ish\nblue_ish\n')
    return dict(root=root, videos=vdir,
                all_list=write('all_list.txt', range(n)),
                train_list=write('train_list.txt', range(7)),
                query_list=write('query_list.txt', range(7, n)),
                classes=classes, colors=SOLID_COLORS, labels=SOLID_LABELS,
                paths=[osp.join(vdir, r) for r in rel])


@pytest.fixture
def tiny_iivcl_cfg():
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layers=3)
    return dict(type='IIVCL', backbone=copy.deepcopy(TINY_BACKBONE),
                head_intra=head, head_nn=copy.deepcopy(head), feat_dim=16,
                queue_len=8, temperature=0.1, exclude_same_video=True,
                data_preprocessor=copy.deepcopy(PREPROCESSOR))


@pytest.fixture
def tiny_extractor_cfg():
    return dict(type='VideoFeatureExtractor',
                backbone=copy.deepcopy(TINY_BACKBONE),
                data_preprocessor=copy.deepcopy(PREPROCESSOR))


@pytest.fixture
def make_pipeline():
    """``make_pipeline(clip_len=4, num_clips=2, size=32)`` -> test pipeline."""
    return tiny_test_pipeline


class RecordingModel:
    """A stand-in for IIVCL's NN-recording interface (``record_nn_picks`` /
    ``pop_nn_picks``) with a ``queue_nn``; a test plants ``picks`` where the
    model's step would record them."""

    def __init__(self, queue_len: int = 10, dim: int = 4) -> None:
        from mmiivcl.models.utils import FeatureQueue
        self.queue_nn = FeatureQueue(queue_len, dim)
        self.recording = False
        self.picks = None

    def record_nn_picks(self, enabled: bool) -> None:
        self.recording, self.picks = bool(enabled), None

    def pop_nn_picks(self):
        rec, self.picks = self.picks, None
        return rec


@pytest.fixture
def recording_model():
    """:class:`RecordingModel` (the class: call it for a fresh model)."""
    return RecordingModel
