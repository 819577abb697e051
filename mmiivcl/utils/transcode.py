"""Re-encode a video for fast random clip access (data preparation).

The decode cost of a training sample is set by what is stored: H.264 must
decode every frame from the preceding key frame to the last frame a clip
needs, at the stored resolution. :func:`transcode_video` rewrites a video
the way large-scale video training prepares its data: the short side capped
(never enlarged), a short key-frame interval (``gop``; 1 = all-intra), the
audio and other streams dropped, every decoded frame kept (frame indices,
and so the clips a sampler draws, keep their meaning), and rotation
metadata applied to the pixels (decord shows the source rotated).

Encoder: FFmpeg's libx264 through PyAV (``pip install av``: the wheels bundle
FFmpeg with libx264; no ffmpeg binary is needed). :func:`extract_frames`
writes JPEG frame folders instead (decoded with PyAV, encoded by OpenCV).
"""
import itertools
import os
import os.path as osp
import time
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np


def capped_size(width: int, height: int, short_side: Optional[int]
                ) -> Tuple[int, int]:
    """(width, height) with the short side at most ``short_side``.

    Never enlarges: the aspect ratio is kept and both sides are rounded
    *down* to even numbers (4:2:0 chroma needs them). ``None``: the source
    size (made even).
    """
    def even(x: float) -> int:
        return max(2, int(x) // 2 * 2)

    short = min(width, height)
    if short_side is None or short <= short_side:
        return even(width), even(height)
    scale = short_side / short
    if width <= height:
        return even(short_side), even(height * scale + 0.5)
    return even(width * scale + 0.5), even(short_side)



def _source(inp, src: str, short_side: Optional[int]):
    """Open the first video stream of the PyAV container ``inp``.

    Returns ``(rate, turns, (w0, h0), (w, h), frames)``: the frame rate,
    the quarter turns of the rotation metadata (baked into the pixels by
    :func:`_upright`, as decord shows the source), the upright source size,
    the output size (:func:`capped_size`) and an iterator over all decoded
    frames (the first one included).
    """
    if not inp.streams.video:
        raise ValueError(f'{src}: no video stream')
    vin = inp.streams.video[0]
    vin.thread_type = 'AUTO'
    rate = vin.average_rate or vin.guessed_rate or Fraction(25)
    decoded = inp.decode(vin)
    first = next(decoded, None)
    if first is None:
        raise ValueError(f'{src}: no frame decoded')
    turns = int(round(getattr(first, 'rotation', 0) / 90.0)) % 4
    w0, h0 = first.width, first.height
    if turns % 2:
        w0, h0 = h0, w0
    return (rate, turns, (w0, h0), capped_size(w0, h0, short_side),
            itertools.chain([first], decoded))


def _upright(frame, turns: int):
    """``frame`` with ``turns`` quarter turns applied (a new frame)."""
    if not turns:
        return frame
    import av
    rgb = np.rot90(frame.to_ndarray(format='rgb24'), turns)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb),
                                      format='rgb24')


def transcode_video(src: str, dst: str, short_side: Optional[int] = 320,
                    gop: int = 8, crf: int = 23, preset: str = 'veryfast',
                    threads: int = 1) -> dict:
    """Re-encode ``src`` into ``dst`` (H.264, yuv420p, video stream only).

    Written to ``dst + '.part'`` and renamed when complete, so ``dst``
    existing means it is whole (a resumed run skips it).

    Args:
        src (str): input video (any container / codec FFmpeg decodes).
        dst (str): output path; its extension picks the container
            (``.mp4``, ``.mkv``, ``.mov``).
        short_side (int, optional): cap on the short side; ``None`` keeps
            the size. Never enlarges.
        gop (int): key-frame interval in frames (1: all-intra, every frame
            a key frame). No B-frames, so decoding frame i needs at most the
            ``gop`` frames from the last key frame.
        crf (int): libx264 constant rate factor (quality; 23 is x264's
            default, lower = better and larger).
        preset (str): libx264 speed preset.
        threads (int): encoder threads (1 per worker process of a pool).

    Returns:
        dict: ``frames``, ``src_size`` / ``size`` ((w, h), as displayed),
        ``rotation`` (quarter turns baked in), ``src_bytes``, ``bytes``,
        ``seconds``.

    Raises:
        ValueError: ``src`` has no video stream or no decodable frame.
        av.error.FFmpegError: FFmpeg cannot read ``src``.
    """
    import av
    if gop < 1:
        raise ValueError(f'gop must be >= 1, got {gop}')
    t0 = time.perf_counter()
    part = dst + '.part'
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    ext = osp.splitext(dst)[1].lower().lstrip('.') or 'mp4'
    fmt = {'mkv': 'matroska', 'mov': 'mov'}.get(ext, 'mp4')
    frames = 0
    with av.open(src) as inp:
        rate, turns, (w0, h0), (w, h), decoded = _source(inp, src,
                                                         short_side)
        with av.open(part, mode='w', format=fmt) as out:
            vout = out.add_stream('libx264', rate=Fraction(rate))
            vout.width, vout.height, vout.pix_fmt = w, h, 'yuv420p'
            vout.codec_context.gop_size = gop
            vout.codec_context.max_b_frames = 0
            vout.thread_count = max(1, int(threads))
            vout.options = {
                'crf': str(crf), 'preset': preset,
                # fixed key-frame cadence: no scene-cut key frames in between
                'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0'}
            vout.codec_context.time_base = 1 / Fraction(rate)
            for frame in decoded:
                img = _upright(frame, turns).reformat(
                    width=w, height=h, format='yuv420p')
                img.pts = frames  # one tick per frame: every frame kept
                img.time_base = vout.codec_context.time_base
                for pkt in vout.encode(img):
                    out.mux(pkt)
                frames += 1
            for pkt in vout.encode(None):
                out.mux(pkt)
    os.replace(part, dst)
    return dict(frames=frames, src_size=(w0, h0), size=(w, h),
                rotation=turns,
                src_bytes=osp.getsize(src), bytes=osp.getsize(dst),
                seconds=time.perf_counter() - t0)


def extract_frames(src: str, dst: str, short_side: Optional[int] = 320,
                   quality: int = 90) -> dict:
    """Decode ``src`` into a folder of JPEG frames (mmaction2's rawframes).

    Frame ``i`` (in decode order, every frame kept) becomes
    ``dst/img_{i + 1:05d}.jpg`` at the size :func:`capped_size` gives
    (never enlarged, rotation baked in), encoded by OpenCV (libjpeg-turbo)
    at ``quality``; ``dst/frames.json`` records the frame count, fps and
    size, read by the ``'frames'`` reader
    (:class:`~mmiivcl.datasets.video_backends.FrameFolderReader`). Written
    into ``dst + '.part'`` and renamed when complete, so ``dst`` existing
    means it is whole.

    Why: a JPEG frame decodes on its own in well under a millisecond at
    340x256, several times faster than an H.264 frame even when every H.264
    frame is a key frame (benchmarks/RESULTS.md), at about 10x the bytes of
    the Kinetics originals.

    Returns:
        dict as :func:`transcode_video` (``bytes``: the folder's total).
    """
    import json
    import shutil

    import av
    import cv2
    from mmiivcl.datasets.video_backends import FRAME_TMPL, FRAMES_META
    if not 1 <= int(quality) <= 100:
        raise ValueError(f'quality must be in [1, 100], got {quality}')
    t0 = time.perf_counter()
    part = dst + '.part'
    if osp.isdir(part):  # an interrupted earlier attempt
        shutil.rmtree(part)
    os.makedirs(part)
    frames, total = 0, 0
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    with av.open(src) as inp:
        rate, turns, (w0, h0), (w, h), decoded = _source(inp, src,
                                                         short_side)
        for frame in decoded:
            rgb = _upright(frame, turns).to_ndarray(
                width=w, height=h, format='rgb24')
            ok, buf = cv2.imencode('.jpg', cv2.cvtColor(
                rgb, cv2.COLOR_RGB2BGR), params)
            if not ok:
                raise RuntimeError(f'{src}: JPEG encoding of frame {frames} '
                                   'failed')
            buf.tofile(osp.join(part, FRAME_TMPL.format(frames + 1)))
            total += buf.size
            frames += 1
    with open(osp.join(part, FRAMES_META), 'w', encoding='utf-8') as f:
        json.dump(dict(frames=frames, fps=float(rate), size=[w, h],
                       quality=int(quality), source=osp.basename(src)), f)
    if osp.isdir(dst):
        shutil.rmtree(dst)
    os.replace(part, dst)
    return dict(frames=frames, src_size=(w0, h0), size=(w, h),
                rotation=turns, src_bytes=osp.getsize(src), bytes=total,
                seconds=time.perf_counter() - t0)


def _folder_bytes(path: str) -> int:
    return sum(e.stat().st_size for e in os.scandir(path) if e.is_file())


def prepare_one(src: str, dst: str, short_side: Optional[int] = 320,
                gop: int = 8, crf: int = 23, preset: str = 'veryfast',
                frames_quality: Optional[int] = None) -> dict:
    """One job of ``tools/data/prepare_videos.py``: skip ``dst`` when it
    exists (complete, see :func:`transcode_video`), else transcode with one
    encoder thread, or, with ``frames_quality``, extract JPEG frames
    (:func:`extract_frames`; ``gop``, ``crf`` and ``preset`` unused).
    Returns that function's dict, or ``skipped`` with the sizes."""
    if osp.exists(dst):
        size = _folder_bytes(dst) if osp.isdir(dst) else osp.getsize(dst)
        return dict(skipped=True, bytes=size,
                    src_bytes=osp.getsize(src) if osp.exists(src) else 0)
    if frames_quality is not None:
        return extract_frames(src, dst, short_side=short_side,
                              quality=frames_quality)
    return transcode_video(src, dst, short_side=short_side, gop=gop,
                           crf=crf, preset=preset, threads=1)
