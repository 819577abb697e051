# Zero-shot retrieval on UCF101 split 1 (IIVCL paper, Sec. 4.8 and Table 7): no
# training; every test video queries the train videos by cosine similarity of
# backbone features (global average pool of the R3D-50 slow pathway 8x8,
# averaged over 10 uniformly spaced clips, centre crop 224), R@1/5/10/20.
#   python tools/retrieval.py configs/retrieval/ucf101_r3d50.py CKPT
# (CKPT: a pretraining checkpoint or tools/export_backbone.py output; the load
# report is printed). Multi-GPU: tools/dist_test.sh with this config (the
# metric de-duplicates the distributed padding).
# Data layout (mmaction2's tools/data/ucf101 lists, "path label" per line):
#   data/ucf101/videos/<Class>/v_<Class>_gXX_cYY.avi
#   data/ucf101/ucf101_{train,val}_split_1_videos.txt
_base_ = [
    'mmaction::_base_/default_runtime.py',
    '../_base_/models/iivcl_r3d50.py',
]
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

data_root = 'data/ucf101/videos'
ann_file_gallery = 'data/ucf101/ucf101_train_split_1_videos.txt'
ann_file_query = 'data/ucf101/ucf101_val_split_1_videos.txt'
num_clips = 10  # clips averaged per video

# the pretraining backbone, without heads / queues / momentum encoder
model = dict(
    _delete_=True,
    type='VideoFeatureExtractor',
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.model.data_preprocessor}})

test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=8,
         num_clips=num_clips, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='TaggedConcatDataset',
        datasets=dict(
            train=dict(type='UnlabeledVideoDataset',
                       ann_file=ann_file_gallery,
                       data_prefix=dict(video=data_root),
                       pipeline=test_pipeline, test_mode=True),
            test=dict(type='UnlabeledVideoDataset',
                      ann_file=ann_file_query,
                      data_prefix=dict(video=data_root),
                      pipeline=test_pipeline, test_mode=True))))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10, 20))
test_cfg = dict(type='TestLoop')
# test-only: no schedule; mmaction2's runtime hooks only
custom_hooks = []
