# Zero-shot retrieval on HMDB51 split 1 with a 2D backbone (VCLR, ResNet-50),
# frames averaged (see ucf101_r2d50_vclr.py).
#   python tools/retrieval.py configs/retrieval/hmdb51_r2d50_vclr.py CKPT
_base_ = './ucf101_r2d50_vclr.py'
data_root = 'data/hmdb51/videos'
test_dataloader = dict(
    dataset=dict(
        datasets=dict(
            train=dict(ann_file='data/hmdb51/hmdb51_train_split_1_videos.txt',
                       data_prefix=dict(video=data_root)),
            test=dict(ann_file='data/hmdb51/hmdb51_val_split_1_videos.txt',
                      data_prefix=dict(video=data_root)))))
