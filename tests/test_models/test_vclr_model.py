"""VCLR model: each loss against a per-row reference, banks, consensus."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

K = 3
D = 16
TAU = 0.1
TINY_2D = dict(type='ResNet', depth=18, pretrained=None, num_stages=2,
               out_indices=(1, ), strides=(1, 2), dilations=(1, 1))
TINY_3D = dict(type='ResNet3d', depth=18, pretrained=None,
               pretrained2d=False, base_channels=8, conv1_kernel=(1, 3, 3),
               conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1))


def tiny_cfg(backbone=TINY_2D, width=128, **kw):
    head = dict(type='ProjectionMLP', in_channels=width, hid_channels=32,
                out_channels=D, num_layers=2)
    cfg = dict(type='VCLR', backbone=backbone,
               head_video=copy.deepcopy(head), head_inter=copy.deepcopy(head),
               head_intra=copy.deepcopy(head), head_order=copy.deepcopy(head),
               num_segments=K, feat_dim=D, frame_queue_len=30,
               video_queue_len=12, temperature=TAU,
               data_preprocessor=dict(type='ActionDataPreprocessor',
                                      format_shape='NCTHW'))
    cfg.update(kw)
    return cfg


def _build(**kw):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(**kw))
    model.init_weights()
    with torch.no_grad():  # make the momentum encoder differ from the online
        for p in model.momentum_encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()  # BN from running stats: every sample is encoded alone
    return model


# anchor tuples shuffled differently per video; query segment first or last
SEGS = [[0, 1, 2, 0, 1, 2, 0], [2, 0, 1, 1, 0, 2, 2], [1, 2, 0, 0, 2, 1, 0]]
LABELS = [0, 3, 1]


def _samples(vid, segs=SEGS, labels=LABELS):
    return [ActionDataSample(metainfo=dict(
        sample_idx=v, clip_segments=np.array(s), order_label=lab))
        for v, s, lab in zip(vid, segs, labels)]


def _inputs(n=3, t=1, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2 * K + 1, 3, t, size, size, generator=g)


def _fill_banks(model, vid_of_rows):
    """Write random keys into both banks; returns the bank snapshots."""
    g = torch.Generator().manual_seed(7)
    banks = {}
    for name in ('queue_frame', 'queue_video'):
        q = getattr(model, name, None)
        if q is None:
            continue
        keys = F.normalize(torch.randn(len(vid_of_rows), D, generator=g),
                           dim=1)
        q.enqueue(keys, torch.tensor(vid_of_rows))
        banks[name] = (q.feats.clone(), q.indices.clone())
    return banks


# --- per-row reference, written independently of the model's code --------
def row_loss(pos: float, negs) -> float:
    """-log exp(pos/tau) / (exp(pos/tau) + sum exp(neg/tau))."""
    logits = [pos / TAU] + [v / TAU for v in negs]
    m = max(logits)
    return -(logits[0] - m) + math.log(sum(math.exp(v - m) for v in logits))


def _frame(x, n, c):
    """One clip (1, C, H, W) of a (N, 2K+1, C, 1, H, W) batch."""
    return x[n, c, :, 0][None]


def _feat(model, img, momentum=False):
    net = model.momentum_encoder['backbone'] if momentum else model.backbone
    return model.pool(net(img))[0]


def _head(model, name, feat, momentum=False):
    h = model.momentum_encoder[name] if momentum else getattr(model, name)
    return h(feat[None])[0]


def reference_losses(model, x, segs, labels, vid, banks, exclude=False):
    out = {k: [] for k in ('video', 'inter', 'intra', 'order')}
    for n in range(x.shape[0]):
        s = segs[n]
        fa = [_feat(model, _frame(x, n, j)) for j in range(K)]
        fp = [_feat(model, _frame(x, n, K + j), True) for j in range(K)]
        q_pos = s[:K].index(s[2 * K])
        others = [j for j in range(K) if j != q_pos]

        def negs(q, bank):
            feats, idx = bank
            return [float(q @ feats[m]) for m in range(len(feats))
                    if not (exclude and int(idx[m]) == vid[n])]

        if 'queue_video' in banks:
            q = _head(model, 'head_video', sum(fa) / K)
            k = _head(model, 'head_video', sum(fp) / K, True)
            out['video'].append(
                row_loss(float(q @ k), negs(q, banks['queue_video'])))
        # SeCo keys: the re-augmented query frame, the other anchor frames
        keys = [_feat(model, _frame(x, n, 2 * K), True)] + [
            _feat(model, _frame(x, n, j), True) for j in others]
        if 'queue_frame' in banks:
            q = _head(model, 'head_inter', fa[q_pos])
            neg = negs(q, banks['queue_frame'])
            for kf in keys:  # one row per positive
                k = _head(model, 'head_inter', kf, True)
                out['inter'].append(row_loss(float(q @ k), neg))
        if hasattr(model, 'head_intra'):
            q = _head(model, 'head_intra', fa[q_pos])
            k_same = _head(model, 'head_intra', keys[0], True)
            for kf in keys[1:]:  # [same frame, other frame i] / tau
                k_other = _head(model, 'head_intra', kf, True)
                out['intra'].append(
                    row_loss(float(q @ k_same), [float(q @ k_other)]))
        if hasattr(model, 'head_order'):
            emb = [_head(model, 'head_order', f) for f in fa] + [
                _head(model, 'head_order', f, True) for f in fp]
            logits = model.order_classifier.fc(torch.cat(emb))
            out['order'].append(float(-torch.log_softmax(logits, 0)[
                labels[n]]))
    return {k: sum(v) / len(v) for k, v in out.items() if v}


@pytest.mark.parametrize('exclude', [False, True])
def test_each_loss_matches_per_row_reference(exclude):
    model = _build(exclude_same_video=exclude)
    vid = [4, 9, 2]
    # banks hold older keys, some of the batch's own videos (4 and 2)
    banks = _fill_banks(model, [4, 11, 2, 12, 13, 4, 14, 15, 16, 17])
    x = _inputs()
    with torch.no_grad():
        losses = model.loss(x, _samples(vid))
        ref = reference_losses(model, x, SEGS, LABELS, vid, banks,
                               exclude=exclude)
    names = dict(video='video_nce', inter='inter_nce', intra='intra_nce',
                 order='order_ce')
    for b, raw in names.items():
        assert losses[raw].item() == pytest.approx(ref[b], rel=1e-4, abs=1e-5)
        assert losses[f'loss_{b}'].item() == pytest.approx(ref[b], rel=1e-4,
                                                           abs=1e-5)
        assert 0 <= losses[f'acc_{b}'].item() <= 1


def test_weights_scale_losses_and_zero_branch_is_not_built():
    model = _build(lambda_video=0.5, lambda_inter=2.0, lambda_intra=0.0,
                   lambda_order=0.0, head_intra=None, head_order=None)
    assert not hasattr(model, 'head_intra')
    assert not hasattr(model, 'order_classifier')
    assert set(model.momentum_encoder.keys()) == {'backbone', 'head_video',
                                                  'head_inter'}
    x, vid = _inputs(), [0, 1, 2]
    banks = _fill_banks(model, list(range(20, 26)))
    with torch.no_grad():
        losses = model.loss(x, _samples(vid))
        ref = reference_losses(model, x, SEGS, LABELS, vid, banks)
    assert 'loss_intra' not in losses and 'loss_order' not in losses
    assert losses['loss_video'].item() == pytest.approx(0.5 * ref['video'],
                                                        rel=1e-4)
    assert losses['loss_inter'].item() == pytest.approx(2.0 * ref['inter'],
                                                        rel=1e-4)


def test_intra_negatives_come_from_the_same_video_only():
    # eval-mode BN: with negatives from the own video only, the batch loss
    # is the mean of the one-video losses, and the banks do not matter
    model = _build(lambda_video=0.0, lambda_inter=0.0, lambda_order=0.0)
    x = _inputs(seed=3)
    with torch.no_grad():
        both = model.loss(x[:2], _samples([0, 1]))['intra_nce']
        alone = [model.loss(x[i:i + 1], _samples([i], SEGS[i:i + 1],
                                                 LABELS[i:i + 1]))
                 ['intra_nce'] for i in range(2)]
    assert both.item() == pytest.approx((alone[0] + alone[1]).item() / 2,
                                        rel=1e-5)


def test_consensus_is_mean_of_per_segment_features():
    model = _build()
    x = _inputs(seed=4)
    with torch.no_grad():
        tuple_feats = model.encode_clips(x[:, :K])
        per_frame = torch.stack([torch.stack(
            [_feat(model, _frame(x, n, j)) for j in range(K)])
            for n in range(x.shape[0])])
        assert torch.allclose(tuple_feats, per_frame, atol=1e-5)
        assert torch.allclose(model.consensus(tuple_feats),
                              per_frame.mean(dim=1), atol=1e-5)
        # the video loss does not depend on the order of the anchor tuple
        model2 = copy.deepcopy(model)
        a = model.loss(x, _samples([0, 1, 2]))['video_nce']
        perm = [2, 0, 1]
        x2 = x.clone()
        x2[:, :K] = x[:, perm]
        segs2 = [[s[p] for p in perm] + s[K:] for s in SEGS]
        b = model2.loss(x2, _samples([0, 1, 2], segs2))['video_nce']
    assert a.item() == pytest.approx(b.item(), rel=1e-5)


def test_banks_receive_keys_with_video_indices():
    model = _build()
    x, vid = _inputs(seed=5), [7, 8, 9]
    with torch.no_grad():
        model.loss(x, _samples(vid))
    fq, fv = model.queue_frame, model.queue_video
    # frame bank: K key frames per video, key-major [r, other, other]
    assert fq.ptr.item() == 3 * K and fv.ptr.item() == 3
    assert fq.indices[:9].tolist() == vid * K
    assert fv.indices[:3].tolist() == vid
    with torch.no_grad():
        for n, s in enumerate(SEGS):
            q_pos = s[:K].index(s[2 * K])
            others = [j for j in range(K) if j != q_pos]
            key_clips = [2 * K] + others
            for r, c in enumerate(key_clips):
                k = _head(model, 'head_inter',
                          _feat(model, _frame(x, n, c), True), True)
                assert torch.allclose(fq.feats[r * 3 + n], k, atol=1e-5)
            fp = sum(_feat(model, _frame(x, n, K + j), True)
                     for j in range(K)) / K
            assert torch.allclose(fv.feats[n],
                                  _head(model, 'head_video', fp, True),
                                  atol=1e-5)


def test_train_step_updates_online_side_only():
    from mmengine.optim import OptimWrapper
    model = _build()
    model.train()
    before_k = {k: v.clone() for k, v in
                model.momentum_encoder.state_dict().items()}
    before = {k: v.clone() for k, v in model.named_parameters()
              if v.requires_grad}
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5))
    data = dict(inputs=[(torch.rand(2 * K + 1, 3, 1, 32, 32) * 255).to(
        torch.uint8) for _ in range(3)], data_samples=_samples([0, 1, 2]))
    log = model.train_step(data, optim)
    for b in ('video', 'inter', 'intra', 'order'):
        assert f'loss_{b}' in log and f'acc_{b}' in log
    for prefix in ('backbone.', 'head_video.', 'head_inter.', 'head_intra.',
                   'head_order.', 'order_classifier.'):
        assert any(not torch.equal(v, before[k])
                   for k, v in model.named_parameters()
                   if k.startswith(prefix)), prefix
    for name, p in model.momentum_encoder.named_parameters():
        assert torch.equal(p, before_k[name]), name
        assert not p.requires_grad


def test_segment_clip_variant_with_3d_backbone():
    model = _build(backbone=TINY_3D, width=64)
    model.train()
    x = _inputs(n=2, t=4, size=32, seed=6)
    with torch.no_grad():
        assert model.encode_key_clips(x).shape == (2, 2 * K + 1, 64)
        losses = model.loss(x, _samples([0, 1]))
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.queue_frame.ptr.item() == 2 * K


def test_predict_averages_frames_for_2d_backbone():
    model = _build()
    x = _inputs(n=2, seed=8)[:, :4]  # (N, M=4 frames, C, 1, H, W)
    samples = [ActionDataSample() for _ in range(2)]
    with torch.no_grad():
        out = model.predict(x, samples)
        for n in range(2):
            exp = sum(_feat(model, _frame(x, n, m)) for m in range(4)) / 4
            assert torch.allclose(out[n].feat, exp, atol=1e-5)


def test_missing_metainfo_names_the_fix():
    model = _build()
    x = _inputs()
    bad = [ActionDataSample(metainfo=dict(sample_idx=i, clip_segments=s))
           for i, s in enumerate(SEGS)]
    with pytest.raises(KeyError, match='TemporalOrderShuffle'):
        model.loss(x, bad)
    bad = [ActionDataSample(metainfo=dict(sample_idx=i, order_label=0))
           for i in range(3)]
    with pytest.raises(KeyError, match='clip_segments'):
        model.loss(x, bad)
    with pytest.raises(ValueError, match='2K\\+1'):
        model.loss(x[:, :5], _samples([0, 1, 2]))


@pytest.mark.parametrize('kw,key', [
    (dict(lambda_video=-1.0), 'lambda_video'),
    (dict(lambda_video=0, lambda_inter=0, lambda_intra=0, lambda_order=0),
     'all 0'),
    (dict(temperature=0.0), 'temperature'),
    (dict(feat_dim=32), 'feat_dim'),
    (dict(num_segments=2), 'num_segments'),
    (dict(head_inter=None), 'head_inter'),
    (dict(frame_queue_len=0), 'frame_queue_len'),
])
def test_invalid_config_raises_naming_key(kw, key):
    with pytest.raises(ValueError, match=key):
        MODELS.build(tiny_cfg(**kw))


def test_head_width_mismatch_names_key():
    cfg = tiny_cfg()
    cfg['head_video']['in_channels'] = 99
    with pytest.raises(ValueError, match='head_video.in_channels'):
        MODELS.build(cfg)


def _official_bookkeeping(model, x, segs, labels, banks):
    """The public VCLR code's loss bookkeeping, ported by hand as batched
    tensors: the inter-frame loss stacks its three positive rows per query
    into one (3B, 1 + K) logit matrix, the intra-frame loss its two 2-way
    rows into (2B, 2), the video loss is (B, 1 + K), the order loss a 4-way
    cross-entropy; each is a mean cross-entropy with label 0 (order: the
    label), and the total is their sum (all weights 1)."""
    n = x.shape[0]
    q_inter, q_intra, q_tsn, k_tsn, keys_inter, keys_intra, o3n = \
        [], [], [], [], [], [], []
    for v in range(n):
        s = segs[v]
        fa = [_feat(model, _frame(x, v, j)) for j in range(K)]
        fp = [_feat(model, _frame(x, v, K + j), True) for j in range(K)]
        q_pos = s[:K].index(s[2 * K])
        others = [j for j in range(K) if j != q_pos]
        kf = [_feat(model, _frame(x, v, 2 * K), True)] + [
            _feat(model, _frame(x, v, j), True) for j in others]
        q_inter.append(_head(model, 'head_inter', fa[q_pos]))
        q_intra.append(_head(model, 'head_intra', fa[q_pos]))
        keys_inter.append(torch.stack([_head(model, 'head_inter', f, True)
                                       for f in kf]))
        keys_intra.append(torch.stack([_head(model, 'head_intra', f, True)
                                       for f in kf]))
        q_tsn.append(_head(model, 'head_video', sum(fa) / K))
        k_tsn.append(_head(model, 'head_video', sum(fp) / K, True))
        o3n.append(torch.cat([_head(model, 'head_order', f) for f in fa] +
                             [_head(model, 'head_order', f, True)
                              for f in fp]))
    q_inter, q_intra = torch.stack(q_inter), torch.stack(q_intra)
    k_inter, k_intra = torch.stack(keys_inter), torch.stack(keys_intra)
    frame_bank, video_bank = banks['queue_frame'][0], banks['queue_video'][0]
    l_neg = q_inter @ frame_bank.t()
    inter = torch.cat([torch.cat([(q_inter * k_inter[:, j]).sum(1, True),
                                  l_neg], 1) for j in range(K)], 0) / TAU
    pos_sf = (q_intra * k_intra[:, 0]).sum(1, True)
    intra = torch.cat([torch.cat([pos_sf, (q_intra * k_intra[:, j]).sum(
        1, True)], 1) for j in (1, 2)], 0) / TAU
    q_tsn, k_tsn = torch.stack(q_tsn), torch.stack(k_tsn)
    tsn = torch.cat([(q_tsn * k_tsn).sum(1, True), q_tsn @ video_bank.t()],
                    1) / TAU

    def nce(logits):
        return F.cross_entropy(logits, torch.zeros(len(logits),
                                                   dtype=torch.long))

    order = F.cross_entropy(model.order_classifier.fc(torch.stack(o3n)),
                            torch.tensor(labels))
    assert inter.shape == (3 * n, 1 + len(frame_bank))
    assert intra.shape == (2 * n, 2)
    return dict(inter=nce(inter), intra=nce(intra), video=nce(tsn),
                order=order)


def test_losses_equal_the_public_vclr_codes_bookkeeping():
    model = _build()
    vid = [4, 9, 2]
    banks = _fill_banks(model, [5, 11, 6, 12, 13, 7, 14, 15, 16, 17])
    x = _inputs(seed=3)
    with torch.no_grad():
        losses = model.loss(x, _samples(vid))
        ref = _official_bookkeeping(model, x, SEGS, LABELS, banks)
    for b, v in ref.items():
        assert abs(losses[f'loss_{b}'].item() - v.item()) < 1e-5, b
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert abs(total.item() - sum(ref.values()).item()) < 2e-5
