"""The synthetic motion-class demo data: layout, decoding, determinism, and
that the classes really differ in motion (dense optical flow measured on the
decoded pixels, independent of the generator's own parameters)."""
import filecmp
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import decord
import numpy as np
import pytest

from mmiivcl.datasets.synthetic import (MOTION_CLASSES, generate_demo_dataset,
                          render_video)
from mmiivcl.datasets.synthetic import _video_seed

NUM_PER_CLASS = 3
NUM_FRAMES = 40
SIZE = 64


@pytest.fixture(scope='module')
def demo_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'data')
    generate_demo_dataset(out, num_per_class=NUM_PER_CLASS,
                          num_frames=NUM_FRAMES, size=SIZE, seed=0,
                          workers=1, verbose=False)
    return out


def _read_list(path):
    with open(path) as f:
        return [(p, int(lab)) for p, lab in (ln.split() for ln in f)]


def _decode(path):
    vr = decord.VideoReader(path)
    n = len(vr)
    frames = vr.get_batch(list(range(n))).asnumpy()
    del vr
    return n, frames


def test_layout_counts_and_split(demo_dir):
    classes = open(osp.join(demo_dir, 'classes.txt')).read().split()
    assert classes == list(MOTION_CLASSES) and len(classes) >= 8
    all_items = _read_list(osp.join(demo_dir, 'all_list.txt'))
    train = _read_list(osp.join(demo_dir, 'train_list.txt'))
    query = _read_list(osp.join(demo_dir, 'query_list.txt'))
    assert len(all_items) == len(classes) * NUM_PER_CLASS
    for label, cls in enumerate(classes):
        mine = [p for p, lab in all_items if lab == label]
        assert len(mine) == NUM_PER_CLASS
        assert all(p.startswith(cls + '/') for p in mine)
        # stratified: round(0.25 * 3) = 1 query per class
        assert sum(lab == label for _, lab in query) == 1
    assert sorted(train + query) == sorted(all_items)
    assert not set(train) & set(query)
    on_disk = sorted(
        osp.relpath(osp.join(d, f), osp.join(demo_dir, 'videos'))
        for d, _, fs in os.walk(osp.join(demo_dir, 'videos')) for f in fs)
    assert on_disk == sorted(p for p, _ in all_items)
    assert osp.isfile(osp.join(demo_dir, 'DONE'))


def test_decord_exact_frame_count_and_content(demo_dir):
    for rel, label in _read_list(osp.join(demo_dir, 'all_list.txt')):
        n, frames = _decode(osp.join(demo_dir, 'videos', rel))
        assert n == NUM_FRAMES, rel
        assert frames.shape == (NUM_FRAMES, SIZE, SIZE, 3)
    # round trip: the decoded frames are the rendered ones (lossy codec)
    cls = MOTION_CLASSES[4]
    rng = np.random.default_rng(_video_seed(0, cls, 1))
    ref, _ = render_video(cls, rng, NUM_FRAMES, SIZE, drift=0.5, looks=8,
                          look_seed=0)  # the generator's default pool
    _, frames = _decode(osp.join(demo_dir, 'videos', cls, f'{cls}_0001.mp4'))
    err = np.abs(frames.astype(float) - ref.astype(float)).mean(axis=(1, 2, 3))
    assert err.max() < 12, err
    # and frame t matches rendered frame t better than its neighbours
    d_next = np.abs(frames[1:-1].astype(float) - ref[2:]).mean()
    assert err[1:-1].mean() < d_next


def test_deterministic_bytes_and_worker_independent(demo_dir, tmp_path):
    out = str(tmp_path / 'again')
    generate_demo_dataset(out, num_per_class=NUM_PER_CLASS,
                          num_frames=NUM_FRAMES, size=SIZE, seed=0,
                          workers=2, verbose=False)
    for name in ('all_list.txt', 'train_list.txt', 'query_list.txt',
                 'classes.txt', 'manifest.json'):
        assert filecmp.cmp(osp.join(demo_dir, name), osp.join(out, name),
                           shallow=False), name
    for rel, _ in _read_list(osp.join(demo_dir, 'all_list.txt')):
        assert filecmp.cmp(osp.join(demo_dir, 'videos', rel),
                           osp.join(out, 'videos', rel), shallow=False), rel


def test_other_seed_differs(tmp_path):
    kw = dict(num_per_class=2, classes=['move_right', 'expand'],
              num_frames=16, verbose=False, workers=1)
    a = generate_demo_dataset(str(tmp_path / 'a'), seed=0, **kw)
    b = generate_demo_dataset(str(tmp_path / 'b'), seed=1, **kw)
    assert a['hash'] != b['hash']
    for rel in ('move_right/move_right_0000.mp4', 'expand/expand_0001.mp4'):
        assert not filecmp.cmp(str(tmp_path / 'a' / 'videos' / rel),
                               str(tmp_path / 'b' / 'videos' / rel),
                               shallow=False)


def test_idempotent_and_regenerates_on_new_params(tmp_path):
    out = str(tmp_path / 'd')
    kw = dict(num_per_class=2, classes=['move_up', 'shrink'], num_frames=16,
              verbose=False, workers=1)
    first = generate_demo_dataset(out, **kw)
    assert first['skipped'] is False
    video = osp.join(out, 'videos', 'move_up', 'move_up_0000.mp4')
    stamp = os.stat(video).st_mtime_ns
    assert generate_demo_dataset(out, **kw)['skipped'] is True
    assert os.stat(video).st_mtime_ns == stamp
    # other parameters: regenerated, stale files removed
    again = generate_demo_dataset(out, **dict(kw, num_per_class=1))
    assert again['skipped'] is False
    assert not osp.exists(osp.join(out, 'videos', 'move_up',
                                   'move_up_0001.mp4'))
    assert len(_read_list(osp.join(out, 'all_list.txt'))) == 2
    # a folder this generator did not write is not overwritten silently
    foreign = str(tmp_path / 'foreign')
    os.makedirs(osp.join(foreign, 'videos'))
    with pytest.raises(FileExistsError):
        generate_demo_dataset(foreign, **kw)


def test_cli(tmp_path, repo_root):
    out = str(tmp_path / 'cli')
    tool = osp.join(repo_root, 'tools', 'generate_demo_data.py')
    cmd = [sys.executable, tool, out, '--num-per-class', '2', '--classes',
           'move_left', 'circle_clockwise', '--num-frames', '12',
           '--workers', '1']
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert 'wrote 4 videos' in r.stdout
    assert _read_list(osp.join(out, 'all_list.txt'))[-1] == (
        'circle_clockwise/circle_clockwise_0001.mp4', 1)
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert 'skipping' in r.stdout


# ------------------------------------------------------------ motion check
def _motion_stats(frames):
    """Object motion from dense Farneback flow on decoded frames.

    Per frame pair: subtract the median flow (camera pan / jitter: the
    background covers most pixels), keep pixels whose residual flow exceeds
    0.5 px (the moving object), and record their mean residual flow, their
    flow-weighted centroid and the mean radial flow about that centroid.
    """
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    yy, xx = np.mgrid[0:gray[0].shape[0], 0:gray[0].shape[1]].astype(float)
    vel, pos, radial = [], [], []
    for a, b in zip(gray[:-1], gray[1:]):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 11, 3, 5, 1.1,
                                            0)
        res = flow - np.median(flow.reshape(-1, 2), axis=0)
        mag = np.linalg.norm(res, axis=2)
        m = mag > 0.5
        if m.sum() < 5:
            continue
        w = mag[m]
        c = np.array([(xx[m] * w).sum(), (yy[m] * w).sum()]) / w.sum()
        d = np.stack([xx[m] - c[0], yy[m] - c[1]], 1)
        radial.append(np.mean((d * res[m]).sum(1) /
                              (np.linalg.norm(d, axis=1) + 1e-6)))
        vel.append(res[m].mean(0))
        pos.append(c)
    vel, pos = np.array(vel), np.array(pos)
    centre = pos.mean(0)
    # angular momentum about the mean position; y points down, so > 0 is
    # clockwise on screen
    rel = pos - centre
    ang = rel[:, 0] * vel[:, 1] - rel[:, 1] * vel[:, 0]
    return dict(vx=vel[:, 0].mean(), vy=vel[:, 1].mean(),
                ax=np.abs(vel[:, 0]).mean(), ay=np.abs(vel[:, 1]).mean(),
                ang=np.median(ang), radial=np.median(radial))


def _consistent_with(cls, s):
    """The motion signature each class must show."""
    if cls == 'move_right':
        return s['vx'] > 0.1 and s['vx'] > abs(s['vy'])
    if cls == 'move_left':
        return -s['vx'] > 0.1 and -s['vx'] > abs(s['vy'])
    if cls == 'move_up':
        return -s['vy'] > 0.1 and -s['vy'] > abs(s['vx'])
    if cls == 'move_down':
        return s['vy'] > 0.1 and s['vy'] > abs(s['vx'])
    if cls == 'circle_clockwise':
        return s['ang'] > 1.0
    if cls == 'circle_anticlockwise':
        return s['ang'] < -1.0
    if cls == 'expand':
        return s['radial'] > 0.1
    if cls == 'shrink':
        return s['radial'] < -0.1
    if cls == 'shake_horizontal':  # back and forth along x, no net drift
        return s['ax'] > 1.5 * s['ay'] and abs(s['vx']) < 0.4 * s['ax']
    if cls == 'shake_vertical':
        return s['ay'] > 1.5 * s['ax'] and abs(s['vy']) < 0.4 * s['ay']
    raise KeyError(cls)


def test_classes_differ_in_motion(demo_dir):
    """Every video shows its class's motion signature, and the signatures
    of opposite classes (right/left, cw/ccw, expand/shrink, ...) exclude
    each other, so the labels are determined by motion."""
    for rel, label in _read_list(osp.join(demo_dir, 'all_list.txt')):
        _, frames = _decode(osp.join(demo_dir, 'videos', rel))
        stats = _motion_stats(frames)
        cls = MOTION_CLASSES[label]
        assert _consistent_with(cls, stats), (rel, stats)
        opposite = {
            'move_right': 'move_left', 'move_left': 'move_right',
            'move_up': 'move_down', 'move_down': 'move_up',
            'circle_clockwise': 'circle_anticlockwise',
            'circle_anticlockwise': 'circle_clockwise',
            'expand': 'shrink', 'shrink': 'expand',
            'shake_horizontal': 'shake_vertical',
            'shake_vertical': 'shake_horizontal'
        }[cls]
        assert not _consistent_with(opposite, stats), (rel, stats)


def test_appearance_does_not_identify_the_class(demo_dir):
    """Colour is random per video: the mean colours of two classes overlap
    as much as those within a class (no class-specific palette)."""
    means = {}
    for rel, label in _read_list(osp.join(demo_dir, 'all_list.txt')):
        _, frames = _decode(osp.join(demo_dir, 'videos', rel))
        means.setdefault(label, []).append(frames.reshape(-1, 3).mean(0))
    within = np.mean([np.linalg.norm(a - b) for v in means.values()
                      for i, a in enumerate(v) for b in v[i + 1:]])
    centroids = np.array([np.mean(v, 0) for v in means.values()])
    spread = np.mean([np.linalg.norm(a - b) for i, a in enumerate(centroids)
                      for b in centroids[i + 1:]])
    # class centroids are closer together than videos of one class are
    assert spread < within


# ------------------------------------------------------------ shots / looks
@pytest.mark.parametrize('respawn', [False, True])
def test_shots_cut_appearance_and_continue_the_motion(respawn):
    """With shots=2 the frames jump at the cut (a new scene; with respawn
    the object is also placed anew) while the motion goes on: each shot
    alone shows the class's motion signature (measured with optical flow,
    independent of the generator)."""
    T = 48
    for cls in ('move_right', 'circle_anticlockwise', 'shrink'):
        rng = np.random.default_rng(_video_seed(3, cls, 0))
        frames, info = render_video(cls, rng, T, SIZE, shots=2,
                                    respawn=respawn)
        assert info['shots'] == [0, 24]
        f = frames.astype(float)
        diffs = np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3))
        cut = diffs[23]  # frame 23 -> 24
        assert cut > 4 * np.median(diffs), (cls, cut, np.median(diffs))
        for a, b in ((0, 24), (24, 48)):
            stats = _motion_stats(frames[a:b])
            assert _consistent_with(cls, stats), (cls, a, stats)


def test_looks_are_shared_between_videos_and_classes():
    """looks=N: shots draw from N shared appearances, so two videos of
    different classes can show exactly the same scene (the first frame of
    a shot with the same look matches far better than one with another),
    and the look ids are recorded in the info."""
    seen = {}
    for cls in ('move_up', 'expand', 'shake_vertical'):
        for k in range(4):
            rng = np.random.default_rng(_video_seed(0, cls, k))
            frames, info = render_video(cls, rng, 16, SIZE, shots=1,
                                        looks=2, look_seed=0)
            (look,) = info['looks']
            assert look in (0, 1)
            seen.setdefault(look, []).append((cls, frames))
    assert set(seen) == {0, 1}
    # the same look in two classes: backgrounds agree outside the object
    a, b = seen[0][0][1], seen[1][0][1]
    by_look = {look: [fr for _, fr in v] for look, v in seen.items()}
    d_same = np.median([
        np.abs(x[0].astype(float) - y[0].astype(float)).mean()
        for v in by_look.values() for i, x in enumerate(v) for y in v[i + 1:]
    ])
    d_other = np.abs(a[0].astype(float) - b[0].astype(float)).mean()
    assert d_same < 0.5 * d_other, (d_same, d_other)
    # every class met both looks' pool (looks say nothing about the class)
    assert len({c for v in seen.values() for c, _ in v}) == 3


def _background_shifts(frames, w=16):
    """Per-frame global shift (dx, dy) of the background, (T - 1, 2): the
    median over the four w x w frame corners (away from the object, which
    stays near the middle for circle/expand) of the phase correlation of
    consecutive grey frames."""
    g = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)
         for f in frames]
    e = g[0].shape[0] - w
    return np.array([
        np.median([cv2.phaseCorrelate(a[y:y + w, x:x + w].copy(),
                                      b[y:y + w, x:x + w].copy())[0]
                   for y in (0, e) for x in (0, e)], axis=0)
        for a, b in zip(g, g[1:])])


@pytest.mark.parametrize('cls', ['circle_clockwise', 'expand'])
def test_a_shared_look_keeps_each_videos_own_camera(cls):
    """looks=N shares the scene, not the camera: two videos with the same
    look move their background differently (pan and jitter measured on the
    pixels), while one video rendered twice moves identically."""
    def render(k):
        rng = np.random.default_rng(_video_seed(0, cls, k))
        return render_video(cls, rng, 16, SIZE, looks=1, look_seed=0)[0]
    a, b = render(0), render(1)
    sa, sb = _background_shifts(a), _background_shifts(b)
    assert np.allclose(sa, _background_shifts(render(0)))
    assert np.abs(sa).mean() > 0.1  # the camera does move
    # a camera shared with the look gave 0.0 / 0.04 here
    assert np.abs(sa - sb).mean() > 0.3, (sa, sb)
    # and the scene is the same one: first frames far closer than two looks
    other = render_video(cls, np.random.default_rng(9), 16, SIZE,
                         looks=0)[0]
    d_same = np.abs(a[0].astype(float) - b[0]).mean()
    d_other = np.abs(a[0].astype(float) - other[0]).mean()
    assert d_same < 0.5 * d_other, (d_same, d_other)


def test_clutter_off_gives_a_plain_background_and_the_same_object():
    """clutter=False: no texture, no distractors -- outside the object a
    frame is one colour plus sensor noise (spatial std ~ the noise, 2 grey
    levels, vs a textured frame); the object moves exactly as with clutter
    (same random draws), so the frames agree where the object is."""
    for cls in ('move_right', 'expand', 'shake_vertical'):
        plain, _ = render_video(cls, np.random.default_rng(
            _video_seed(5, cls, 0)), 8, SIZE, clutter=False)
        busy, _ = render_video(cls, np.random.default_rng(
            _video_seed(5, cls, 0)), 8, SIZE, clutter=True)
        f = plain[0].astype(float)
        # the object covers well under half the frame: the median pixel is
        # background; background pixels lie near it
        med = np.median(f.reshape(-1, 3), axis=0)
        bg = np.abs(f - med).max(axis=2) < 12
        assert bg.mean() > 0.6, (cls, bg.mean())
        assert f[bg].std(axis=0).max() < 5, cls
        g = busy[0].astype(float)
        assert g.reshape(-1, 3).std(axis=0).max() > 2 * f[bg].std(
            axis=0).max(), cls
        # the object: pixels far from the plain background (eroded by one
        # pixel: anti-aliased edges blend with the background); it is drawn
        # over whatever background there is, so both renderings agree there
        core = cv2.erode((~bg).astype(np.uint8), np.ones((3, 3), np.uint8))
        core = core.astype(bool)
        assert core.sum() >= 4, cls
        assert np.abs(f - g)[core].mean() < 3, cls


def test_cli_defaults_and_flags(tmp_path, repo_root):
    """The CLI's defaults are generate_demo_dataset's; the flags reach the
    manifest's params."""
    import inspect
    defaults = {k: p.default for k, p in inspect.signature(
        generate_demo_dataset).parameters.items()}
    tool = osp.join(repo_root, 'tools', 'generate_demo_data.py')
    out = str(tmp_path / 'd')
    base = [sys.executable, tool, out, '--num-per-class', '1', '--classes',
            'expand', '--workers', '1']
    subprocess.run(base, capture_output=True, text=True, check=True)
    with open(osp.join(out, 'manifest.json')) as f:
        params = json.load(f)['params']
    for k in ('num_frames', 'size', 'shots', 'looks', 'respawn', 'clutter',
              'drift', 'fps', 'query_ratio', 'seed'):
        assert params[k] == defaults[k], k
    subprocess.run(base + ['--respawn', '--no-clutter', '--shots', '2',
                           '--num-frames', '12'],
                   capture_output=True, text=True, check=True)
    with open(osp.join(out, 'manifest.json')) as f:
        params = json.load(f)['params']
    assert (params['respawn'], params['clutter'], params['shots'],
            params['num_frames']) == (True, False, 2, 12)


def test_shots_and_looks_are_validated():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='shots'):
        render_video('expand', rng, 8, SIZE, shots=9)
    with pytest.raises(ValueError, match='looks'):
        render_video('expand', rng, 8, SIZE, looks=-1)


# ------------------------------------------------- scene-action correlation
def test_look_bias_ties_looks_to_classes_and_zero_changes_nothing():
    """look_bias=1: every video of class c has look c % looks; 0 (the
    default) draws nothing extra, so the default videos are unchanged."""
    for cls in MOTION_CLASSES[:3]:
        a = render_video(cls, np.random.default_rng(7), 8, SIZE, looks=4)
        b = render_video(cls, np.random.default_rng(7), 8, SIZE, looks=4,
                         own_look=1, look_bias=0.0)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1]['looks'] == b[1]['looks']
    looks = [render_video('expand', np.random.default_rng(i), 8, SIZE,
                          looks=4, own_look=3, look_bias=1.0)[1]['looks']
             for i in range(12)]
    assert looks == [[3]] * 12
    half = [render_video('expand', np.random.default_rng(i), 8, SIZE,
                         looks=4, own_look=3,
                         look_bias=0.5)[1]['looks'][0] for i in range(200)]
    # P(own look) = 0.5 + 0.5 / 4 = 0.625
    assert abs(np.mean(np.array(half) == 3) - 0.625) < 0.1


def test_look_bias_in_the_data_set(tmp_path):
    man = generate_demo_dataset(str(tmp_path / 'd'), num_per_class=3,
                                classes=list(MOTION_CLASSES[:3]),
                                num_frames=8, size=16, looks=3,
                                look_bias=1.0, workers=1, verbose=False)
    assert man['params']['look_bias'] == 1.0
    assert all(v['looks'] == [v['label'] % 3] for v in man['videos'])
    with pytest.raises(ValueError, match='look_bias'):
        generate_demo_dataset(str(tmp_path / 'e'), looks=0, look_bias=0.5,
                              verbose=False)


def test_cli_takes_a_configs_demo_data(tmp_path, repo_root):
    """--config: the config's demo_data are the defaults, flags win."""
    cfg = tmp_path / 'c.py'
    cfg.write_text("demo_data = dict(query_ratio=0.5, looks=3, "
                   "look_bias=1.0)\n")
    out = tmp_path / 'd'
    tool = osp.join(repo_root, 'tools', 'generate_demo_data.py')
    subprocess.run([sys.executable, tool, str(out), '--config', str(cfg),
                    '--num-per-class', '2', '--classes', 'move_left',
                    'expand', '--num-frames', '8', '--size', '16',
                    '--workers', '1'], check=True, capture_output=True)
    man = json.loads((out / 'manifest.json').read_text())
    assert man['params']['query_ratio'] == 0.5
    assert man['params']['num_per_class'] == 2
    assert all(v['looks'] == [v['label'] % 3] for v in man['videos'])
    bad = tmp_path / 'bad.py'
    bad.write_text('demo_data = dict(colour=1)\n')
    r = subprocess.run([sys.executable, tool, str(out), '--config',
                        str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and 'colour' in r.stderr
