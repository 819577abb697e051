# Finetune the single-scene demo's IIVCL backbone
# (configs/demo/iivcl_r3d18_demo_1scene.py) on its data, data/demo_1scene;
# the schedule of finetune_r3d18_demo.py (5 epochs = 75 iterations, lr 0.01).
#   python tools/run_demo.py --config configs/demo/iivcl_r3d18_demo_1scene.py
#   python tools/compare_finetune.py   # learned backbone vs random init
_base_ = ['./finetune_r3d18_demo.py']
data_root = 'data/demo_1scene'
train_dataloader = dict(
    dataset=dict(ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos')))
test_dataloader = dict(
    dataset=dict(ann_file=f'{data_root}/query_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos')))
