# Zero-shot retrieval on HMDB51 split 1 (same protocol as ucf101_r3d50.py).
#   python tools/retrieval.py configs/retrieval/hmdb51_r3d50.py CKPT
# Data layout (mmaction2's tools/data/hmdb51 lists, "path label" per line):
#   data/hmdb51/videos/<class>/<name>.avi
#   data/hmdb51/hmdb51_{train,val}_split_1_videos.txt
_base_ = './ucf101_r3d50.py'
data_root = 'data/hmdb51/videos'
test_dataloader = dict(
    dataset=dict(
        datasets=dict(
            train=dict(ann_file='data/hmdb51/hmdb51_train_split_1_videos.txt',
                       data_prefix=dict(video=data_root)),
            test=dict(ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt',
                      data_prefix=dict(video=data_root)))))
