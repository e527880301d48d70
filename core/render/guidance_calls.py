"""The seam both ways of running guidance plug into: a stand-in for `transformer.forward`.

QwenImagePipeline calls its transformer twice a denoising step, the prompt first, then the
negative prompt, and combines the two predictions itself. Replacing `transformer.forward` for
the length of one pipeline call lets the studio answer both calls from one piece of work
while the pipeline's own combination code stays untouched:
- core/render/guidance.py, BatchedGuidance: one batch-of-2 forward on one GPU;
- core/render/parallel.py, CfgSplit: one forward per GPU of a process group.
"""

from __future__ import annotations

import torch


class GuidanceCalls:
    """A context manager that stands in for `transformer.forward` (diffusers' offloading
    hooks included) and puts the original back on exit. A subclass's `__call__` answers the
    prompt's call and keeps the negative's answer in `pending` for the second call."""

    def __init__(self, transformer):
        self.transformer = transformer
        self.pending: torch.Tensor | None = None
        self.forward = None

    def __enter__(self):
        self.forward = self.transformer.forward
        self.transformer.forward = self
        return self

    def __exit__(self, *exc):
        self.transformer.forward = self.forward
        self.pending = None
