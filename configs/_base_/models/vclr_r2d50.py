# VCLR with a ResNet-50 2D backbone (VCLR paper, Sec. 3 and Appendix A):
# four 2048-2048-128 projection heads (ReLU, L2-normalised, no BN), a linear
# order classifier on the 2 x K order embeddings, two banks of 131072 keys,
# tau = 0.1 (docs/design.md#vclr-details-the-paper-leaves-out). The momentum
# encoder (m = 0.999, constant) is
# updated by MomentumUpdateHook (see configs/vclr/r2d50_k400.py).
num_segments = 3
model = dict(
    type='VCLR',
    backbone=dict(type='ResNet', depth=50, pretrained=None, norm_eval=False),
    head_video=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                    out_channels=128, num_layers=2),
    head_inter=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                    out_channels=128, num_layers=2),
    head_intra=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                    out_channels=128, num_layers=2),
    head_order=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                    out_channels=128, num_layers=2),
    order_classifier=dict(type='OrderClassifier', embed_dim=128,
                          num_positions=2 * num_segments, num_classes=4),
    num_segments=num_segments,
    lambda_video=1.0,
    lambda_inter=1.0,
    lambda_intra=1.0,
    lambda_order=1.0,
    frame_queue_len=131072,
    video_queue_len=131072,
    feat_dim=128,
    temperature=0.1,
    exclude_same_video=False,
    shuffle_bn=True,
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
