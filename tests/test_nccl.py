"""NCCL's device memory per GPU under vLLM (planner.engines.nccl), against NCCL's own logs and vLLM's."""

from planner.engines.common import release_tuple
from planner.engines.nccl import MIB, interconnect, nccl_version, nvls_bytes, vllm_nccl_bytes
from planner.gpus import load_gpu


def test_nvls_buffers_match_nccl_2_20s_own_log_on_8_h200s():
    # vllm-project/vllm#9699 (8 × H200, NCCL 2.20.5): "NVLS comm ... nHeads 8 buffSize 4194304 memSize 2097152
    # nvlsPerRankSize 301989888 nvlsTotalSize 2415919104"
    assert nvls_bytes((2, 20), 8, 24) == 2_415_919_104
    assert nvls_bytes((2, 21), 8, 24) == 2_415_919_104 // 2  # 2.21: 1 MiB buffers instead of 4
    assert nvls_bytes((2, 26), 8, 24) == (16 * 2 * 8 + 2) * MIB


def test_vllm_releases_ran_their_torchs_nccl():
    # requirements-cuda.txt: torch 2.4.0 (0.6.3) → NCCL 2.20.5; 2.5.1 (0.6.4–0.7.x), 2.6.0 (0.8.2) → 2.21.5;
    # 2.7.0 (0.8.5+) → 2.26.2
    assert [nccl_version(release_tuple(v)) for v in ("0.5.4", "0.6.3", "0.6.4", "0.8.2", "0.8.5", "0.10.0")] == \
        [(2, 20), (2, 20), (2, 21), (2, 21), (2, 26), (2, 26)]


def test_sxm_boards_talk_over_nvswitch_and_the_rest_over_pcie():
    assert [interconnect(load_gpu(g)) for g in ("a100-sxm-40gb", "h100-sxm", "h200", "b200")] == ["nvswitch"] * 4
    assert [interconnect(load_gpu(g)) for g in ("a100-pcie-80gb", "h100-pcie", "rtx-3090", "l40s")] == ["pcie"] * 4


def test_v0_rank_0_holds_the_gathered_logits_buffers():
    a100 = load_gpu("a100-sxm-40gb")
    v0 = release_tuple("0.7.1")
    # rank 0 of 8 (read mode, Ampere over NVLink): two communicators × (ring 24 × 12 MiB + chain end 24 × 6 MiB),
    # and 7 peers × 32 P2P channels × 6 MiB receiving the gathered logits: 2,208 MiB. The public DJL log of
    # DeepSeek-Coder-V2-Lite at TP8 on A100 40GB prints "non_torch_memory takes 2.10GiB"
    assert vllm_nccl_bytes(a100, tp=8, pp=1, release=v0, v1=False) == (2 * (288 + 144) + 7 * 32 * 6) * MIB
    assert vllm_nccl_bytes(a100, tp=4, pp=1, release=v0, v1=False) == (2 * (288 + 144) + 3 * 32 * 6) * MIB
    # V1 gathers nothing to one rank: a middle rank's ring and tree pairs in both communicators
    assert vllm_nccl_bytes(a100, tp=8, pp=1, release=release_tuple("0.9.0"), v1=True) == 2 * 2 * 288 * MIB
    # one GPU: no communicator; pipeline stages: a send/receive pair per P2P channel to the neighbours
    assert vllm_nccl_bytes(a100, tp=1, pp=1, release=v0, v1=False) == 0
    assert vllm_nccl_bytes(a100, tp=1, pp=2, release=v0, v1=False) == 32 * 12 * MIB
    # PCIe: 2 channels; 2 P2P channels per peer, write mode (receive 10 MiB)
    l40s = load_gpu("l40s")
    assert vllm_nccl_bytes(l40s, tp=2, pp=1, release=v0, v1=False) == (2 * 24 + 2 * 10) * MIB
