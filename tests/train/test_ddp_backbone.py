"""A features_only backbone trains under DistributedDataParallel as DDP expects by default."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import convzoo


def _two_steps(rank: int, world_size: int, init_file: str, results: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        torch.set_num_threads(1)
        torch.manual_seed(0)  # identical initial weights on both ranks
        backbone = convzoo.create_model("densenet_bc100", features_only=True)
        ddp = DistributedDataParallel(backbone)  # default: find_unused_parameters=False
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
        torch.manual_seed(1 + rank)  # each rank its own data
        for _ in range(2):  # an unused parameter makes DDP raise at the second forward
            maps = ddp(torch.randn(2, 3, 16, 16))
            loss = sum(m.square().mean() for m in maps)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        flat = torch.cat([p.detach().flatten() for p in backbone.parameters()])
        gathered = [torch.empty_like(flat) for _ in range(world_size)]
        dist.all_gather(gathered, flat)
        if rank == 0:
            torch.save(gathered, results)
        del ddp, optimizer  # the reducer's pending work holds tensors gloo's threads release
        dist.barrier()  # leave together: a rank tearing gloo down alone aborts the other
    finally:
        dist.destroy_process_group()
    # A finished worker skips interpreter finalization: a gloo thread that drops a tensor
    # while the interpreter is torn down aborts the process (pytorch/pytorch#179291).
    os._exit(0)


def test_features_only_densenet_trains_under_ddp_without_find_unused_parameters(tmp_path):
    results = tmp_path / "weights.pt"
    mp.spawn(_two_steps, args=(2, str(tmp_path / "init"), str(results)), nprocs=2, join=True)
    rank0, rank1 = torch.load(results)
    assert torch.equal(rank0, rank1), "both ranks hold the same weights after two steps"
    torch.manual_seed(0)
    start = torch.cat([p.flatten() for p in convzoo.create_model("densenet_bc100").parameters()])
    assert rank0.numel() < start.numel()  # the head is gone
