# The demo recipe (iivcl_r3d18_demo.py) on the single-scene variant of the
# demo data: every video is filmed in the same scene (one shared look:
# background, distractors, the object's shape and colours), each with its
# own camera, placement, size and motion parameters. This is the pretraining
# of the transfer demo (docs/transfer.md, "Demo: does the learned backbone
# help?"): with 8 scenes the learned features group by scene and do not
# help a classifier; with one they do.
#   python tools/run_demo.py --config configs/demo/iivcl_r3d18_demo_1scene.py
#   python tools/compare_finetune.py
_base_ = ['./iivcl_r3d18_demo.py']
data_root = 'data/demo_1scene'
# tools/run_demo.py generates the set with these generator arguments
demo_data = dict(looks=1)
train_dataloader = dict(
    dataset=dict(ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos')))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d18_demo_1scene'
