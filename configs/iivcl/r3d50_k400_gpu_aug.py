# r3d50_k400.py with the photometric augmentation on the GPU (the same
# recipe and random parameters; the workers only decode and crop), for
# machines with few CPU cores per GPU:
#   tools/dist_train.sh configs/iivcl/r3d50_k400_gpu_aug.py 8
_base_ = [
    '../_base_/models/iivcl_r3d50.py',
    '../_base_/datasets/k400_unlabeled_gpu_aug.py',
    '../_base_/schedules/sgd_warmup_cosine_200e.py',
    '../_base_/default_runtime.py',
]
model = dict(data_preprocessor=dict(type='ClipAugmentPreprocessor'))
work_dir = './work_dirs/iivcl_r3d50_k400_gpu_aug'
