from .few_shot_sampler import FewShotSampler, few_shot_subset  # noqa: F401

__all__ = ['FewShotSampler', 'few_shot_subset']
