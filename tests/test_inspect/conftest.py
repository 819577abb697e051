"""Fixtures of the inspection tests: tiny solid-colour videos (generated in a
tmp dir, a known colour per video so a drawn tile can be traced back to its
video) and a tiny R3D-18 model / pipeline."""
import copy
import os
import os.path as osp

import cv2
import numpy as np
import pytest

#: one RGB colour per video, far apart
COLORS = [(220, 30, 30), (30, 200, 40), (40, 60, 220), (230, 220, 40),
          (200, 40, 210), (40, 210, 220), (250, 250, 250), (10, 10, 10),
          (240, 140, 20), (120, 60, 20)]
LABELS = [0, 0, 1, 1, 2, 2, 0, 1, 2, 0]

TINY_BACKBONE = dict(type='ResNet3d', depth=18, pretrained=None,
                     pretrained2d=False, base_channels=8,
                     conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                     pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)
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
    for i, c in enumerate(COLORS):
        name = f'v{i:02d}.mp4'
        _write_video(osp.join(vdir, name), c, seed=i)
        rel.append(name)

    def write(name, idx):
        p = osp.join(root, name)
        with open(p, 'w') as f:
            f.writelines(f'{rel[i]} {LABELS[i]}\n' for i in idx)
        return p

    n = len(COLORS)
    classes = osp.join(root, 'classes.txt')
    with open(classes, 'w') as f:
        f.write('red_ish\ngreen_ish\nblue_ish\n')
    return dict(root=root, videos=vdir,
                all_list=write('all_list.txt', range(n)),
                train_list=write('train_list.txt', range(7)),
                query_list=write('query_list.txt', range(7, n)),
                classes=classes, colors=COLORS, labels=LABELS,
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
