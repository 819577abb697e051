"""Named datasets concatenated for one evaluation: the train/gallery and the
val/query videos of a retrieval or kNN evaluation.

mmengine evaluations see a single dataloader, while
:class:`~mmiivcl.retrieval.VideoRetrievalMetric` (queries vs gallery) and
:class:`~mmiivcl.evaluation.KNNMetric` (val vs train bank) need to know which
split every sample belongs to. :class:`TaggedConcatDataset` concatenates named
datasets and stamps the name into each packed sample's metainfo (key
``subset`` by default); ``sample_idx`` stays the index inside its own dataset,
so a sample is identified by ``(subset, sample_idx)`` (the metrics
de-duplicate distributed padding by that pair).
"""
import bisect
from typing import Dict, List, Union

from mmengine.dataset import BaseDataset
from torch.utils.data import Dataset

from mmaction.registry import DATASETS


@DATASETS.register_module()
class TaggedConcatDataset(Dataset):
    """Concatenation of named datasets, tagging every sample with its name.

    Args:
        datasets (dict[str, dict | Dataset]): name -> dataset (or its
            config), in evaluation order, e.g.
            ``dict(train=dict(type='UnlabeledVideoDataset', ...),
            val=dict(...))``.
        tag_key (str): metainfo key receiving the name (``'subset'``).
        lazy_init (bool): defer the sub-datasets' ``full_init``.

    Samples are the sub-datasets' pipeline outputs (``inputs``,
    ``data_samples``) with ``data_samples.metainfo[tag_key] = name``.
    ``metainfo`` is the first dataset's.
    """

    def __init__(self,
                 datasets: Dict[str, Union[dict, Dataset]],
                 tag_key: str = 'subset',
                 lazy_init: bool = False) -> None:
        if not isinstance(datasets, dict) or not datasets:
            raise TypeError('TaggedConcatDataset: datasets must be a non-empty'
                            ' dict name -> dataset config')
        self.names: List[str] = [str(k) for k in datasets]
        self.datasets: List[Dataset] = [
            DATASETS.build(d) if isinstance(d, dict) else d
            for d in datasets.values()
        ]
        self.tag_key = tag_key
        self._fully_initialized = False
        self._cumulative: List[int] = []
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.datasets[0], 'metainfo', {}) or {})

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        total = 0
        self._cumulative = []
        for d in self.datasets:
            if isinstance(d, BaseDataset) or hasattr(d, 'full_init'):
                d.full_init()
            total += len(d)
            self._cumulative.append(total)
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return self._cumulative[-1] if self._cumulative else 0

    def locate(self, idx: int):
        """``(dataset position, index inside it)`` of a global index."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range (size {len(self)})')
        pos = bisect.bisect_right(self._cumulative, idx)
        start = self._cumulative[pos - 1] if pos else 0
        return pos, idx - start

    def get_data_info(self, idx: int) -> dict:
        pos, local = self.locate(idx)
        info = self.datasets[pos].get_data_info(local)
        info[self.tag_key] = self.names[pos]
        return info

    def __getitem__(self, idx: int) -> dict:
        pos, local = self.locate(idx)
        data = self.datasets[pos][local]
        sample = data.get('data_samples', None) if isinstance(data,
                                                              dict) else None
        if sample is None:
            raise TypeError('TaggedConcatDataset expects packed samples '
                            '(end the pipeline with PackActionInputs)')
        sample.set_metainfo({self.tag_key: self.names[pos]})
        return data
