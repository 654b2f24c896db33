"""Block-level architecture diagrams, derived from the traced dataflow.

Nothing here knows any particular family. One meta-device forward pass under
the tracer (see `tracing`) records every op with the module that ran it and
the ops it read from. The ops are then grouped by module:

- a *unit* (one box) is a leaf module, a module whose children are all leaves
  and which holds at most one convolution/linear layer (``ConvNormAct``), or
  any module at the ``depth`` limit;
- every other module is a *container*, drawn as a labelled cluster; ops it runs
  itself (the residual ``+``, a concatenation, a gate's ``x``) become small
  nodes inside it;
- an edge is drawn wherever a tensor flows from one box to another, labelled
  with its shape (C x H x W), so Inception branches fan out side by side and
  residual and dense connections show as skip arrows;
- runs of consecutive sibling blocks with the same structure (``conv3_x.1``,
  ``conv3_x.2``, ...) are drawn once, labelled ``x3``;
- where a tensor that went through an upsampling op is merged with a tensor of
  the same resolution from earlier (U-Net's skips), both ends are put on the
  same rank, which draws the encoder going down and the decoder coming back
  up: the U.

- auxiliary classifiers (GoogLeNet, Inception-v3) are traced in training mode,
  the only mode that runs them, and drawn dashed, labelled "training only".

Drawing needs nothing beyond Python: `convzoo.analysis.layout` lays the graph out
and `convzoo.analysis.drawing` writes SVG itself, PNG/PDF through matplotlib.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from convzoo.analysis.meta import meta_model, resolve_input_size
from convzoo.analysis.summary import trace
from convzoo.analysis.tracing import Node

__all__ = ["BlockGraph", "block_graph", "parent_cluster"]

AUX_PREFIX = "aux_heads"
TRAINING_ONLY = "training only"
_MERGE_OPS = {"add": "+", "add_": "+", "cat": "concat", "mul": "x", "mul_": "x", "stack": "stack"}


@dataclass
class Box:
    key: str  # qualified name (or name + "/op" for a container's own op)
    label: str
    cluster: str  # qualified name of the enclosing container ("" = top level)
    kind: str = "unit"  # unit | op | io | aux (a box only training mode runs)


@dataclass
class BlockGraph:
    model: str
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: dict[tuple[str, str], str] = field(default_factory=dict)  # -> shape label
    clusters: dict[str, str] = field(default_factory=dict)  # name -> label
    same_rank: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Nodes, edges (with the tensor shape) and clusters, for programs."""
        return {
            "model": self.model,
            "nodes": [
                {"id": b.key, "label": b.label, "kind": b.kind, "cluster": b.cluster}
                for b in self.boxes.values()
            ],
            "edges": [{"from": a, "to": b, "shape": s} for (a, b), s in self.edges.items()],
            "clusters": [{"id": k, "label": v} for k, v in self.clusters.items()],
            "same_rank": [list(pair) for pair in self.same_rank],
        }

    def to_dot(self) -> Any:
        import graphviz

        # newrank lets "rank=same" align boxes that sit in different clusters (the U)
        graph_attr = {"rankdir": "TB", "fontname": "Helvetica", "label": self.model,
                      "labelloc": "t", "fontsize": "20", "nodesep": "0.25", "ranksep": "0.35",
                      "newrank": "true"}  # fmt: skip
        dot = graphviz.Digraph(self.model, graph_attr=graph_attr)
        dot.attr("node", fontname="Helvetica", fontsize="10", shape="box", style="rounded,filled",
                 fillcolor="#eef3fb", color="#5470a0")  # fmt: skip
        dot.attr("edge", fontname="Helvetica", fontsize="8", color="#555555")
        children: dict[str, list[str]] = {}
        for name in self.clusters:
            children.setdefault(parent_cluster(name, self.clusters), []).append(name)
        boxes_in: dict[str, list[Box]] = {}
        for box in self.boxes.values():
            boxes_in.setdefault(box.cluster, []).append(box)

        def fill(graph: Any, cluster: str, level: int) -> None:
            for box in boxes_in.get(cluster, []):
                attrs = {}
                if box.kind == "op":
                    attrs = {"shape": "circle" if len(box.label) <= 2 else "ellipse",
                             "fillcolor": "#fff4d6", "color": "#b08020", "fontsize": "9",
                             "width": "0.3", "height": "0.3", "margin": "0.02"}  # fmt: skip
                elif box.kind == "io":
                    attrs = {"shape": "parallelogram", "fillcolor": "#e3f1e3", "color": "#3a7a3a"}
                elif box.kind == "aux":
                    attrs = {"style": "rounded,dashed,filled", "fillcolor": "#f6f6f6"}
                graph.node(_id(box.key), box.label, **attrs)
            for child in children.get(cluster, []):
                with graph.subgraph(name=f"cluster_{_id(child)}") as sub:
                    shade = ("#fafafa", "#f1f1f1", "#e8e8e8")[level % 3]
                    sub.attr(label=self.clusters[child], style="rounded,filled", fillcolor=shade,
                             color="#999999", fontsize="11", labeljust="l")  # fmt: skip
                    fill(sub, child, level + 1)

        fill(dot, "", 0)
        for (src, dst), label in self.edges.items():
            dot.edge(_id(src), _id(dst), label=label)
        for a, b in self.same_rank:
            with dot.subgraph() as rank:
                rank.attr(rank="same")
                rank.node(_id(a))
                rank.node(_id(b))
        return dot


def _id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key) or "root"


def parent_cluster(name: str, clusters: dict[str, str]) -> str:
    """The innermost cluster around ``name`` ("" for the top level)."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in clusters:
            return candidate
    return ""


_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


def _is_unit(module: nn.Module, level: int, depth: int | None) -> bool:
    children = list(module.children())
    if not children or (depth is not None and level >= depth):
        return True
    if any(next(c.children(), None) is not None for c in children):
        return False
    return sum(isinstance(c, _WEIGHTED) for c in children) <= 1


def _describe(name: str, module: nn.Module) -> str:
    short = _short(name)
    layers = [module] if not list(module.children()) else list(module.children())
    parts = []
    for m in layers:
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            k, s = m.kernel_size[0], m.stride[0]
            kind = "convT" if isinstance(m, nn.ConvTranspose2d) else "conv"
            if m.groups == m.in_channels and m.groups > 1:
                kind = "dwconv"
            elif m.groups > 1:
                kind = f"conv g{m.groups}"
            parts.append(f"{k}x{k} {kind}{f'/{s}' if s > 1 else ''}, {m.out_channels}")
        elif isinstance(m, nn.Linear):
            parts.append(f"fc {m.out_features}")
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
            parts.append(f"{kind}pool {k}x{k}{f'/{s}' if s > 1 else ''}")
        elif isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            parts.append("global pool" if m.output_size in (1, (1, 1)) else "adaptive pool")
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm | nn.LayerNorm):
            parts.append({"BatchNorm2d": "BN"}.get(type(m).__name__, type(m).__name__))
        elif isinstance(m, nn.Identity | nn.Dropout | nn.Flatten):
            continue
        else:
            parts.append(type(m).__name__)
    body = " + ".join(parts) if parts else type(module).__name__
    return f"{short}\n{body}"


def _short(name: str) -> str:
    """Last name component; a bare index gets its parent's name too (``conv1.0``)."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if parts[-1][:1].isdigit() and len(parts) > 1 else parts[-1]


def _instance(name: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"(.*?)(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else None


def _structure(module: nn.Module) -> tuple:
    return (
        type(module).__name__,
        tuple((re.sub(r"\d+", "#", n), _structure(c)) for n, c in module.named_children()),
    )


def _kernels(module: nn.Module) -> tuple:
    """Weight shapes without the input-channel dim (and without 1-D norm/bias vectors)."""
    return tuple((p.shape[0], *p.shape[2:]) for p in module.parameters() if p.dim() > 1)


def _feeds(nodes: list[Node]) -> set[tuple[str, str]]:
    """(producer owner, consumer owner) for every tensor that crosses modules."""
    owner = {n.id: n.owner for n in nodes}
    return {(owner[i], n.owner) for n in nodes for i in n.inputs if owner[i] != n.owner}


def _inside(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def _collapse_map(
    model: nn.Module, order: list[str], shapes: dict[str, Any], nodes: list[Node]
) -> tuple[dict[str, str], dict[str, str]]:
    """Map the names of repeated blocks onto the first of their run; labels for the runs.

    Consecutive siblings (``conv3_x.1``, ``conv3_x.2``; ``denselayer1``, ...) form a
    run when they have the same structure, the same kernels and output channels
    (inputs may grow, as in DenseNet, and so may the channels of a concatenated
    output), the same output spatial size, and each one reads
    the previous one's output (parallel branches are never merged). Every member
    of a run maps to the first, which maps to itself.
    """
    rename: dict[str, str] = {}
    labels: dict[str, str] = {}
    first_call = {n: i for i, n in enumerate(order)}
    feeds = _feeds(nodes)

    def chained(a: str, b: str) -> bool:
        return any(_inside(src, a) and _inside(dst, b) for src, dst in feeds)

    for parent_name, parent in model.named_modules():
        children = [
            (n, c) for n, c in parent.named_children() if _join(parent_name, n) in first_call
        ]
        children.sort(key=lambda nc: first_call[_join(parent_name, nc[0])])
        run: list[tuple[str, nn.Module]] = []
        for item in [*children, (None, None)]:
            n, c = item
            same = (
                run
                and n is not None
                and next(c.children(), None) is not None
                and _instance(n) is not None
                and _instance(run[0][0]) is not None
                and _instance(n)[0] == _instance(run[0][0])[0]
                and _structure(c) == _structure(run[0][1])
                and _kernels(c) == _kernels(run[0][1])
                and _same_map(
                    shapes.get(_join(parent_name, n)), shapes.get(_join(parent_name, run[0][0]))
                )
                and chained(_join(parent_name, run[-1][0]), _join(parent_name, n))
            )
            if same:
                run.append(item)
                continue
            if len(run) > 1:
                full = [_join(parent_name, r[0]) for r in run]
                for member in full:
                    rename[member] = full[0]
                last = _instance(run[-1][0])
                labels[full[0]] = f"{_short(full[0])}-{last[1]}  (x{len(run)})"
            run = [item] if n is not None else []
    return rename, labels


def _same_map(a: tuple[int, ...] | None, b: tuple[int, ...] | None) -> bool:
    """Same output shape, but for the channels: a dense layer returns its input
    concatenated with its new maps, so each one's output is wider by the growth rate."""
    if a is None or b is None or len(a) != len(b):
        return a == b
    return a[2:] == b[2:] if len(a) == 4 else a == b


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if parent else child


def _canonical(name: str, rename: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """Name with every collapsed block mapped to the first of its run (outermost first);
    and the run members the name lies in."""
    parts = name.split(".")
    members = []
    i = 1
    while i <= len(parts):
        prefix = ".".join(parts[:i])
        if prefix in rename:
            members.append(prefix)
            head = rename[prefix].split(".")
            parts = head + parts[i:]
            i = len(head)
        i += 1
    return ".".join(parts), tuple(members)


def _across_run(a: tuple[str, ...], b: tuple[str, ...], rename: dict[str, str]) -> bool:
    """True if ``a`` and ``b`` lie in different members of the same run."""
    return any(x != y and rename[x] == rename[y] for x in a for y in b)


def block_graph(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | int | None = None,
    *,
    depth: int | None = None,
    collapse: bool = True,
    **create_kwargs: Any,
) -> BlockGraph:
    model = meta_model(model_or_name, **create_kwargs)
    size = resolve_input_size(model, input_size)
    # training mode is the one that runs auxiliary heads; batch 2 because batch norm
    # refuses a single value per channel in training mode (a head's 1x1 map)
    aux = len(getattr(model, AUX_PREFIX, ())) > 0
    run = trace(model, size, training=aux, batch=2 if aux else 1)
    nodes: list[Node] = run.tracer.nodes
    modules = dict(model.named_modules())
    card = getattr(model, "card", None)
    graph = BlockGraph(card.name if card else type(model).__name__)
    rename, run_labels = ({}, {})
    if collapse:
        rename, run_labels = _collapse_map(model, run.order, run.shapes, nodes)

    def unit_of(owner: str) -> tuple[str, bool]:
        """The box an op owned by ``owner`` belongs to; True if it is a unit module."""
        if not owner:
            return "", False
        parts = owner.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if _is_unit(modules[name], i, depth):
                return name, True
        return owner, False

    def add_cluster(name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            canon = _canonical(prefix, rename)[0]
            if canon not in graph.clusters:
                label = prefix.rsplit(".", 1)[-1]
                if canon in run_labels:
                    label = run_labels[canon]
                kind = type(modules[prefix]).__name__
                if _inside(prefix, AUX_PREFIX):
                    kind += f", {TRAINING_ONLY}"
                graph.clusters[canon] = f"{label}  ({kind})"

    box_of: dict[int, str] = {}
    op_count: dict[tuple[str, tuple[str, ...]], int] = {}
    instance_of: dict[int, tuple[str, ...]] = {}
    graph.boxes["input"] = Box("input", "input\n" + "x".join(map(str, size)), "", "io")
    box_of[0], instance_of[0] = "input", ()
    for node in nodes[1:]:
        name, is_unit = unit_of(node.owner)
        if is_unit:
            key = name
            cluster = name.rsplit(".", 1)[0] if "." in name else ""
            label = _describe(name, modules[name])
            canon_name = _canonical(name, rename)[0]
            if canon_name in run_labels:  # a run of repeated units drawn once
                label = run_labels[canon_name] + "\n" + label.split("\n", 1)[-1]
        else:
            op = node.op.rstrip("_")
            key = f"{name}/{node.id}"
            cluster = name
            label = _MERGE_OPS.get(node.op, op)
        canon, instance = _canonical(name if not is_unit else key, rename)
        canon_cluster = _canonical(cluster, rename)[0] if cluster else ""
        if cluster:
            add_cluster(cluster)
        if not is_unit:
            # a container's own ops are numbered per instance, so repeated blocks line up
            count = op_count.get((node.owner, instance), 0)
            op_count[(node.owner, instance)] = count + 1
            canon = f"{_canonical(name, rename)[0]}/{node.op.rstrip('_')}.{count}"
        if canon not in graph.boxes:
            kind = "unit" if is_unit else "op"
            if _inside(name, AUX_PREFIX):
                kind = "aux"
            graph.boxes[canon] = Box(canon, label, canon_cluster, kind)
        box_of[node.id] = canon
        instance_of[node.id] = instance
        for src in node.inputs:
            a = box_of.get(src)
            if a is None or a == canon:
                continue
            if _across_run(instance_of.get(src, ()), instance, rename):
                continue  # the hand-over from one repeat to the next is implied by "xN"
            shape = nodes[src].shape
            graph.edges[(a, canon)] = "x".join(map(str, shape[1:]))
    out_info = run.tracer.lookup(run.output)  # the main logits, also in training mode
    last_node = nodes[out_info.node] if out_info is not None else nodes[-1]
    last = box_of.get(last_node.id, "input")
    out_shape = last_node.shape
    graph.boxes["output"] = Box("output", "output\n" + "x".join(map(str, out_shape[1:])), "", "io")
    graph.edges[(last, "output")] = "x".join(map(str, out_shape[1:]))
    _u_shape(graph, nodes, box_of)
    return graph


def _u_shape(graph: BlockGraph, nodes: list[Node], box_of: dict[int, str]) -> None:
    """Put a merge on the rank of its skip source when its other input was upsampled."""

    def upsampled(node: Node) -> bool:
        ins = [nodes[i] for i in node.inputs]
        return len(node.shape) == 4 and any(
            len(i.shape) == 4 and node.shape[-1] > i.shape[-1] for i in ins
        )

    producer_chain: dict[int, bool] = {}
    for node in nodes:
        producer_chain[node.id] = (
            upsampled(node)
            or any(
                producer_chain.get(i, False)
                and len(nodes[i].shape) == 4
                and nodes[i].shape[-1] == node.shape[-1]
                for i in node.inputs
            )
            if len(node.shape) == 4
            else False
        )
    for node in nodes:
        if node.op not in ("cat", "add", "add_") or len(node.inputs) < 2:
            continue
        ups = [i for i in node.inputs if producer_chain.get(i)]
        skips = [i for i in node.inputs if not producer_chain.get(i)]
        if ups and skips:
            a, b = box_of.get(skips[0]), box_of.get(node.id)
            if a and b and a != b and (a, b) not in graph.same_rank:
                graph.same_rank.append((a, b))
