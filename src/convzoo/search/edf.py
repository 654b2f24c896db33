"""Comparing design spaces by their error EDFs (Radosavovic et al. 2020, Designing
Network Design Spaces, arXiv:2003.13678, Sections 2-3; d2l.ai Section 8.8).

A design space is judged by the distribution of its models, not by its best one: sample
n networks from each space, train each briefly, and compare the empirical cumulative
distribution of their errors, F(e) = (1/n) sum_i 1[e_i < e] (Eq. 1). The paper samples
n = 500 models per space in a fixed flop regime (400MF at 224 px) and trains each for
10 epochs on ImageNet (Section 2); a space whose curve lies higher and further left
holds more good models.

Here, for every space of `convzoo.search.design_space` (AnyNetX_A..E, RegNet):

* networks are drawn uniformly by `sample_anynet` and redrawn until their multiply-adds
  fall in the MAC range [min_macs, max_macs] (the paper's normalisation by a fixed
  regime). By default the range is the paper's 400MF at 224 px scaled to the training
  image (x (H W) / 224^2: the same networks at 32 px) from 90% of that up;
* `max_depth` / `max_width` shrink every space alike (`scaled_space`) for small budgets;
* each network is trained by the training engine exactly as a search child
  (`convzoo.search.run.train_child`): training split, error = 1 - the best top-1 on the
  seeded validation split; the test split is never read;
* every finished model is appended to ``results.jsonl`` at once, so a killed analysis
  resumes without training any model twice.

    out/config.json     the settings (a resumed analysis must use the same)
    out/results.jsonl   one line per trained model
    out/models/SPACE/NNN/   spec.json, train.log and the engine's run
    out/results.json    every model and the per-space summary
    out/edf.png         one EDF per space
    out/report.md       the summary table
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from convzoo.search.design_space import (
    DESIGN_SPACES,
    AnyNetSpace,
    RegNetSpace,
    anynet_macs,
    sample_anynet,
    scaled_space,
)
from convzoo.search.specs import AnyNetSpec

__all__ = ["EdfConfig", "error_edf", "run_edf", "sample_in_range", "summarise"]

SPACE_NAMES = {"a": "AnyNetX_A", "b": "AnyNetX_B", "c": "AnyNetX_C", "d": "AnyNetX_D",
               "e": "AnyNetX_E", "regnet": "RegNet"}  # fmt: skip
PAPER_REGIME = (400e6, 224)  # 400MF at 224 x 224 (Section 2)
MAX_DRAWS = 200_000


def space_name(alias: str) -> str:
    """'A'..'E', 'regnet' or a full name (e.g. 'AnyNetX_C') -> the design space's name."""
    name = SPACE_NAMES.get(alias.lower(), alias)
    if name not in DESIGN_SPACES:
        raise ValueError(f"unknown design space {alias!r}; choose from A B C D E regnet")
    return name


@dataclass
class EdfConfig:
    spaces: tuple[str, ...] = tuple(SPACE_NAMES.values())
    samples: int = 100  # the paper: 500
    epochs: int = 10  # the paper: 10
    dataset: str = "fashion-mnist"
    max_macs: float | None = None  # None: the paper's 400MF regime scaled to the image
    min_macs: float | None = None  # None: 90% of max_macs
    max_depth: int = 16  # blocks per stage (the paper: 16)
    max_width: int = 1024  # channels (the paper: 1024)
    stem_width: int = 32  # the paper's stem: 3x3/2, 32 channels
    batch_size: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    threads: int | None = None
    out: str = "runs/edf"
    quick: bool = False

    def __post_init__(self) -> None:
        self.spaces = tuple(space_name(s) for s in self.spaces)
        for name in ("samples", "epochs", "max_depth", "stem_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_macs is not None and (self.min_macs or 0) > self.max_macs:
            raise ValueError(f"min_macs {self.min_macs:g} is above max_macs {self.max_macs:g}")

    @classmethod
    def quick_preset(cls, **changes: Any) -> EdfConfig:
        """About two minutes on two cores: digits, tiny networks, 6 of each space, 3 epochs."""
        base = {
            "dataset": "digits", "samples": 6, "epochs": 3, "max_depth": 2, "max_width": 64,
            "stem_width": 16, "max_macs": 0.3e6, "batch_size": 64,
            "quick": True,
        }  # fmt: skip
        return cls(**{**base, **{k: v for k, v in changes.items() if v is not None}})

    def design_spaces(self) -> dict[str, AnyNetSpace | RegNetSpace]:
        limits = (self.max_depth, self.max_width)
        return {n: scaled_space(DESIGN_SPACES[n], *limits) for n in self.spaces}

    def mac_range(self, image: tuple[int, int, int]) -> tuple[float, float]:
        macs, side = PAPER_REGIME
        high = self.max_macs or macs * image[1] * image[2] / side**2
        return (0.9 * high if self.min_macs is None else self.min_macs), high

    def child_config(self) -> Any:
        """The settings a search child is trained with (`train_child` reads them)."""
        from convzoo.search.run import SearchConfig

        return SearchConfig(
            space="anynet", strategy="random", dataset=self.dataset, child_epochs=self.epochs,
            batch_size=self.batch_size, val_fraction=self.val_fraction, threads=self.threads,
            out=self.out,
        )  # fmt: skip


# -- the statistics ----------------------------------------------------------------------
def error_edf(errors: list[float], thresholds: list[float]) -> list[float]:
    """F(e) = (1/n) sum_i 1[e_i < e] at each threshold e (the paper's Eq. 1)."""
    if not errors:
        raise ValueError("the EDF of no errors is undefined")
    return [sum(e < t for e in errors) / len(errors) for t in thresholds]


def _quartiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.25, 0.5, 0.75)]


def summarise(rows: list[dict[str, Any]], spaces: tuple[str, ...]) -> dict[str, Any]:
    """Per space: n, mean / min / median error and F at the pooled quartiles of all errors."""
    pooled = [r["error"] for r in rows]
    thresholds = [round(t, 3) for t in _quartiles(pooled)] if pooled else []
    out: dict[str, Any] = {"thresholds": thresholds, "spaces": {}}
    for name in spaces:
        errors = [r["error"] for r in rows if r["space"] == name]
        if errors:
            out["spaces"][name] = {
                "n": len(errors),
                "mean_error": sum(errors) / len(errors),
                "min_error": min(errors),
                "median_error": sorted(errors)[len(errors) // 2],
                "edf": dict(zip(map(str, thresholds), error_edf(errors, thresholds), strict=True)),
            }
    return out


# -- sampling in the MAC range ------------------------------------------------------------
def sample_in_range(
    rng: random.Random,
    space: AnyNetSpace | RegNetSpace,
    image: tuple[int, int, int],
    num_classes: int,
    mac_range: tuple[float, float],
    *,
    stem_width: int = 32,
    max_draws: int = MAX_DRAWS,
) -> AnyNetSpec:
    """A uniform draw of `space` among its networks with MACs in `mac_range` (redrawn)."""
    low, high = mac_range
    for _ in range(max_draws):
        config = dataclasses.replace(sample_anynet(rng, space), stem_width=stem_width)
        if low <= anynet_macs(config, image, num_classes) <= high:
            stages = tuple(
                (s.depth, s.width, int(s.bottleneck_ratio), s.group_width) for s in config.stages
            )
            return AnyNetSpec(stages, config.se_ratio, stem_width)
    raise ValueError(
        f"no network of {space.name} has {low / 1e6:.3g}M-{high / 1e6:.3g}M MACs in "
        f"{max_draws} draws: widen --min-macs/--max-macs or change --max-depth/--max-width"
    )


def training_image(dataset: Any, num_stages: int = 4) -> tuple[int, int, int]:
    """(C, H, W) the engine trains an AnyNet at: the images' own size, or the network's
    minimum (its total stride, 2^(stages + 1)) when they are smaller."""
    side = 2 ** (num_stages + 1)
    height, width = dataset.image_size or (224, 224)
    if min(height, width) < side:
        height = width = side
    return dataset.in_channels, height, width


# -- the run -----------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The finished models; a line cut short by a kill is dropped (its model reruns)."""
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _check_settings(cfg: EdfConfig, path: Path) -> None:
    # more samples or other spaces extend the same analysis; what shapes a model may not change
    free = ("threads", "out", "quick", "spaces", "samples")
    keep = {k: v for k, v in asdict(cfg).items() if k not in free}
    keep = json.loads(json.dumps(keep))
    if path.is_file():
        stored = json.loads(path.read_text())
        changed = sorted(k for k in stored if stored[k] != keep.get(k))
        if changed:
            raise ValueError(
                f"{path.parent} holds an analysis with other settings ({', '.join(changed)}); "
                "use the same settings to resume, or another --out"
            )
    else:
        path.write_text(json.dumps(keep, indent=2) + "\n")


def run_edf(cfg: EdfConfig) -> dict[str, Any]:
    """Sample, train and record each space's models (resuming); summarise and plot."""
    from convzoo.data import load_dataset
    from convzoo.search.run import child_cost, train_child

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(cfg, out / "config.json")
    data = load_dataset(cfg.dataset)
    image = training_image(data)
    mac_range = cfg.mac_range(image)
    spaces, child = cfg.design_spaces(), cfg.child_config()
    log = out / "results.jsonl"
    rows = _read_jsonl(log)
    done = {(r["space"], r["index"]) for r in rows}
    # spaces take turns, so a stopped analysis has about as many models of each
    todo = [(n, i) for i in range(cfg.samples) for n in spaces if (n, i) not in done]
    print(
        f"error EDF of {', '.join(spaces)} on {cfg.dataset} at {image[1]}x{image[2]}: "
        f"{cfg.samples} models each, {cfg.epochs} epoch(s), MACs {mac_range[0] / 1e6:.3g}M-"
        f"{mac_range[1] / 1e6:.3g}M; {len(rows)} done, {len(todo)} to train -> {out}",
        flush=True,
    )
    started = time.perf_counter()
    for k, (name, index) in enumerate(todo, start=1):
        rng = random.Random(f"{cfg.seed}/{name}/{index}")  # the same draw after a restart
        spec = sample_in_range(
            rng, spaces[name], image, data.num_classes, mac_range, stem_width=cfg.stem_width
        )
        model_dir = out / "models" / name / f"{index:03d}"
        # a run left here has no line in results.jsonl: it was cut short, and starts over
        shutil.rmtree(model_dir / "run", ignore_errors=True)
        model_dir.mkdir(parents=True, exist_ok=True)
        params, macs = child_cost(spec, image, data.num_classes)
        seed = cfg.seed * 1_000_000 + 10_000 * list(DESIGN_SPACES).index(name) + index
        tick = time.perf_counter()
        val_acc = train_child(child, spec.save(model_dir / "spec.json"), model_dir / "run", seed)
        row = {"space": name, "index": index, "error": 1.0 - val_acc, "params": params,
               "macs": macs, "seconds": time.perf_counter() - tick, "seed": seed,
               "spec": spec.to_dict()}  # fmt: skip
        with open(log, "a") as f:  # one whole line per model: a kill loses at most this one
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        eta = (time.perf_counter() - started) / k * (len(todo) - k)
        print(
            f"[{len(rows)}/{cfg.samples * len(spaces)}] {name} #{index}: error {row['error']:.3f} "
            f"({params / 1e3:.0f}k params, {macs / 1e6:.2f}M MACs, {row['seconds']:.1f}s)  "
            f"ETA {eta / 60:.1f} min",
            flush=True,
        )
    return _finish(cfg, rows, image, mac_range)


def _finish(cfg: EdfConfig, rows: list[dict[str, Any]], image, mac_range) -> dict[str, Any]:
    out = Path(cfg.out)
    rows = [r for r in rows if r["space"] in cfg.spaces and r["index"] < cfg.samples]
    rows.sort(key=lambda r: (cfg.spaces.index(r["space"]), r["index"]))
    results = {
        "title": _title(cfg, image, mac_range),
        "config": asdict(cfg),
        "image": list(image),
        "mac_range": list(mac_range),
        "summary": summarise(rows, cfg.spaces),
        "models": rows,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_edf(rows, cfg.spaces, out / "edf.png", title=results["title"])
    (out / "report.md").write_text(report(results))
    return results


def _title(cfg: EdfConfig, image, mac_range) -> str:
    return (
        f"{cfg.dataset} {image[1]}x{image[2]}, {cfg.epochs} epoch(s), "
        f"{mac_range[0] / 1e6:.3g}-{mac_range[1] / 1e6:.3g}M MACs"
    )


def report(results: dict[str, Any]) -> str:
    """A markdown table: per space n, mean / min error, F at the thresholds."""
    summary = results["summary"]
    cfg = results["config"]
    thresholds = summary["thresholds"]
    head = ["space", "n", "mean error", "min error", *(f"F({t:.3f})" for t in thresholds)]
    lines = [
        f"# Error EDF: {results['title']}",
        "",
        f"Depth <= {cfg['max_depth']} per stage, width <= {cfg['max_width']}, stem "
        f"{cfg['stem_width']}; error = 1 - best validation top-1; F(e) = share of a "
        "space's models with error below e (thresholds: quartiles of all errors).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, s in summary["spaces"].items():
        cells = [name, str(s["n"]), f"{s['mean_error']:.3f}", f"{s['min_error']:.3f}"]
        cells += [f"{s['edf'][str(t)]:.2f}" for t in thresholds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_edf(
    rows: list[dict[str, Any]], spaces: tuple[str, ...], path: Path, *, title: str
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in spaces:
        errors = sorted(r["error"] for r in rows if r["space"] == name)
        if errors:  # F steps up by 1/n just after each error (strict inequality)
            ys = [k / len(errors) for k in range(len(errors) + 1)]
            ax.step([errors[0], *errors], ys, where="post", label=f"{name} (n={len(errors)})")
    ax.set(xlabel="validation error", ylabel="cumulative prob. (EDF)", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
