"""Open a video with the decoder the dataset (or the config) chose.

Drop-in replacement of mmaction2's ``DecordInit`` in front of
:class:`DecordDecodeClips`: the same keys, plus the second backend. The
backend comes from ``results['video_backend']`` when the dataset set it
(:class:`~mmiivcl.datasets.UnlabeledVideoDataset` decides per file, with its
``fallback_backend`` for files decord cannot open), else from ``backend``.
"""
import io
import os.path as osp
from typing import Dict

from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from ..video_backends import BACKENDS, DecordReader, open_reader


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open one reader per sample with decord (default) or PyAV.

    Added keys: ``video_reader`` (a ``decord.VideoReader`` for decord, as
    ``DecordInit`` gives, or a :class:`~..video_backends.PyAVReader`),
    ``total_frames``, ``avg_fps``, ``video_backend``.

    Args:
        backend: ``'decord'`` or ``'pyav'``; the dataset's per-file choice
            (``results['video_backend']``) wins.
        num_threads: decoder threads (1 suits DataLoader workers).
    """

    #: the dataset may hand files to another backend through this transform
    opens_backends = True

    def __init__(self, backend: str = 'decord', num_threads: int = 1) -> None:
        if backend not in BACKENDS:
            raise ValueError(f'VideoInit.backend={backend!r}: choose one of '
                             f'{BACKENDS}')
        self.backend = backend
        self.num_threads = int(num_threads)

    def transform(self, results: Dict) -> Dict:
        """Open ``results['filename']``; see the class docstring."""
        backend = results.get('video_backend') or self.backend
        path = results['filename']
        src = path
        if backend == 'decord' and not osp.isfile(path) and '://' in path:
            from mmengine.fileio import get  # a non-disk backend
            src = io.BytesIO(get(path))
        reader = open_reader(src, backend, num_threads=self.num_threads)
        results['total_frames'] = len(reader)
        results['avg_fps'] = reader.get_avg_fps()
        results['video_backend'] = backend
        results['video_reader'] = reader.reader if isinstance(
            reader, DecordReader) else reader
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backend={self.backend!r}, '
                f'num_threads={self.num_threads})')
