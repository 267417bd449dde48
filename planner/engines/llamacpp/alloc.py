"""ggml's graph allocator, replayed: the size of the compute buffer that ggml-alloc reserves for a graph.

llama.cpp sizes its compute buffer by allocating the worst-case graph with ggml_gallocr (ggml/src/ggml-alloc.c)
without running it. The buffer is the highest offset that allocator reaches, so it depends on the order of the nodes,
on which nodes reuse a parent's memory in place, and on how freed blocks fragment — not only on what is alive at
once. This module follows that allocator step by step on a graph described by planner/engines/llamacpp/graph.py:

- leafs (the graph's inputs: token ids, positions, KQ mask, cache indices) are allocated first, in graph order;
- each node is allocated after its sources; a node whose op can work in place (ggml_op_can_inplace: ADD, MUL, ROPE,
  RMS_NORM, SOFT_MAX, SCALE, UNARY, …) takes over a parent's memory when that parent has no other consumer and no
  other view, and is not a graph output (a view is never reused: ggml_gallocr_is_own is false for views);
- a tensor is freed when its last consumer (or the last consumer of its last view) has been allocated; graph outputs
  are never freed;
- ggml_dyn_tallocr: the best-fitting free block other than the last one (the smallest that fits; the later one of
  equal size), else the last block, which grows the buffer; freed blocks merge with their neighbours; every size is
  padded to the buffer type's alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CPU_ALIGNMENT = 32  # ggml-cpu's buffer alignment: TENSOR_ALIGNMENT (ggml/src/ggml-impl.h)


@dataclass
class Tensor:
    """One tensor of the graph: an input leaf, a computed node, or a view (no memory of its own)."""

    size: int = 0                       # bytes (ggml_nbytes); 0 for views
    srcs: tuple[int, ...] = ()          # indices of the source tensors
    view_of: int | None = None          # the tensor a view points into
    inplace: bool = False               # its op may reuse a source's memory (and has the same layout)
    output: bool = False                # a graph output: never freed, never reused
    external: bool = False              # memory outside the compute buffer (weights, KV cache)
    leaf: bool = False                  # an input the graph reads (allocated before any node)
    dep: bool = False                   # ggml-backend's dependency node (GGML_OP_NONE): keeps its sources alive
    children: int = 0
    views: int = 0
    offset: int = -1
    owned: bool = False


@dataclass
class Graph:
    """A graph in ggml's node order. `input()`, `op()`, `view()` append and return the tensor's index."""

    tensors: list[Tensor] = field(default_factory=list)

    def _add(self, t: Tensor) -> int:
        self.tensors.append(t)
        return len(self.tensors) - 1

    def external(self) -> int:
        return self._add(Tensor(external=True))

    def input(self, size: int) -> int:
        return self._add(Tensor(size=size, leaf=True))

    def op(self, size: int, *srcs: int | None, inplace: bool = False, output: bool = False) -> int:
        return self._add(Tensor(size=size, srcs=tuple(s for s in srcs if s is not None), inplace=inplace,
                                output=output))

    def dep(self, *srcs: int) -> int:
        """A backend's allocation dependency (GGML_OP_NONE): no memory, not a view; its sources stay allocated until
        it, which ggml-backend places right after the node the backend named."""
        return self._add(Tensor(srcs=srcs, dep=True))

    def view(self, src: int, *more: int | None) -> int:
        """A view of `src` (reshape, permute, transpose, view): no memory; keeps `src` alive while it is used."""
        base = self.tensors[src]
        root = src if base.view_of is None else base.view_of
        return self._add(Tensor(view_of=root, external=self.tensors[root].external,
                                srcs=(src, *(s for s in more if s is not None))))


class _Blocks:
    """ggml_dyn_tallocr: free blocks sorted by offset; the last one is the open end of the buffer."""

    def __init__(self, alignment: int):
        self.alignment, self.free, self.max_size = alignment, [[0, 1 << 62]], 0

    def _pad(self, size: int) -> int:
        return -(-size // self.alignment) * self.alignment

    def alloc(self, size: int) -> int:
        size = self._pad(size)
        best, best_size = -1, None
        for i, (_, bsize) in enumerate(self.free[:-1]):
            if bsize >= size and (best_size is None or bsize <= best_size):
                best, best_size = i, bsize
        if best < 0:
            best = len(self.free) - 1
        block = self.free[best]
        offset = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del self.free[best]
        self.max_size = max(self.max_size, offset + size)
        return offset

    def release(self, offset: int, size: int) -> None:
        size = self._pad(size)
        for i, block in enumerate(self.free):
            if block[0] + block[1] == offset:  # the freed bytes follow this block
                block[1] += size
                if i + 1 < len(self.free) and block[0] + block[1] == self.free[i + 1][0]:
                    block[1] += self.free.pop(i + 1)[1]
                return
            if offset + size == block[0]:  # … or precede it
                block[0], block[1] = offset, block[1] + size
                if i > 0 and self.free[i - 1][0] + self.free[i - 1][1] == block[0]:
                    self.free[i - 1][1] += self.free.pop(i)[1]
                return
        at = next((i for i, b in enumerate(self.free) if b[0] > offset), len(self.free))
        self.free.insert(at, [offset, size])


def buffer_size(graph: Graph, alignment: int = CPU_ALIGNMENT) -> int:
    """The compute buffer ggml-alloc reserves for `graph`: the highest offset its allocator reaches (bytes)."""
    ts, blocks = graph.tensors, _Blocks(alignment)

    def allocate(i: int) -> None:
        t = ts[i]
        if t.external or t.dep or t.owned or t.offset >= 0 or t.view_of is not None:
            return
        t.owned = True
        if t.inplace:
            for s in t.srcs:
                p = ts[s]
                if not p.owned or p.output or p.children != 1 or p.views != 0:
                    continue  # a view is never its own (ggml_gallocr_is_own is false for views): no reuse through it
                t.offset, p.owned = p.offset, False
                _trim(blocks, t, p)
                return
        t.offset = blocks.alloc(t.size)

    def free(i: int) -> None:
        t = ts[i]
        if not t.output:
            blocks.release(t.offset, t.size)
            t.owned = False

    for i, t in enumerate(ts):  # the leafs: the graph's inputs, before any node
        if t.leaf:
            allocate(i)
    nodes = [i for i, t in enumerate(ts) if not t.leaf and not (t.external and t.view_of is None)]
    for i in nodes:
        if ts[i].view_of is not None:
            ts[ts[i].view_of].views += 1
        for s in ts[i].srcs:
            ts[s].children += 1
    for i in nodes:
        allocate(i)
        for s in ts[i].srcs:
            p = ts[s]
            p.children -= 1
            if p.children or p.views:
                continue
            if p.view_of is not None:
                root = ts[p.view_of]
                root.views -= 1
                if root.views == 0 and root.children == 0 and root.owned:
                    free(p.view_of)
            elif p.owned:
                free(s)
    return blocks.max_size


def _trim(blocks: _Blocks, node: Tensor, parent: Tensor) -> None:
    """ggml_gallocr_free_extra_space: a smaller in-place result gives back the tail of its parent's block."""
    extra = blocks._pad(parent.size) - blocks._pad(node.size)
    if extra > 0:
        blocks.release(node.offset + blocks._pad(node.size), extra)
