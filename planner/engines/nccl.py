"""NCCL's device memory on one GPU of a vLLM deployment over several GPUs, from NCCL's own source.

vLLM releases before 0.11 charge everything outside PyTorch's pool that start-up adds against the KV budget
("non_torch_memory"), and with several GPUs that is mostly NCCL's communicators. vLLM sets NCCL_CUMEM_ENABLE=0, so
NCCL connects every channel when a communicator is created (runtime connection, 2.22+, needs cuMem: init.cc
`comm->runtimeConn = comm->cuMemSupport && ncclParamRuntimeConnect()`).

Per channel, a connection is a send and a receive buffer on this GPU (src/transport/p2p.cc p2pSendSetup/p2pRecvSetup),
each rounded up to CUDA_IPC_MIN = 2 MiB (src/include/comm.h), the protocols' buffers (src/init.cc): LL 0.5 MiB
(8 lines × 512 threads × 8 steps × 16 B), LL128 4.6875 MiB (120 × 640 × 8 × 8 B), SIMPLE 4 MiB (NCCL_BUFFSIZE),
and a 4 KiB header. In write mode (the default) the receiver holds all three: send 2 MiB, receive 10 MiB; in read
mode (Ampere to Ampere over NVLink, src/graph/paths.cc) the sender keeps SIMPLE: 6 and 6 MiB. A send/receive pair
costs 12 MiB either way. Over shared memory (no peer access) the buffers are in host memory: none here.

One communicator, on one node of N GPUs:
  ring   one pair per channel: 12 MiB × C;
  tree   on one node a chain; with N ≥ 3 a middle rank adds a second pair per channel (12 MiB × C);
  NVLS   NVLink SHARP on NVSwitch Hopper and Blackwell with N ≥ 3 (src/transport/nvls.cc): NCCL ≤ 2.20
         max(C, 16) × 2 × (4 + 2) MiB × N (vllm#9699, 8 × H200, NCCL 2.20.5 logs "nvlsTotalSize 2415919104" =
         24 × 12 MiB × 8), 2.21 max(C, 16) × 2 × (1 + 2) MiB × N ("Reduce NVLS memory usage"), 2.22+
         16 × 2 × 1 MiB × N plus a 2 MiB credit buffer.
C, the collective channels: 24 over NVSwitch (A100, H100, H200 SXM: "24 coll channels" in NCCL's init logs), 2 over
PCIe or a two-card bridge.

vLLM's V0 engine (before 0.8.0) runs two communicators per tensor-parallel group, its own (PyNccl) and PyTorch's
process group, and gathers the logits to rank 0 with torch.distributed.gather, which NCCL runs as sends and receives:
the first send to a peer connects all its P2P channels (src/enqueue.cc; 32 per peer over NVSwitch, 2 over PCIe),
so rank 0 receives (N − 1) × 32 buffers. Public V0 logs: A100 40GB TP8 2.10 GiB non-torch memory
(tests/fixtures/logs/vllm-deepseek-coder-v2-lite-tp8-0.7.1-a100; this model: 2.16), and a TP8 × PP2 deployment
2.15 GiB on one worker and 1.07 on the others (github.com/surajssd/llm-k8s deepseek-v2.5; the gather root against the
rest). V1 (0.8–0.10) gathers nothing to one rank: its LogitsProcessor all-gathers (platforms/interface.py
use_all_gather under VLLM_USE_V1) through PyTorch's process group (DeviceCommunicatorBase.all_gather:
dist.all_gather_into_tensor on the device group, read at v0.8.5), beside its own communicator's all-reduces: two
communicators as well, no P2P (no public V1 log at TP > 1 checks the figure). Pipeline stages send to the next stage
and receive from the previous one: a pair per P2P channel.
"""

from __future__ import annotations

from .common import release_tuple

MIB = 2**20
NCCL_PAIR_BYTES = 12 * MIB  # one send + one receive buffer of a channel, in either mode
NCCL_RECEIVE_BYTES = {"read": 6 * MIB, "write": 10 * MIB}
NCCL_SEND_BYTES = {"read": 6 * MIB, "write": 2 * MIB}
NCCL_COLL_CHANNELS = {"nvswitch": 24, "pcie": 2}
NCCL_P2P_CHANNELS_PER_PEER = {"nvswitch": 32, "pcie": 2}
NVLS_MIN_CHANNELS = 16  # nvlsChannels on sm90 (NVLS_NCHANNELS_SM90)

# The NCCL each vLLM release ran: its pinned torch's nvidia-nccl-cu12 (requirements-cuda.txt; vllm-nccl-cu12 2.18
# for PyNccl in 0.4.x): torch 2.3–2.4 → 2.20.5 (0.4.x–0.6.3), torch 2.5.1 and 2.6.0 → 2.21.5 (0.6.4–0.8.4),
# torch 2.7 → 2.26.2 (0.8.5 on).
VLLM_NCCL = (("0.4.0", (2, 20)), ("0.6.4", (2, 21)), ("0.8.5", (2, 26)))


def interconnect(gpu) -> str:
    """"nvswitch" for SXM boards (an NVLink link of their own, not a bridge), else "pcie"."""
    link = getattr(gpu, "interconnect", None)
    name = "" if link is None else link.name
    return "nvswitch" if name.startswith("NVLink") and "bridge" not in name else "pcie"


def nccl_version(vllm_release: tuple[int, ...]) -> tuple[int, int]:
    return next(v for since, v in reversed(VLLM_NCCL) if vllm_release >= release_tuple(since))


def nvls_bytes(nccl: tuple[int, int], n: int, channels: int) -> int:
    """One communicator's NVLink SHARP buffers on each GPU of n (NVSwitch Hopper/Blackwell, n ≥ 3)."""
    c = max(channels, NVLS_MIN_CHANNELS)
    if nccl <= (2, 20):
        return c * 2 * (4 + 2) * MIB * n
    if nccl == (2, 21):
        return c * 2 * (1 + 2) * MIB * n
    return NVLS_MIN_CHANNELS * 2 * MIB * n + 2 * MIB


def vllm_nccl_bytes(gpu, *, tp: int, pp: int, release: tuple[int, ...], v1: bool) -> int:
    """NCCL's memory on the tightest GPU of a tp × pp deployment under a vLLM release (0 on one GPU)."""
    if tp * pp == 1:
        return 0
    fabric = interconnect(gpu)
    channels, per_peer = NCCL_COLL_CHANNELS[fabric], NCCL_P2P_CHANNELS_PER_PEER[fabric]
    ampere = getattr(gpu, "architecture", "") == "Ampere"
    mode = "read" if fabric == "nvswitch" and ampere else "write"
    nvls = (nvls_bytes(nccl_version(release), tp, channels)
            if fabric == "nvswitch" and tp >= 3 and getattr(gpu, "architecture", "") in ("Hopper", "Blackwell")
            else 0)
    stages = per_peer * NCCL_PAIR_BYTES if pp > 1 else 0
    if tp == 1:
        return stages
    ring = NCCL_PAIR_BYTES * channels
    middle = 2 * (2 * ring if tp >= 3 else ring) + 2 * nvls  # two communicators; a middle rank's tree pair
    if v1:
        return middle + stages
    # V0: rank 0 ends the chain (one more receive per channel) and receives the gathered logits from every peer
    root = 2 * (ring + (NCCL_RECEIVE_BYTES[mode] * channels if tp >= 3 else 0) + nvls) \
        + (tp - 1) * per_peer * NCCL_RECEIVE_BYTES[mode]
    return max(root, middle + per_peer * NCCL_SEND_BYTES[mode]) + stages
