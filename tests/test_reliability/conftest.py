"""Fixtures of the reliability tests (docs/troubleshooting.md).

* ``bad_videos``: every kind of unusable file, from ``../shared/data`` where it
  exists (corrupted, 3- and 4-frame videos) and generated here where it does
  not (0 bytes, an animated GIF written byte by byte, an "AV1" mp4 whose codec
  decord has no decoder for, a missing path, a valid video that the
  ``hanging_reader`` fixture makes hang).
* ``good_videos``: real clips (Kinetics / UCF101 / an edge case that is short
  but above ``min_frames`` and so is looped, not skipped).
* ``tiny_data``: a tiny generated motion data set (``generate_demo_dataset``).
* ``tiny_model``: a tiny IIVCL config.
"""
import copy
import os
import os.path as osp
import struct
import time

import cv2
import numpy as np
import pytest

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


@pytest.fixture(scope='session')
def rel():
    """The helper functions above (test modules cannot import conftest
    under --import-mode=importlib)."""
    import types
    return types.SimpleNamespace(
        tiny_model=tiny_model, write_list=write_list, runner_cfg=runner_cfg,
        write_mp4v=write_mp4v, tiny_gif_bytes=tiny_gif_bytes,
        skip_pipeline=copy.deepcopy(SKIP_PIPELINE),
        tiny_backbone=copy.deepcopy(TINY_BACKBONE))
