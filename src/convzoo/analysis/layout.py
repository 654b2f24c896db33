"""Layered top-to-bottom layout of a block graph (drawn by `convzoo.analysis.drawing`).

No system program is needed: this is what `convzoo diagram` draws with by default.
The graph is compound (boxes inside nested clusters), so the layout is recursive:
each cluster is laid out on its own, then placed as one big node in its parent.

Inside one cluster:

- every tensor that enters from outside gets an *in port* on the cluster's top
  edge and every box that feeds something outside gets an *out port* on the
  bottom edge, so the edges of the parent route into and out of the cluster;
- layers by longest path from the sources (edges that would close a cycle are
  reversed for layering only); an edge spanning several layers gets a dummy
  node on each layer it crosses, so skips run beside the boxes, not through them;
- a few barycenter sweeps order each layer (fewer crossings), and each node is
  pulled towards the mean x of its neighbours, then pushed apart to not overlap.

Sizes are in pixels at 100% zoom, with label widths estimated from character counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from convzoo.analysis.diagram import parent_cluster

if TYPE_CHECKING:
    from convzoo.analysis.diagram import BlockGraph

__all__ = ["Layout", "layout_graph"]

FONT = "Helvetica, Arial, sans-serif"
CHAR_W = 6.6  # average width of one character at 11 px
LINE_H = 14.0
PAD_X, PAD_Y = 10.0, 6.0  # inside a box
GAP_X, GAP_Y = 18.0, 26.0  # between nodes, between layers
CLUSTER_PAD = 10.0
CLUSTER_LABEL_H = 18.0
DUMMY_W = 4.0
STYLE = {
    "unit": ("#eef3fb", "#5470a0"),
    "op": ("#fff4d6", "#b08020"),
    "io": ("#e3f1e3", "#3a7a3a"),
    "aux": ("#f6f6f6", "#999999"),
}
CLUSTER_FILL = ("#fafafa", "#f1f1f1", "#e8e8e8")


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    def moved(self, dx: float, dy: float) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict[str, Rect] = field(default_factory=dict)
    clusters: dict[str, Rect] = field(default_factory=dict)
    edges: list[tuple[str, str, list[tuple[float, float]]]] = field(default_factory=list)


def box_lines(graph: BlockGraph) -> dict[str, list[str]]:
    """Each box's label lines, then the shape of the tensor it outputs (C x H x W)."""
    out_shape = {}
    for (src, _dst), shape in graph.edges.items():
        out_shape.setdefault(src, shape)
    return {
        key: box.label.split("\n")
        + ([out_shape[key]] if key in out_shape and box.kind != "io" else [])
        for key, box in graph.boxes.items()
    }


def box_size(lines: list[str]) -> tuple[float, float]:
    width = max(len(line) for line in lines) * CHAR_W + 2 * PAD_X
    return max(width, 34.0), len(lines) * LINE_H + 2 * PAD_Y


@dataclass
class _Node:
    key: tuple[str, str]  # ("box", key) | ("cluster", name) | ("in"|"out"|"dummy", id)
    w: float
    h: float
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top of its layer


@dataclass
class _Level:
    """The layout of one cluster's content, in its own coordinates."""

    nodes: dict[tuple[str, str], _Node]
    width: float
    height: float
    routes: dict[tuple, list[tuple[float, float]]]  # local edge -> waypoints
    placed: dict[str, Rect]  # boxes and clusters below, relative to this level
    ports: dict[tuple[str, str], tuple[float, float]]  # ("in"|"out", id) -> point
    sub: dict[str, _Level]  # the layouts of the clusters directly inside


class _Compound:
    def __init__(self, graph: BlockGraph) -> None:
        self.graph = graph
        self.children: dict[str, list[tuple[str, str]]] = {}
        self.chain: dict[str, list[str]] = {}  # box -> enclosing clusters, outermost first
        for name in graph.clusters:
            parent = parent_cluster(name, graph.clusters)
            self.children.setdefault(parent, []).append(("cluster", name))
        for key, box in graph.boxes.items():
            cluster = box.cluster if box.cluster in graph.clusters else ""
            self.children.setdefault(cluster, []).append(("box", key))
            chain, c = [], cluster
            while c:
                chain.append(c)
                c = parent_cluster(c, graph.clusters)
            self.chain[key] = chain[::-1]
        self.rank = {key: i for i, key in enumerate(graph.boxes)}
        self.lines = box_lines(graph)
        self.edges = list(graph.edges)

    def item_in(self, cluster: str, box: str) -> tuple[str, str] | None:
        """The child of ``cluster`` that holds ``box`` (None if it lies outside)."""
        chain = self.chain[box]
        if cluster and cluster not in chain:
            return None
        depth = chain.index(cluster) + 1 if cluster else 0
        return ("cluster", chain[depth]) if depth < len(chain) else ("box", box)

    def first_rank(self, item: tuple[str, str]) -> int:
        if item[0] == "box":
            return self.rank[item[1]]
        name = item[1]
        return min((self.rank[k] for k, chain in self.chain.items() if name in chain), default=0)


def _lay_cluster(comp: _Compound, cluster: str) -> _Level:
    sub = {
        c[1]: _lay_cluster(comp, c[1]) for c in comp.children.get(cluster, []) if c[0] == "cluster"
    }
    nodes: dict[tuple[str, str], _Node] = {}
    for item in comp.children.get(cluster, []):
        if item[0] == "box":
            nodes[item] = _Node(item, *box_size(comp.lines[item[1]]))
        else:
            nodes[item] = _Node(item, sub[item[1]].width, sub[item[1]].height)
    local: dict[tuple, None] = {}  # ordered set of local edges
    for src, dst in comp.edges:
        a, b = comp.item_in(cluster, src), comp.item_in(cluster, dst)
        if (a is None and b is None) or a == b:
            continue
        if a is None:  # enters from outside: one port per outside tensor
            a = ("in", src)
            nodes.setdefault(a, _Node(a, 0.0, 0.0))
        if b is None:
            b = ("out", "/".join(a))
            nodes.setdefault(b, _Node(b, 0.0, 0.0))
        local[(a, b)] = None
    _layers(nodes, list(local))
    chains = _add_dummies(nodes, list(local))
    order = _order(comp, nodes, chains)
    _place(nodes, order, chains)
    return _finish(nodes, order, chains, sub)


def _layers(nodes: dict, edges: list[tuple]) -> None:
    preds: dict = {k: [] for k in nodes}
    for a, b in _acyclic(nodes, edges):
        preds[b].append(a)
    memo: dict = {}
    # only in ports sit on the top edge
    first = 1 if any(k[0] == "in" for k in nodes) else 0

    def layer(k: tuple) -> int:
        if k not in memo:
            memo[k] = 0  # guards against re-entry
            base = 0 if k[0] == "in" else first
            memo[k] = max((layer(p) + 1 for p in preds[k]), default=base)
        return memo[k]

    for k, node in nodes.items():
        node.layer = layer(k)
    last = max((n.layer for k, n in nodes.items() if k[0] != "out"), default=0)
    for k, node in nodes.items():
        if k[0] == "out":
            node.layer = last + 1


def _acyclic(nodes: dict, edges: list[tuple]) -> list[tuple]:
    """The edges with the back edges of a depth-first search reversed."""
    succ: dict = {k: [] for k in nodes}
    for a, b in edges:
        succ[a].append(b)
    state: dict = {}
    back: set = set()
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            k, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[k] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((k, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return [(b, a) if (a, b) in back else (a, b) for a, b in edges]


def _add_dummies(nodes: dict, edges: list[tuple]) -> dict[tuple, list[tuple]]:
    """Every local edge as its chain of nodes, one dummy on each layer it crosses."""
    chains = {}
    for i, (a, b) in enumerate(edges):
        la, lb = nodes[a].layer, nodes[b].layer
        step = 1 if lb >= la else -1
        chain = [a]
        for j, layer in enumerate(range(la + step, lb, step)):
            dummy = ("dummy", f"{i}.{j}")
            nodes[dummy] = _Node(dummy, DUMMY_W, 0.0, layer)
            chain.append(dummy)
        chains[(a, b)] = [*chain, b]
    return chains


def _neighbours(nodes: dict, chains: dict) -> tuple[dict, dict]:
    """Each node's neighbours on the layer above and on the layer below."""
    up: dict = {k: [] for k in nodes}
    down: dict = {k: [] for k in nodes}
    for chain in chains.values():
        for a, b in itertools.pairwise(chain):
            lo, hi = (a, b) if nodes[a].layer < nodes[b].layer else (b, a)
            down[lo].append(hi)
            up[hi].append(lo)
    return up, down


def _order(comp: _Compound, nodes: dict, chains: dict) -> list[list[tuple]]:
    """Nodes per layer, ordered by barycenter sweeps from execution order."""
    n_layers = max(n.layer for n in nodes.values()) + 1
    up, down = _neighbours(nodes, chains)

    def initial(k: tuple) -> float:
        if k[0] in ("box", "cluster"):
            return comp.first_rank(k)
        if k[0] == "in":
            return comp.rank.get(k[1], 0)
        return 1e9  # dummies and out ports: placed by the sweeps

    layers = [
        sorted((k for k in nodes if nodes[k].layer == i), key=initial) for i in range(n_layers)
    ]
    for sweep in range(4):
        rng = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        for i in rng:
            ref = layers[i - 1] if sweep % 2 == 0 else layers[i + 1]
            pos = {k: j for j, k in enumerate(ref)}
            nbrs = up if sweep % 2 == 0 else down
            current = {k: j for j, k in enumerate(layers[i])}

            def bary(k: tuple, pos=pos, nbrs=nbrs, current=current) -> float:
                ps = [pos[n] for n in nbrs[k] if n in pos]
                return sum(ps) / len(ps) if ps else current[k]

            layers[i].sort(key=lambda k, current=current, bary=bary: (bary(k), current[k]))
    return layers


def _place(nodes: dict, layers: list[list[tuple]], chains: dict) -> None:
    up, down = _neighbours(nodes, chains)
    for row in layers:  # start packed and centred
        x = 0.0
        for k in row:
            nodes[k].x = x + nodes[k].w / 2
            x += nodes[k].w + GAP_X
        for k in row:
            nodes[k].x -= (x - GAP_X) / 2
    for sweep in range(6):
        downward = sweep % 2 == 0
        rows = layers[1:] if downward else layers[-2::-1]
        for row in rows:
            nbrs = up if downward else down
            want = []
            for k in row:
                xs = [nodes[n].x for n in nbrs[k]]
                want.append(sum(xs) / len(xs) if xs else nodes[k].x)
            _pack(nodes, row, want)


def _pack(nodes: dict, row: list[tuple], want: list[float]) -> None:
    """Put each node of the row near its wanted x, in order, without overlaps."""
    xs = list(want)
    for i in range(1, len(row)):
        gap = (nodes[row[i - 1]].w + nodes[row[i]].w) / 2 + GAP_X
        xs[i] = max(xs[i], xs[i - 1] + gap)
    shift = sum(w - x for w, x in zip(want, xs, strict=True)) / len(row)
    # shifting left must not undo the packing: it is uniform, so order and gaps hold
    for k, x in zip(row, xs, strict=True):
        nodes[k].x = x + shift


def _finish(nodes: dict, layers: list[list[tuple]], chains: dict, sub: dict) -> _Level:
    top = CLUSTER_LABEL_H + CLUSTER_PAD
    ys, y = [], top
    heights = []
    for i, row in enumerate(layers):
        ports_only = all(k[0] in ("in", "out") for k in row)
        if ports_only:  # on the cluster's edge: takes no room
            ys.append(0.0 if i == 0 else y - GAP_Y)
            heights.append(0.0)
            continue
        h = max(nodes[k].h for k in row)
        ys.append(y)
        heights.append(h)
        y += h + GAP_Y
    height = y - GAP_Y + CLUSTER_PAD
    left = min(nodes[k].x - nodes[k].w / 2 for k in nodes)
    right = max(nodes[k].x + nodes[k].w / 2 for k in nodes)
    dx = CLUSTER_PAD - left
    width = right - left + 2 * CLUSTER_PAD
    placed: dict[str, Rect] = {}
    ports: dict = {}
    for k, node in nodes.items():
        node.x += dx
        layer_top, layer_h = ys[node.layer], heights[node.layer]
        node.y = layer_top + (layer_h - node.h) / 2
        if k[0] == "in":
            ports[k] = (node.x, 0.0)
        elif k[0] == "out":
            ports[k] = (node.x, height)
        elif k[0] == "box":
            placed[k[1]] = Rect(node.x - node.w / 2, node.y, node.w, node.h)
        elif k[0] == "cluster":
            origin = Rect(node.x - node.w / 2, node.y, node.w, node.h)
            placed[k[1]] = origin
            inner = sub[k[1]]
            for name, rect in inner.placed.items():
                placed[name] = rect.moved(origin.x, origin.y)
    routes = {}
    for edge, chain in chains.items():
        # a dummy spans its whole layer, and an edge leaves (enters) a node shorter
        # than its layer straight down to the layer's edge: lines run beside the boxes
        a, b = nodes[chain[0]], nodes[chain[-1]]
        points = []
        if a.key[0] in ("box", "cluster") and a.h < heights[a.layer]:
            points.append((a.x, ys[a.layer] + heights[a.layer]))
        for k in chain[1:-1]:
            node = nodes[k]
            points += [(node.x, ys[node.layer]), (node.x, ys[node.layer] + heights[node.layer])]
        if b.key[0] in ("box", "cluster") and b.h < heights[b.layer]:
            points.append((b.x, ys[b.layer]))
        routes[edge] = points
    return _Level(nodes, width, height, routes, placed, ports, sub)


def layout_graph(graph: BlockGraph) -> Layout:
    comp = _Compound(graph)
    root = _lay_cluster(comp, "")
    title_h = 30.0
    result = Layout(root.width, root.height + title_h)
    for name, rect in root.placed.items():
        target = result.clusters if name in graph.clusters else result.boxes
        target[name] = rect.moved(0, title_h)
    for src, dst in comp.edges:
        points = _route(comp, root, src, dst)
        result.edges.append((src, dst, [(x, y + title_h) for x, y in points]))
    return result


def _route(comp: _Compound, root: _Level, src: str, dst: str) -> list[tuple[float, float]]:
    """Waypoints from the bottom of ``src`` to the top of ``dst`` through ports and dummies."""
    common = ""
    for a, b in zip(comp.chain[src], comp.chain[dst], strict=False):
        if a != b:
            break
        common = a
    levels = {"": (root, 0.0, 0.0)}

    def level_of(cluster: str) -> tuple[_Level, float, float]:
        if cluster not in levels:
            parent_level, px, py = level_of(parent_cluster(cluster, comp.graph.clusters))
            rect = parent_level.placed[cluster]
            levels[cluster] = (parent_level.sub[cluster], px + rect.x, py + rect.y)
        return levels[cluster]

    def local_points(cluster: str, a: tuple, b: tuple) -> list[tuple[float, float]]:
        level, ox, oy = level_of(cluster)
        pts = [(x + ox, y + oy) for x, y in level.routes.get((a, b), [])]
        if b[0] in ("in", "out"):
            px, py = level.ports[b]
            pts.append((px + ox, py + oy))
        return pts

    src_rect, dst_rect = root.placed[src], root.placed[dst]
    points = [(src_rect.cx, src_rect.y + src_rect.h)]
    # climb out of the clusters around src
    inner = comp.chain[src]
    start = inner.index(common) + 1 if common else 0
    for cluster in reversed(inner[start:]):
        a = comp.item_in(cluster, src)
        points += local_points(cluster, a, ("out", "/".join(a)))
    a, b = comp.item_in(common, src), comp.item_in(common, dst)
    points += local_points(common, a, b)
    outer = comp.chain[dst]
    start = outer.index(common) + 1 if common else 0
    for cluster in outer[start:]:
        level, ox, oy = level_of(cluster)
        px, py = level.ports[("in", src)]
        points.append((px + ox, py + oy))
        points += local_points(cluster, ("in", src), comp.item_in(cluster, dst))
    points.append((dst_rect.cx, dst_rect.y))
    return points
