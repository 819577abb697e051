"""Nearest neighbours of query videos in a feature queue, drawn as a grid.

Pure helpers of :class:`~mmiivcl.engine.hooks.NNVisualizationHook` (IIVCL
paper,
Fig. 3b): the k most similar *distinct videos* among the queue rows, the
middle frame of a video, and the picture: one row per query, the query's frame
in column 0 and its neighbours, most similar first, in columns 1..k. Each
tile has a caption band above it (video index, class, similarity) and a
coloured frame around it: green when the neighbour shares the query's label,
red when it does not, grey when a label is unknown (and for the query).
Images are RGB uint8 arrays (H, W, 3).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

GREEN = (40, 170, 60)
RED = (210, 50, 40)
GREY = (150, 150, 150)
BLUE = (60, 110, 220)
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


def queue_topk_videos(query_emb: np.ndarray,
                      queue_feats: np.ndarray,
                      queue_indices: np.ndarray,
                      k: int,
                      query_videos: Optional[Sequence[int]] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """The k most similar distinct videos of each query in a queue.

    A video's similarity is the largest dot product over its queue rows
    (embeddings are L2-normalised: cosine). Rows never written (index < 0)
    and rows of the query's own video are skipped. Order: (-similarity,
    video index), deterministic.

    Args:
        query_emb: (Q, D) query embeddings.
        queue_feats: (K, D) queue keys.
        queue_indices: (K,) video index of each row, -1 = never written.
        k: neighbours per query.
        query_videos: (Q,) video index of each query (its rows are excluded),
            or None.

    Returns:
        videos (Q, k) int64 (-1 where fewer than k videos exist) and
        similarities (Q, k) float64 (NaN there).
    """
    q = np.asarray(query_emb, dtype=np.float64)
    f = np.asarray(queue_feats, dtype=np.float64)
    ind = np.asarray(queue_indices, dtype=np.int64).reshape(-1)
    if q.ndim != 2 or f.ndim != 2 or q.shape[1] != f.shape[1]:
        raise ValueError(f'embeddings (Q, D) and queue (K, D) expected, got '
                         f'{q.shape} and {f.shape}')
    if len(ind) != len(f):
        raise ValueError(f'{len(ind)} queue indices for {len(f)} rows')
    sims = np.round(q @ f.T, 10)  # exact ties for equal keys
    videos = np.full((len(q), k), -1, dtype=np.int64)
    out_sims = np.full((len(q), k), np.nan)
    valid = ind >= 0
    for i in range(len(q)):
        ok = valid.copy()
        if query_videos is not None:
            ok &= ind != int(query_videos[i])
        rows = np.flatnonzero(ok)
        if rows.size == 0:
            continue
        s, v = sims[i, rows], ind[rows]
        order = np.lexsort((v, -s))  # by -sim, then video index
        vs, ss = v[order], s[order]
        _, first = np.unique(vs, return_index=True)  # best row per video
        first = np.sort(first)[:k]
        videos[i, :len(first)] = vs[first]
        out_sims[i, :len(first)] = ss[first]
    return videos, out_sims


def read_middle_frame(path: str, max_side: int = 256) -> Optional[np.ndarray]:
    """The middle frame of a video as RGB uint8 (H, W, 3), downscaled so
    that its longer side is at most ``max_side``; ``None`` if it cannot be
    decoded."""
    try:
        import decord
        reader = decord.VideoReader(path, num_threads=1)
        n = len(reader)
        if n == 0:
            return None
        frame = reader[n // 2].asnumpy()
        del reader
    except Exception:  # noqa: BLE001 - a picture must not stop training
        return None
    h, w = frame.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1:
        frame = cv2.resize(frame, (max(1, round(w * scale)),
                                   max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame)


def fit_tile(frame: Optional[np.ndarray], size: Tuple[int, int]) -> np.ndarray:
    """Centre-crop ``frame`` to the tile's aspect ratio and resize it to
    ``size = (h, w)``; a missing frame becomes a mid-grey tile."""
    th, tw = size
    if frame is None:
        return np.full((th, tw, 3), 128, dtype=np.uint8)
    h, w = frame.shape[:2]
    if h * tw > w * th:  # too tall
        ch = max(1, round(w * th / tw))
        y0 = (h - ch) // 2
        frame = frame[y0:y0 + ch]
    else:
        cw = max(1, round(h * tw / th))
        x0 = (w - cw) // 2
        frame = frame[:, x0:x0 + cw]
    interp = cv2.INTER_AREA if frame.shape[0] >= th else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(frame), (tw, th),
                      interpolation=interp)


@dataclass
class GridLayout:
    """Geometry of the NN grid (pixels).

    Cell (row, col) = caption band of ``caption_h`` over a tile of
    ``tile_h`` x ``tile_w`` surrounded by a ``border``-wide frame; cells are
    ``pad`` apart; a ``header_h`` title band sits on top; column 0 (the
    query) is followed by an extra ``gap``.
    """
    rows: int
    cols: int
    tile_h: int = 96
    tile_w: int = 96
    border: int = 3
    pad: int = 4
    caption_h: int = 14
    header_h: int = 20
    gap: int = 10

    @property
    def cell_h(self) -> int:
        return self.caption_h + self.tile_h + 2 * self.border

    @property
    def cell_w(self) -> int:
        return self.tile_w + 2 * self.border

    @property
    def height(self) -> int:
        return self.header_h + self.pad + self.rows * (self.cell_h +
                                                       self.pad)

    @property
    def width(self) -> int:
        return self.pad + self.cols * (self.cell_w + self.pad) + self.gap

    def cell_origin(self, row: int, col: int) -> Tuple[int, int]:
        y = self.header_h + self.pad + row * (self.cell_h + self.pad)
        x = self.pad + col * (self.cell_w + self.pad) + (self.gap if col
                                                         else 0)
        return y, x

    def tile_box(self, row: int, col: int) -> Tuple[int, int, int, int]:
        """``(y0, x0, y1, x1)`` of the image area of cell (row, col)."""
        y, x = self.cell_origin(row, col)
        y0 = y + self.caption_h + self.border
        x0 = x + self.border
        return y0, x0, y0 + self.tile_h, x0 + self.tile_w


def _put_text(img: np.ndarray, text: str, org: Tuple[int, int],
              max_w: int, scale: float = 0.33) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    while text and cv2.getTextSize(text, font, scale, 1)[0][0] > max_w:
        text = text[:-1]
    cv2.putText(img, text, org, font, scale, TEXT, 1, cv2.LINE_AA)


def draw_nn_grid(query_frames: Sequence[Optional[np.ndarray]],
                 nn_frames: Sequence[Sequence[Optional[np.ndarray]]],
                 query_captions: Sequence[str],
                 nn_captions: Sequence[Sequence[str]],
                 nn_match: Sequence[Sequence[Optional[bool]]],
                 title: str = '',
                 tile_size: Tuple[int, int] = (96, 96)
                 ) -> Tuple[np.ndarray, GridLayout]:
    """Draw the query / neighbour grid.

    Args:
        query_frames: Q frames (RGB uint8) or None (grey tile).
        nn_frames: Q rows of k frames (None = missing / no neighbour).
        query_captions / nn_captions: text above each tile.
        nn_match: Q x k: True (same label, green frame), False (red), None
            (unknown, grey).
        title: header text.
        tile_size: (h, w) of each tile.

    Returns:
        (image (H, W, 3) RGB uint8, layout); ``layout.tile_box(r, c)`` gives
        where each frame was drawn (column 0 = query).
    """
    rows = len(query_frames)
    k = max((len(r) for r in nn_frames), default=0)
    layout = GridLayout(rows=rows, cols=1 + k, tile_h=tile_size[0],
                        tile_w=tile_size[1])
    img = np.full((layout.height, layout.width, 3), BACKGROUND, np.uint8)
    if title:
        _put_text(img, title, (layout.pad, layout.header_h - 6),
                  layout.width - 2 * layout.pad, scale=0.45)
    for r in range(rows):
        cells: List[Tuple[int, Optional[np.ndarray], str, tuple]] = [
            (0, query_frames[r], query_captions[r], BLUE)]
        for c in range(k):
            frame = nn_frames[r][c] if c < len(nn_frames[r]) else None
            cap = nn_captions[r][c] if c < len(nn_captions[r]) else ''
            m = nn_match[r][c] if c < len(nn_match[r]) else None
            color = GREY if m is None else (GREEN if m else RED)
            cells.append((c + 1, frame, cap, color))
        for col, frame, cap, color in cells:
            y, x = layout.cell_origin(r, col)
            y0, x0, y1, x1 = layout.tile_box(r, col)
            b = layout.border
            img[y0 - b:y1 + b, x0 - b:x1 + b] = color
            img[y0:y1, x0:x1] = fit_tile(frame, tile_size)
            _put_text(img, cap, (x, y + layout.caption_h - 4),
                      layout.cell_w)
    return img, layout


def stack_images(images: Sequence[np.ndarray], captions: Sequence[str] = (),
                 pad: int = 8) -> np.ndarray:
    """Stack RGB images vertically (left-aligned, white background), each
    preceded by an optional caption line: the Fig. 3b sequence."""
    if not images:
        raise ValueError('no images to stack')
    cap_h = 22 if captions else 0
    width = max(im.shape[1] for im in images) + 2 * pad
    height = sum(im.shape[0] + cap_h + pad for im in images) + pad
    out = np.full((height, width, 3), BACKGROUND, np.uint8)
    y = pad
    for i, im in enumerate(images):
        if captions:
            _put_text(out, captions[i] if i < len(captions) else '',
                      (pad, y + cap_h - 6), width - 2 * pad, scale=0.55)
            y += cap_h
        out[y:y + im.shape[0], pad:pad + im.shape[1]] = im
        y += im.shape[0] + pad
    return out


def label_match(a: int, b: int) -> Optional[bool]:
    """Same label (True / False), or None when either is unknown (< 0)."""
    if a is None or b is None or a < 0 or b < 0:
        return None
    return a == b


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB image as PNG (cv2 writes BGR)."""
    if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write {path}')


def summarize_neighbours(videos: np.ndarray, query_labels: Sequence[int],
                         labels: Optional[np.ndarray]) -> Dict[str, float]:
    """Fraction of drawn neighbours sharing their query's label (labelled
    pairs only); empty without labels."""
    if labels is None:
        return {}
    hits, n = 0, 0
    for r, row in enumerate(videos):
        for v in row:
            if v < 0 or v >= len(labels):
                continue
            m = label_match(int(query_labels[r]), int(labels[v]))
            if m is not None:
                n += 1
                hits += int(m)
    return {'topk_label_agree': hits / n} if n else {}
