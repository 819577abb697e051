# IIVCL with the R3D-50 slow pathway 8x8 (IIVCL paper, Sec. 3.3.2).
model = dict(
    type='IIVCL',
    backbone=dict(
        type='ResNet3dSlowOnly',
        depth=50,
        pretrained=None,
        lateral=False,
        conv1_kernel=(1, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
        norm_eval=False),
    head_intra=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                    out_channels=128, num_layers=3),
    head_nn=dict(type='ProjectionMLP', in_channels=2048, hid_channels=2048,
                 out_channels=128, num_layers=3),
    lambda_intra=1.0,
    lambda_nn=1.0,
    queue_len=65536,
    feat_dim=128,
    temperature=0.1,
    shuffle_bn=True,
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
