"""What the sidebar's system panel shows: device, GPU memory, RAM."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil
import torch

from core.render.memory import GIB



@dataclass(frozen=True)
class SystemSnapshot:
    device: str
    gpu_name: str | None
    gpu_free_gib: float | None
    gpu_total_gib: float | None
    process_ram_gib: float
    system_ram_used_gib: float
    system_ram_total_gib: float


def snapshot(device: str) -> SystemSnapshot:
    gpu_name = gpu_free = gpu_total = None
    if device == "cuda" and torch.cuda.is_available():
        gpu_name = torch.cuda.get_device_name(0)
        free, total = torch.cuda.mem_get_info(0)
        gpu_free, gpu_total = free / GIB, total / GIB
    memory = psutil.virtual_memory()
    return SystemSnapshot(
        device=device,
        gpu_name=gpu_name,
        gpu_free_gib=gpu_free,
        gpu_total_gib=gpu_total,
        process_ram_gib=psutil.Process(os.getpid()).memory_info().rss / GIB,
        system_ram_used_gib=(memory.total - memory.available) / GIB,
        system_ram_total_gib=memory.total / GIB,
    )
