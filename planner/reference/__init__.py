"""PyTorch reference implementation of any ModelSpec, and a profiler that measures what it allocates.

Needs torch (pip install "llm-planner[torch]"); importing planner itself never imports torch.
"""
