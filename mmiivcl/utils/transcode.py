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
FFmpeg with libx264; no ffmpeg binary is needed).
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
        if not inp.streams.video:
            raise ValueError(f'{src}: no video stream')
        vin = inp.streams.video[0]
        vin.thread_type = 'AUTO'
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        decoded = inp.decode(vin)
        first = next(decoded, None)
        if first is None:
            raise ValueError(f'{src}: no frame decoded')
        # rotation metadata (display matrix) is baked into the pixels, as
        # decord shows the source, so the prepared frames look the same
        turns = int(round(getattr(first, 'rotation', 0) / 90.0)) % 4
        w0, h0 = first.width, first.height
        if turns % 2:
            w0, h0 = h0, w0
        w, h = capped_size(w0, h0, short_side)
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
            for frame in itertools.chain([first], decoded):
                if turns:
                    rgb = np.rot90(frame.to_ndarray(format='rgb24'), turns)
                    frame = av.VideoFrame.from_ndarray(
                        np.ascontiguousarray(rgb), format='rgb24')
                img = frame.reformat(width=w, height=h, format='yuv420p')
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


def prepare_one(src: str, dst: str, short_side: Optional[int] = 320,
                gop: int = 8, crf: int = 23, preset: str = 'veryfast'
                ) -> dict:
    """One job of ``tools/data/prepare_videos.py``: skip ``dst`` when it
    exists (complete, see :func:`transcode_video`), else transcode with one
    encoder thread. Returns :func:`transcode_video`'s dict, or ``skipped``
    with the sizes."""
    if osp.exists(dst):
        return dict(skipped=True, bytes=osp.getsize(dst),
                    src_bytes=osp.getsize(src) if osp.exists(src) else 0)
    return transcode_video(src, dst, short_side=short_side, gop=gop,
                           crf=crf, preset=preset, threads=1)
