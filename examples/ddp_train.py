"""Data-parallel training of an MTCLayer network with DistributedDataParallel.

    torchrun --nproc_per_node=2 examples/ddp_train.py                  # CPU, gloo
    torchrun --nproc_per_node=8 examples/ddp_train.py --device cuda    # one GPU per process, NCCL
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \
        examples/ddp_train.py --device cuda                            # several nodes

Each process trains on its shard of the batch; DDP averages the gradients (the fused
backward's parameter gradients are deterministic, so every rank computes bitwise the same
update). ``tests/test_training_stack.py::test_ddp_gloo_matches_full_batch`` checks that the
gradients equal the single-process full-batch ones.
"""
import argparse
import os
import time

import torch
import torch.distributed as dist

from mtc_kernels import MTCLayer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--T", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16, help="global batch, split over the processes")
    a = ap.parse_args()
    dist.init_process_group("nccl" if a.device == "cuda" else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if a.device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world))))
    torch.manual_seed(0)  # the same initial model on every rank (DDP also broadcasts rank 0's)
    model = torch.nn.Sequential(MTCLayer(8, 128, preset="tonic", jitter=0.1), torch.nn.Linear(128, 1)).to(device)
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if a.device == "cuda" else None)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(1)  # the same global batch everywhere; each rank takes its shard
    t = torch.arange(a.T, dtype=torch.float32)
    phase = torch.rand(a.batch, generator=g) * 6.28
    target = torch.sin(t[:, None] / 80.0 + phase)[..., None]  # [T, batch, 1]
    inp = torch.cat([target, 0.3 * torch.randn(a.T, a.batch, 7, generator=g)], -1)
    shard = slice(rank * a.batch // world, (rank + 1) * a.batch // world)
    inp, target = inp[:, shard].to(device), target[:, shard].to(device)
    t0 = time.perf_counter()
    for step in range(a.steps):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(ddp(inp), target)
        loss.backward()
        opt.step()
        if rank == 0 and (step % 5 == 0 or step == a.steps - 1):
            print(f"step {step:3d} loss {loss.item():.4f}")
    if rank == 0:
        print(f"{world} processes, {(time.perf_counter() - t0) / a.steps * 1e3:.0f} ms per step")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
