"""Imported by the exact-resume test's config (``custom_imports``): records,
after every training iteration, every output of the step at full precision,
the momentum of ``MomentumUpdateHook``, the learning rate and a checksum of
the batch (to tell a data difference from a model difference)."""
import json
import os.path as osp

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class ResumeProbeHook(Hook):
    priority = 'LOWEST'  # after MomentumUpdateHook has set the momentum

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        mom = [h.momentum for h in runner.hooks
               if type(h).__name__ == 'MomentumUpdateHook']
        rec = dict(
            iter=runner.iter, epoch=runner.epoch,
            outputs={k: float(v) for k, v in (outputs or {}).items()},
            momentum=mom[0] if mom else None,
            lr=runner.optim_wrapper.get_lr()['lr'][0],
            sample_idx=[int(s.metainfo['sample_idx'])
                        for s in data_batch['data_samples']],
            input_sums=[int(x.to(torch.int64).sum())
                        for x in data_batch['inputs']])
        with open(osp.join(runner.work_dir, 'probe.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')
