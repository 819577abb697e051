"""Pictures of what the NN queue returns for fixed query videos (IIVCL paper,
Fig. 3b).

:class:`NNVisualizationHook` picks ``num_queries`` training videos once
(deterministically: round-robin over the classes when the list has labels,
else a seeded draw), and at a few moments of the run embeds each query with
the *momentum* encoder and head of the NN branch (the space of the queue's
keys, Eq.3), finds its ``topk`` most similar distinct videos among the queue
rows (the queue stores the video index of every key; rows of the query's own
video are skipped) and draws one grid row per query: the query's middle frame,
then its neighbours' middle frames, most similar first, each captioned with
its similarity and class and framed green / red when it shares / does not
share the query's class (see :mod:`mmiivcl.analysis.nn_grid`).

When: ``epoch_0`` as soon as the queue is first completely filled during the
first epoch (the encoder has barely trained: the "before training" picture),
then after every ``interval`` completed epochs and after the last one
(``epoch_{e}``). The PNGs go to ``{work_dir}/{out_dir}/epoch_{e}.png`` and to
every visualizer backend via ``runner.visualizer.add_image('nn_grid', img,
step=e)`` (TensorBoard, W&B, or mmengine's local backend). Only the main
process draws; the query embedding runs the momentum encoder in eval mode
(running BN statistics, no collective calls, no gradient) and restores its
mode afterwards, so training is unaffected.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS, TRANSFORMS
from .nn_queue_stats_hook import dataset_video_labels


def select_query_videos(num_videos: int, labels: Optional[np.ndarray],
                        num: int, seed: int = 0) -> List[int]:
    """Deterministic query videos.

    With labels: classes in increasing order, round-robin, within a class a
    seeded random order (so the rows cover as many classes as possible).
    Without: ``num`` distinct indices drawn with ``seed``, sorted.
    """
    rng = np.random.RandomState(seed)
    num = min(int(num), num_videos)
    if labels is not None and (labels >= 0).any():
        classes = np.unique(labels[labels >= 0])
        pools = [rng.permutation(np.flatnonzero(labels == c)).tolist()
                 for c in classes]
        picks: List[int] = []
        r = 0
        while len(picks) < num and any(r < len(p) for p in pools):
            for p in pools:
                if r < len(p) and len(picks) < num:
                    picks.append(int(p[r]))
            r += 1
        return picks
    return sorted(int(i) for i in rng.choice(num_videos, num, replace=False))


def _unwrap_dataset(dataset):
    seen = 0
    while not hasattr(dataset, 'get_data_info') and hasattr(dataset,
                                                             'dataset'):
        dataset = dataset.dataset
        seen += 1
        if seen > 8:
            break
    return dataset


@HOOKS.register_module()
class NNVisualizationHook(Hook):
    """Save a grid of fixed queries and their top-k queue neighbours.

    Args:
        interval (int): epochs between two pictures (besides ``epoch_0``
            and the last epoch).
        num_queries (int): grid rows.
        topk (int): neighbours per query (grid columns after the query).
        pipeline (list[dict], optional): test pipeline producing the query
            clips (``SampleFrames(test_mode=True)``, decode, resize, crop,
            ``FormatShape``, ``PackActionInputs``); default: the config's
            ``val_dataloader`` / ``test_dataloader`` pipeline.
        queue (str): model attribute of the queue (``'queue_nn'``); its
            keys come from ``momentum_encoder[head]``.
        head (str, optional): head name; default ``'head_' + queue[6:]``.
        query_indices (Sequence[int], optional): explicit query videos
            (dataset indices) instead of the automatic choice.
        seed (int): seed of the automatic choice.
        out_dir (str): folder under ``work_dir``.
        tile_size (tuple): (h, w) of one tile in pixels.
        draw_at_start (bool): draw ``epoch_0`` once the queue is full.
        class_names (str | Sequence[str], optional): names of the labels
            (a ``classes.txt`` path or a list); default the dataset's
            ``class_names`` attribute if any, else label numbers.
        batch_size (int): queries embedded together.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 10,
                 num_queries: int = 8,
                 topk: int = 5,
                 pipeline: Optional[List[dict]] = None,
                 queue: str = 'queue_nn',
                 head: Optional[str] = None,
                 query_indices: Optional[Sequence[int]] = None,
                 seed: int = 0,
                 out_dir: str = 'nn_grid',
                 tile_size: Tuple[int, int] = (96, 96),
                 draw_at_start: bool = True,
                 class_names: Optional[Union[str, Sequence[str]]] = None,
                 batch_size: int = 4) -> None:
        if interval < 1 or num_queries < 1 or topk < 1:
            raise ValueError('NNVisualizationHook: interval, num_queries and '
                             'topk must be >= 1')
        self.interval = int(interval)
        self.num_queries = int(num_queries)
        self.topk = int(topk)
        self.pipeline_cfg = pipeline
        self.queue = queue
        self.head = head or ('head_' + queue.split('_', 1)[1]
                             if '_' in queue else 'head_nn')
        self.query_indices = (None if query_indices is None else
                              [int(i) for i in query_indices])
        self.seed = int(seed)
        self.out_dir = out_dir
        self.tile_size = (int(tile_size[0]), int(tile_size[1]))
        self.draw_at_start = draw_at_start
        self.class_names_cfg = class_names
        self.batch_size = int(batch_size)
        self.enabled = False
        self.query_videos: List[int] = []
        self.labels: Optional[np.ndarray] = None
        self.class_names: Optional[List[str]] = None
        self.dataset = None
        self._pipeline = None
        self._frames: Dict[int, Optional[np.ndarray]] = {}
        self._start_done = False
        self._drawn_epochs: set = set()
        self.last: Optional[dict] = None

    # ------------------------------------------------------------------
    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _warn(self, msg: str) -> None:
        print_log(f'NNVisualizationHook: {msg}', logger='current', level=30)

    def before_train(self, runner) -> None:
        model = self._model(runner)
        enc = getattr(model, 'momentum_encoder', None)
        if not hasattr(model, self.queue) or enc is None or \
                self.head not in enc:
            self._warn(f'the model has no {self.queue!r} with a momentum '
                       f'{self.head!r}; no NN pictures will be drawn')
            return
        self.setup(runner.train_dataloader.dataset,
                   self._resolve_pipeline(runner))
        if runner.epoch > 0:  # resumed: the start picture belongs to epoch 0
            self._start_done = True

    def _resolve_pipeline(self, runner) -> Optional[List[dict]]:
        if self.pipeline_cfg is not None:
            return list(self.pipeline_cfg)
        from mmiivcl.analysis.features import resolve_pipeline
        try:
            return resolve_pipeline(runner.cfg)
        except KeyError:
            self._warn('no pipeline given and no val/test pipeline in the '
                       'config; pass pipeline=[...]')
            return None

    def setup(self, dataset, pipeline: Optional[List[dict]]) -> None:
        """Choose the queries and build the pipeline (also used by tests)."""
        if pipeline is None:
            return
        from mmiivcl.analysis.features import ensure_meta_keys
        self.dataset = _unwrap_dataset(dataset)
        self.labels = dataset_video_labels(self.dataset)
        self.class_names = self._read_class_names()
        n = len(self.dataset)
        if self.query_indices is not None:
            bad = [i for i in self.query_indices if not 0 <= i < n]
            if bad:
                raise ValueError(f'NNVisualizationHook: query_indices {bad} '
                                 f'outside the dataset (0..{n - 1})')
            self.query_videos = list(self.query_indices)
        else:
            self.query_videos = select_query_videos(n, self.labels,
                                                    self.num_queries,
                                                    self.seed)
        self._pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in ensure_meta_keys(pipeline)])
        self.enabled = bool(self.query_videos)
        print_log(
            f'NNVisualizationHook: queries (video index) {self.query_videos}'
            f', top-{self.topk} NNs from {self.queue}, pictures in '
            f'{self.out_dir}/', logger='current')

    def _read_class_names(self) -> Optional[List[str]]:
        names = self.class_names_cfg
        if isinstance(names, str):
            with open(names, encoding='utf-8') as f:
                return [ln.strip() for ln in f if ln.strip()]
        if names is not None:
            return [str(x) for x in names]
        names = getattr(self.dataset, 'class_names', None)
        if names:
            return list(names)
        meta = getattr(self.dataset, 'metainfo', None) or {}
        return list(meta['classes']) if meta.get('classes') else None

    # ------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not (self.enabled and self.draw_at_start) or self._start_done:
            return
        if runner.epoch != 0:
            self._start_done = True
            return
        queue = getattr(self._model(runner), self.queue)
        if bool((queue.indices >= 0).all()):
            self._start_done = True
            self.draw(runner, 0, iters_done=runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if not self.enabled:
            return
        done = runner.epoch + 1  # epochs completed
        if not self._start_done:
            self._start_done = True
            self._warn('the queue was not full within the first epoch; the '
                       f'first picture is epoch_{done}')
            self.draw(runner, done, iters_done=runner.iter)
            return
        if done % self.interval == 0 or done >= runner.max_epochs:
            self.draw(runner, done, iters_done=runner.iter)

    # ------------------------------------------------------------------
    @torch.no_grad()
    def query_embeddings(self, model) -> np.ndarray:
        """(Q, D) L2-normalised momentum-encoder embeddings of the queries:
        per clip ``normalize(head(pool(backbone(clip))))``, averaged over the
        pipeline's clips and normalised again."""
        enc = model.momentum_encoder
        was_training = enc.training
        device = next(enc.parameters()).device
        enc.eval()
        out = []
        try:
            for s in range(0, len(self.query_videos), self.batch_size):
                vids = self.query_videos[s:s + self.batch_size]
                data = pseudo_collate([self._pipeline(self._info(v))
                                       for v in vids])
                x = model.data_preprocessor(data, False)['inputs'].to(device)
                n = x.shape[0]
                is_2d = getattr(model, '_is_2d', lambda: False)()
                multi = x.dim() == 6 or (x.dim() == 5 and is_2d)
                clips = x.flatten(0, 1) if multi else x  # (n*M, ...)
                z = F.normalize(enc[self.head](model.pool(
                    enc['backbone'](clips))), dim=1)
                z = F.normalize(z.view(n, -1, z.shape[-1]).mean(1), dim=1)
                out.append(z.float().cpu().numpy())
        finally:
            enc.train(was_training)
        return np.concatenate(out)

    def _info(self, video: int) -> dict:
        info = self.dataset.get_data_info(video)
        info.setdefault('sample_idx', video)
        return info

    def _frame(self, video: int) -> Optional[np.ndarray]:
        from mmiivcl.analysis.nn_grid import read_middle_frame
        if video not in self._frames:
            frame = None
            if 0 <= video < len(self.dataset):
                frame = read_middle_frame(
                    self.dataset.get_data_info(video)['filename'])
            self._frames[video] = frame
        return self._frames[video]

    def _label(self, video: int) -> int:
        if self.labels is None or not 0 <= video < len(self.labels):
            return -1
        return int(self.labels[video])

    def _name(self, label: int) -> str:
        if label < 0:
            return ''
        if self.class_names and label < len(self.class_names):
            return self.class_names[label]
        return f'class {label}'

    def draw(self, runner, epoch: int,
             iters_done: Optional[int] = None) -> Optional[str]:
        """Draw and save the grid for ``epoch`` (main process only);
        ``iters_done``: training iterations completed (for the title)."""
        if not self.enabled or epoch in self._drawn_epochs:
            return None
        self._drawn_epochs.add(epoch)
        if not is_main_process():
            return None
        from mmiivcl.analysis.nn_grid import (draw_nn_grid, label_match,
                                              queue_topk_videos,
                                              summarize_neighbours,
                                              write_png)
        model = self._model(runner)
        queue = getattr(model, self.queue)
        emb = self.query_embeddings(model)
        videos, sims = queue_topk_videos(
            emb, queue.feats.detach().float().cpu().numpy(),
            queue.indices.cpu().numpy(), self.topk, self.query_videos)
        q_labels = [self._label(v) for v in self.query_videos]
        q_frames = [self._frame(v) for v in self.query_videos]
        q_caps = [f'#{v} {self._name(lab)}'
                  for v, lab in zip(self.query_videos, q_labels)]
        nn_frames, nn_caps, nn_match = [], [], []
        for r, row in enumerate(videos):
            fr, cp, mt = [], [], []
            for v, s in zip(row.tolist(), sims[r].tolist()):
                if v < 0:
                    fr.append(None)
                    cp.append('(none)')
                    mt.append(None)
                    continue
                lab = self._label(v)
                fr.append(self._frame(v))
                cp.append(f'{s:.2f} {self._name(lab) or "#" + str(v)}')
                mt.append(label_match(q_labels[r], lab))
            nn_frames.append(fr)
            nn_caps.append(cp)
            nn_match.append(mt)
        fill = float((queue.indices >= 0).float().mean())
        it = runner.iter if iters_done is None else iters_done
        title = (f'epoch {epoch}, iter {it}: top-{self.topk} NNs in '
                 f'{self.queue} (fill {100 * fill:.0f}%)')
        img, layout = draw_nn_grid(q_frames, nn_frames, q_caps, nn_caps,
                                   nn_match, title, self.tile_size)
        folder = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, f'epoch_{epoch}.png')
        write_png(path, img)
        vis = getattr(runner, 'visualizer', None)
        if vis is not None:
            vis.add_image('nn_grid', img, step=epoch)
        agree = summarize_neighbours(videos, q_labels, self.labels)
        print_log(
            f'NNVisualizationHook: wrote {path}' +
            (f' (drawn NNs sharing the query class: '
             f'{100 * agree["topk_label_agree"]:.1f}%)' if agree else ''),
            logger='current')
        self.last = dict(epoch=epoch, path=path, image=img, layout=layout,
                         query_videos=list(self.query_videos),
                         nn_videos=videos, nn_sims=sims, **agree)
        return path
