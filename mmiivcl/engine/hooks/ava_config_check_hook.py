"""Fail fast on an inconsistent AVA detection config
(docs/design.md#ava-pitfalls)."""
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmiivcl.ava.checks import (AVAConfigError, ava_config_problems,
                                         split_specs_from_cfg)


@HOOKS.register_module()
class AVAConfigCheckHook(Hook):
    """Run :func:`mmiivcl.ava.checks.ava_config_problems` on the
    runner's config before training, validation or testing starts.

    A head / dataset / ``AVAMetric`` disagreement on ``num_classes`` or
    ``custom_classes`` does not crash mmaction2: the loss falls and the mAP is
    0. This hook raises :class:`~mmiivcl.ava.checks.AVAConfigError`
    instead, naming every problem and its fix, and logs the class bookkeeping.
    It does not read the annotation or frame files (``tools/check_ava.py``
    does).

    Args:
        strict (bool): raise on errors (default). ``False`` only logs them.
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict

    def before_run(self, runner) -> None:
        cfg = runner.cfg
        problems = ava_config_problems(cfg)
        for p in problems:
            print_log(str(p), logger='current',
                      level=30 if p.level == 'warning' else 40)
        errors = [p for p in problems if p.level == 'error']
        if errors and self.strict:
            raise AVAConfigError(errors)
        head = cfg.model.roi_head.bbox_head
        for spec in split_specs_from_cfg(cfg):
            cc = spec.custom_classes
            print_log(
                f'AVA {spec.split}: head num_classes={head.num_classes} '
                f'(background + {head.num_classes - 1}), '
                f'custom_classes={"None" if cc is None else len(cc)}, '
                f'label_file={spec.label_file}, '
                f'proposals={spec.proposal_file}', logger='current')
