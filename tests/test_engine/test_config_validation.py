"""docs/troubleshooting.md, section 7: invalid configurations raise before
training, and each message
names the config key and the fix. Model-level checks raise when the model is
built; cross-object checks (ρ, queue vs global batch, clip vs videos, SyncBN
on CPU, missing momentum hook) raise in ``PretrainConfigCheckHook.before_train``
(one test goes through a real Runner to show the wiring)."""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.runner import Runner

from mmiivcl.datasets import UnlabeledVideoDataset
from mmiivcl.engine.hooks import MomentumUpdateHook
from mmiivcl.engine.hooks.pretrain_config_check_hook import (
    ConfigError, PretrainConfigCheckHook, check_clip_vs_videos,
    check_first_enqueue, check_head_widths, check_momentum_hook,
    check_queue_lengths, check_rho, check_sync_bn, probe_frame_counts)
from mmiivcl.models.heads import ProjectionMLP
from mmiivcl.models.utils import FeatureQueue


def _vclr(rel, **kw):
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layers=2)
    cfg = dict(type='VCLR', backbone=rel.tiny_backbone,
               head_video=head, head_inter=head, head_intra=head,
               head_order=head, feat_dim=16, frame_queue_len=64,
               video_queue_len=64, num_segments=3)
    cfg.update(kw)
    return cfg


@pytest.mark.parametrize('kw, key', [
    (dict(lambda_intra=-1.0), 'model.lambda_intra'),
    (dict(lambda_nn=-0.5), 'model.lambda_nn'),
    (dict(lambda_intra=0.0, lambda_nn=0.0), 'model.lambda_intra and '
     'model.lambda_nn are both 0'),
    (dict(temperature=0.0), 'model.temperature'),
    (dict(temperature=-0.1), 'model.temperature'),
    (dict(head_nn=dict(type='ProjectionMLP', in_channels=32, hid_channels=32,
                       out_channels=16)), 'model.head_nn.in_channels=32'),
    (dict(feat_dim=8), 'model.feat_dim'),
])
def test_iivcl_build_time_errors_name_the_key(rel, kw, key):
    with pytest.raises(ValueError) as err:
        MODELS.build(rel.tiny_model(**kw))
    assert key in str(err.value)


@pytest.mark.parametrize('kw, key', [
    (dict(lambda_order=-1.0), 'model.lambda_order'),
    (dict(lambda_video=0., lambda_inter=0., lambda_intra=0.,
          lambda_order=0.), 'are all 0'),
    (dict(temperature=0.0), 'model.temperature'),
])
def test_vclr_build_time_errors_name_the_key(rel, kw, key):
    with pytest.raises(ValueError) as err:
        MODELS.build(_vclr(rel, **kw))
    assert key in str(err.value)


@pytest.mark.parametrize('m', [1.0, 1.5, -0.01])
def test_base_momentum_outside_unit_interval(m):
    with pytest.raises(ValueError, match='base_momentum'):
        MomentumUpdateHook(base_momentum=m)
    hook = MomentumUpdateHook(base_momentum=0.99)
    hook.base_momentum = m  # e.g. changed after build
    with pytest.raises(ConfigError, match=r'base_momentum=.*\[0, 1\)'):
        check_momentum_hook([hook])
    with pytest.raises(ConfigError, match='no MomentumUpdateHook'):
        check_momentum_hook([])


def test_rho_below_two(rel):
    model = MODELS.build(rel.tiny_model())
    one = [TRANSFORMS.build(dict(type='SampleClipPair', num_clips=1))]
    with pytest.raises(ConfigError) as err:
        check_rho(model, one)
    assert 'SampleClipPair.num_clips=1' in str(err.value)
    assert 'num_clips=2' in str(err.value)
    check_rho(model, [TRANSFORMS.build(dict(type='SampleClipPair'))])


def test_queue_below_keys_per_step(rel):
    """Keys enqueued per step = world_size x batch x keys per video."""
    pair = [TRANSFORMS.build(dict(type='SampleClipPair', num_clips=2))]
    model = MODELS.build(rel.tiny_model(queue_len=24))
    check_queue_lengths(model, pair, batch_size=6, world_size=2)  # 24 ok
    with pytest.raises(ConfigError) as err:
        check_queue_lengths(model, pair, batch_size=4, world_size=4)
    msg = str(err.value)
    assert 'model.queue_len=24' in msg and '32 = world_size 4 x ' \
        'batch_size 4 x 2 key(s) per video' in msg and 'model.queue_len >= ' \
        '32' in msg
    # VCLR: the frame bank gets K keys per video, the video bank one
    vclr = MODELS.build(_vclr(rel, frame_queue_len=40, video_queue_len=8))
    seg = [TRANSFORMS.build(dict(type='SampleSegmentTuple', num_segments=3))]
    with pytest.raises(ConfigError, match=r'model.frame_queue_len=40 .* 48 '):
        check_queue_lengths(vclr, seg, batch_size=8, world_size=2)
    with pytest.raises(ConfigError, match=r'model.video_queue_len=8 .* 16 '):
        check_queue_lengths(MODELS.build(_vclr(rel, video_queue_len=8)),
                            seg, batch_size=8, world_size=2)


def test_unknown_model_queue_checked_at_first_enqueue():
    """A model that declares no queue demand: the first step's enqueue is
    measured (FeatureQueue.last_enqueued) and a too-short queue stops the
    run after that step, through the hook."""
    model = torch.nn.Module()
    model.queue_x = q = FeatureQueue(10, 4)
    assert check_queue_lengths(model, [], 3, 1) == ['queue_x']
    check_first_enqueue(model, ['queue_x'], batch_size=3, world_size=1)
    q.enqueue(torch.randn(9, 4), torch.arange(9))
    check_first_enqueue(model, ['queue_x'], batch_size=3, world_size=1)
    q.enqueue(torch.randn(12, 4), torch.arange(12))
    assert q.last_enqueued == 12
    with pytest.raises(ConfigError, match='model.queue_x length=10'):
        check_first_enqueue(model, ['queue_x'], batch_size=3, world_size=1)
    hook = PretrainConfigCheckHook()
    hook._measure, hook._loader_batch = ['queue_x'], (3, 1)
    runner = SimpleNamespace(model=model)
    with pytest.raises(ConfigError, match='model.queue_x length=10'):
        hook.after_train_iter(runner, 0)
    hook.after_train_iter(runner, 1)  # measured once only


def test_models_declare_their_queue_demand(rel):
    """IIVCL: rho keys per video for each queue; VCLR: K for the frame bank,
    one for the video bank; the hook no longer knows class names."""
    model = MODELS.build(rel.tiny_model())
    assert model.min_clips_per_video == 2
    assert model.queue_demand(3) == {
        f'queue_{b}': (3, 'model.queue_len') for b in model.branches}
    assert model.queue_demand(None) == {}
    assert set(model.head_names) == {f'head_{b}' for b in model.branches}
    vclr = MODELS.build(_vclr(rel))
    assert vclr.queue_demand(None) == {
        'queue_frame': (vclr.num_segments, 'model.frame_queue_len'),
        'queue_video': (1, 'model.video_queue_len')}
    assert vclr.min_clips_per_video == 1


def test_head_width_generic_check(rel):
    model = MODELS.build(rel.tiny_model())
    check_head_widths(model)
    model.head_nn = ProjectionMLP(in_channels=128, hid_channels=8,
                                  out_channels=16)
    with pytest.raises(ConfigError, match=r'model.head_nn.in_channels=128 '
                       r'but the backbone outputs 64 channels'):
        check_head_widths(model)


def test_sync_bn_on_distributed_cpu(rel):
    bb = copy.deepcopy(rel.tiny_backbone)
    bb['norm_cfg'] = dict(type='SyncBN', requires_grad=True)
    model = MODELS.build(rel.tiny_model(backbone=bb, shuffle_bn=False))
    check_sync_bn(model, 1, 'cpu')  # mmengine reverts SyncBN off-dist
    with pytest.raises(ConfigError, match='norm_cfg'):
        check_sync_bn(model, 2, 'cpu')
    check_sync_bn(model, 2, 'cuda:0')


def test_clip_no_video_can_hold(rel, shared_data, tmp_path):
    """Frame counts probed from real files (36, 50, 120 frames): a 16-frame
    clip at stride 8 (121 frames) fits none of them, nor does min_frames=200
    or 3 segments of an 8x8 clip."""
    edge = osp.join(shared_data, 'videos', 'edge_cases')
    lst = tmp_path / 'l.txt'
    lst.write_text(f'{edge}/realshort.mp4\n{edge}/carphone_distorted.mp4\n'
                   f'{edge}/corrupted.mp4\n')
    ds = UnlabeledVideoDataset(ann_file=str(lst))
    counts = probe_frame_counts(ds, 16)
    assert sorted(counts) == [36, 50, 120]
    ok = [TRANSFORMS.build(dict(type='SampleClipPair', clip_len=8,
                                frame_interval=8))]  # 57 frames
    check_clip_vs_videos(ok, counts)
    long = [TRANSFORMS.build(dict(type='SampleClipPair', clip_len=16,
                                  frame_interval=8))]  # 121 frames
    with pytest.raises(ConfigError) as err:
        check_clip_vs_videos(long, counts)
    msg = str(err.value)
    assert 'SampleClipPair(clip_len=16, frame_interval=8) needs 121' in msg
    assert 'longest of 3 probed videos has 120' in msg
    assert 'frame_interval' in msg and '<= 7' in msg
    short = [TRANSFORMS.build(dict(type='SampleClipPair', clip_len=2,
                                   frame_interval=2, min_frames=200))]
    with pytest.raises(ConfigError, match=r'min_frames=200 .*every video '
                       'would be skipped'):
        check_clip_vs_videos(short, counts)
    seg = [TRANSFORMS.build(dict(type='SampleSegmentTuple', num_segments=3,
                                 clip_len=8, frame_interval=8))]
    with pytest.raises(ConfigError, match='3 segments'):
        check_clip_vs_videos(seg, counts)  # 3 x 58 = 174 > 120


@pytest.mark.timeout(60)
def test_hook_rejects_before_the_first_step(tmp_path, tiny_data, rel,
                                            clean_env):
    """Through a Runner: a queue shorter than one step's keys stops the run
    in before_train (no iteration ran)."""
    pipeline = [
        dict(type='DecordInit', io_backend='disk'),
        dict(type='SampleClipPair', clip_len=4, frame_interval=2,
             num_clips=2),
        dict(type='DecordDecode'),
        dict(type='ClipAugment', scale=(32, 40), crop_size=32),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
    ]
    cfg = rel.runner_cfg(
        str(tmp_path / 'work'), 'cfgcheck',
        osp.join(tiny_data, 'train_list.txt'), pipeline,
        data_root=osp.join(tiny_data, 'videos'),
        model=rel.tiny_model(queue_len=3),
        default_hooks=dict(check=dict(type='PretrainConfigCheckHook')))
    runner = Runner(**cfg)
    with pytest.raises(ConfigError, match=r'model.queue_len=3 .* 4 = '
                       'world_size 1 x batch_size 2 x 2'):
        runner.train()
    assert runner.iter == 0


# ----------------------------------------------------------------------
# unknown keywords: one line naming the key and the closest valid argument
def _one_line(exc) -> str:
    msg = str(exc.value)
    assert '\n' not in msg and exc.value.__cause__ is None
    assert exc.value.__suppress_context__  # no chained TypeError traceback
    return msg


def test_unknown_model_argument_is_named(rel):
    with pytest.raises(ConfigError) as err:
        MODELS.build(rel.tiny_model(lamda_nn=1.0))
    assert _one_line(err) == ('model.lamda_nn: unknown argument of IIVCL; '
                              'did you mean lambda_nn?')
    # nested: the key path reaches into the head config
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layer=3)
    with pytest.raises(ConfigError) as err:
        MODELS.build(rel.tiny_model(head_nn=head))
    assert _one_line(err) == ('model.head_nn.num_layer: unknown argument of '
                              'ProjectionMLP; did you mean num_layers?')


def test_unknown_mmaction_argument_is_named():
    """Not one of ours: the TypeError mmengine raises is translated (classes
    that swallow ``**kwargs``, e.g. ResNet3d, keep their own errors)."""
    with pytest.raises(ConfigError) as err:
        TRANSFORMS.build(dict(type='CenterCrop', crop_sze=32))
    assert _one_line(err) == ('pipeline.crop_sze: unknown argument of '
                              'CenterCrop; did you mean crop_size?')


def test_unknown_dataset_and_transform_arguments_are_named(tmp_path):
    from mmaction.registry import DATASETS
    lst = tmp_path / 'list.txt'
    lst.write_text('a.mp4\n')
    with pytest.raises(ConfigError) as err:
        DATASETS.build(dict(type='UnlabeledVideoDataset', ann_fle=str(lst)))
    assert _one_line(err) == ('dataset.ann_fle: unknown argument of '
                              'UnlabeledVideoDataset; did you mean ann_file?')
    pipe = [dict(type='VideoInit'),
            dict(type='SampleClipPair', clip_lenn=8)]
    with pytest.raises(ConfigError) as err:
        DATASETS.build(dict(type='UnlabeledVideoDataset', ann_file=str(lst),
                            pipeline=pipe))
    assert _one_line(err) == ('dataset.pipeline[1].clip_lenn: unknown '
                              'argument of SampleClipPair; did you mean '
                              'clip_len?')
    with pytest.raises(ConfigError) as err:
        TRANSFORMS.build(dict(type='SampleClipPair', num_clip=2))
    assert _one_line(err) == ('pipeline.num_clip: unknown argument of '
                              'SampleClipPair; did you mean num_clips?')
    # arguments the base classes take through **kwargs stay valid
    ds = DATASETS.build(dict(type='UnlabeledVideoDataset', ann_file=str(lst),
                             start_index=0, lazy_init=True))
    assert ds.ann_file == str(lst)


def test_all_probed_videos_missing_names_data_prefix_and_ann_file(tmp_path):
    lst = tmp_path / 'list.txt'
    lst.write_text('a.mp4 0\nb/c.mp4 1\n')
    ds = UnlabeledVideoDataset(ann_file=str(lst),
                               data_prefix=dict(video='/no/such/root'))
    with pytest.raises(ConfigError) as err:
        probe_frame_counts(ds, 16)
    msg = str(err.value)
    assert 'none of the 2 probed training videos exists' in msg
    assert "train_dataloader.dataset.data_prefix={'video': '/no/such/root'}" \
        in msg
    assert f"train_dataloader.dataset.ann_file='{lst}'" in msg
