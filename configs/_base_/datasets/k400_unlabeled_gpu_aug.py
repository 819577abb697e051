# k400_unlabeled.py with ClipAugment's photometric ops moved to the GPU: the
# DataLoader workers decode, resize, crop and flip; colour jitter, grayscale
# and blur (the same parameters, drawn in the worker) are applied to the batch
# by the model's ClipAugmentPreprocessor (set it as model.data_preprocessor,
# as configs/iivcl/r3d50_k400_gpu_aug.py does). The CPU cost per sample drops
# to decode + geometry (benchmarks/RESULTS.md, docs/cost_model.md).
_base_ = ['./k400_unlabeled.py']

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8,
         num_clips={{_base_.num_clips}}),
    dict(type='DecordDecodeClips', short_side=320),
    dict(type='ClipAugment', scale=(256, 320), crop_size=224,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.2,
         defer_photometric=True),
    dict(type='FormatShape', input_format='NCTHW'),
    # the deferred ops' parameters travel with the sample
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_aug_params')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
