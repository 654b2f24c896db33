"""Class probabilities for image files, with the preprocessing stored in a checkpoint.

A checkpoint's ``config["preprocess"]`` says what the network was trained on:
``in_channels`` (1 = grayscale, 3 = RGB), ``input_size`` ``[H, W]`` and the
per-channel ``mean`` / ``std`` of the normalisation. Every image is read with
PIL, converted to that many channels (an RGB photo for a grayscale model is
converted to luminance, a grayscale scan for an RGB model is replicated to three
channels, transparent pixels become white), then prepared by the same functions
as the training data: resized to ``input_size`` (the whole image, no crop,
`convzoo.data.splits.resize_uint8`, the trainer's ``"resize":
"bilinear-antialias"``), scaled to [0, 1] and normalised
(`convzoo.data.loader.normalize`).

A file that is missing, not an image or truncated does not stop the others: its
`FilePrediction` carries the error instead of predictions.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn
from torchvision.transforms.v2.functional import pil_to_tensor

from convzoo.data.loader import normalize
from convzoo.data.splits import resize_uint8
from convzoo.errors import ConvzooWarning

__all__ = ["ClassScore", "FilePrediction", "Predictor", "Preprocess", "expand_image_paths"]

PIL_MODES = {1: "L", 3: "RGB"}
RESIZE_MODES = ("bilinear-antialias",)


@dataclass(frozen=True)
class Preprocess:
    """The input pipeline a checkpoint was trained with."""

    in_channels: int
    input_size: tuple[int, int]  # (H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize: str = "bilinear-antialias"  # the trainer's resize of the whole image

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise ValueError(
                f"unknown resize {self.resize!r} in the checkpoint's preprocess; "
                f"known: {', '.join(RESIZE_MODES)}"
            )
        if self.in_channels not in PIL_MODES:
            raise ValueError(
                f"images can be prepared for 1 (grayscale) or 3 (RGB) channels, "
                f"the checkpoint wants {self.in_channels}"
            )
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            raise ValueError(f"input_size must be [H, W], got {list(self.input_size)}")
        for label, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != self.in_channels:
                raise ValueError(
                    f"preprocess {label} needs one value per channel ({self.in_channels}), "
                    f"got {list(values)}"
                )
        if min(self.std) <= 0:
            raise ValueError(f"preprocess std must be positive, got {list(self.std)}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocess:
        """From a checkpoint config (its "preprocess" entry)."""
        if not config.get("preprocess"):
            raise ValueError(
                "its config has no 'preprocess' entry (in_channels, input_size, mean, std), "
                "so images cannot be prepared as in training"
            )
        try:
            spec = config["preprocess"]
            return cls(
                in_channels=int(spec["in_channels"]),
                input_size=tuple(int(s) for s in spec["input_size"]),  # type: ignore[arg-type]
                mean=tuple(float(m) for m in spec["mean"]),
                std=tuple(float(s) for s in spec["std"]),
                resize=str(spec.get("resize", "bilinear-antialias")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(
                "the checkpoint config has no usable 'preprocess' entry "
                '{"in_channels", "input_size": [H, W], "mean", "std"}: '
                f"{type(exc).__name__} {exc}"
            ) from exc

    @property
    def pil_mode(self) -> str:
        return PIL_MODES[self.in_channels]

    def normalize(self, pixels: Tensor) -> Tensor:
        """uint8 (C, H, W) -> float, standardised exactly as the training batches are."""
        mean = torch.tensor(self.mean).view(-1, 1, 1)
        std = torch.tensor(self.std).view(-1, 1, 1)
        return normalize(pixels, mean, std)

    def to_input(self, pixels: Tensor) -> Tensor:
        """uint8 (C, H0, W0) image -> normalised float (C, H, W): the training data's
        resize of the whole image (`resize_uint8`), then its normalisation."""
        return self.normalize(resize_uint8(pixels[None], self.input_size)[0])

    def load(self, path: str | Path) -> Tensor:
        """Read one image file into the model's input layout (C, H, W).

        Raises ``ValueError`` naming the file if it is missing, unreadable or not an image.
        """
        return self.to_input(self.read(path))

    def read(self, path: str | Path) -> Tensor:
        """One image file as uint8 (C, H0, W0) with the model's channels, at its own size."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                try:
                    image = Image.open(path)
                except Image.DecompressionBombWarning:
                    image = self._open_large(path)
            with image:
                image.load()  # decode now: a truncated file fails here, not later
                return self.pixels(image)
        except UnidentifiedImageError:
            raise ValueError(f"{path}: not an image PIL can read") from None
        except Image.DecompressionBombError as exc:
            pixels_said = re.search(r"\((\d+) pixels\)", str(exc))
            size = f" ({int(pixels_said.group(1)):,} pixels)" if pixels_said else ""
            raise ValueError(
                f"{path}: refused, the image is too large{size}: more than twice PIL's limit "
                f"of {Image.MAX_IMAGE_PIXELS:,} pixels, a possible decompression bomb"
            ) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable image ({exc})") from None

    def pixels(self, image: Image.Image) -> Tensor:
        """A decoded PIL image as uint8 (C, H0, W0) with the model's channels."""
        return pil_to_tensor(_to_mode(image, self.pil_mode))

    def prepare(self, image: Image.Image) -> Tensor:
        """A decoded PIL image -> the model's input layout (C, H, W)."""
        return self.to_input(self.pixels(image))

    def _open_large(self, path: Path) -> Image.Image:
        """Open an image above PIL's decompression-bomb limit (below twice it), saying so."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        w, h = image.size
        warnings.warn(
            f"{path} is {w}x{h} = {w * h:,} pixels, above PIL's {Image.MAX_IMAGE_PIXELS:,}-pixel "
            f"safety limit against decompression bombs; reading it anyway (it is resized to "
            f"{self.input_size[0]}x{self.input_size[1]}). Downscale such files first.",
            ConvzooWarning,
            stacklevel=3,
        )
        return image


def expand_image_paths(paths: Iterable[str | Path]) -> list[str]:
    """Files as given; a folder becomes its image files (by extension), sorted by name.

    Folders are not searched recursively; one with no image files is a `ValueError`.
    """
    extensions = {ext.lower() for ext in Image.registered_extensions()}
    expanded: list[str] = []
    for path in map(Path, paths):
        if not path.is_dir():
            expanded.append(str(path))
            continue
        images = sorted(
            str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in extensions
        )
        if not images:
            raise ValueError(f"{path} is a folder with no image files PIL can read")
        expanded.extend(images)
    return expanded


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    """Convert to "L" or "RGB"; transparency is composited onto white first."""
    if image.mode == mode:
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    elif image.mode.startswith("I;16"):
        # 16-bit grayscale (PNG scans): PIL's convert would clip at 255, so scale instead
        wide = np.asarray(image.convert("I"), dtype=np.int64)
        image = Image.fromarray((wide >> 8).clip(0, 255).astype(np.uint8), "L")
    return image.convert(mode)


@dataclass(frozen=True)
class ClassScore:
    index: int
    name: str
    probability: float


@dataclass(frozen=True, kw_only=True)
class FileOutcome:
    """What came of one input file: its results, or the error that stopped it."""

    path: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def results(self) -> dict[str, Any]:
        """The JSON fields between "file" and "error"."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.path, **self.results(), "error": self.error}


@dataclass(frozen=True, kw_only=True)
class FilePrediction(FileOutcome):
    """The top-k classes for one file, or why there are none."""

    top: tuple[ClassScore, ...] = ()

    def results(self) -> dict[str, Any]:
        return {
            "predictions": [
                {"class": s.name, "index": s.index, "probability": s.probability} for s in self.top
            ]
        }


class Predictor:
    """A model in eval mode plus its preprocessing and class names."""

    def __init__(
        self,
        model: nn.Module,
        preprocess: Preprocess,
        classes: Sequence[str] | None = None,
        *,
        batch_size: int = 32,
    ) -> None:
        card = getattr(model, "card", None)
        if card is not None and card.task != "classification":
            raise ValueError(
                f"predict gives class probabilities; {card.name} is a {card.task} network"
            )
        self.model = model.eval()
        self.preprocess = preprocess
        num_classes = getattr(model, "num_classes", None)
        if classes is not None and num_classes is not None and len(classes) != num_classes:
            raise ValueError(
                f"the checkpoint names {len(classes)} classes, "
                f"but the model has {num_classes} outputs"
            )
        self.classes = list(classes) if classes is not None else None
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs: Any) -> Predictor:
        """From a checkpoint file or run directory (see `convzoo.train.checkpoint`)."""
        from convzoo.errors import CheckpointError
        from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint

        path = resolve_checkpoint(path)
        model, config = model_from_checkpoint(path)
        try:
            preprocess = Preprocess.from_config(config)
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        return cls(model, preprocess, config.get("classes"), **kwargs)

    def class_name(self, index: int) -> str:
        return self.classes[index] if self.classes is not None else str(index)

    @torch.no_grad()
    def probabilities(self, batch: Tensor) -> Tensor:
        """Softmax over the classes for a preprocessed batch (N, C, H, W).

        Warns (`ConvzooWarning`) when the batch holds NaN or inf: those rows come out NaN.
        """
        bad = int((~torch.isfinite(batch.flatten(1))).any(dim=1).sum()) if batch.numel() else 0
        if bad:
            warnings.warn(
                f"{bad} of {len(batch)} inputs hold NaN or inf values; their probabilities are NaN",
                ConvzooWarning,
                stacklevel=2,
            )
        output = self.model(batch)
        logits = output[0] if isinstance(output, tuple) else output  # AuxOutput -> main head
        return logits.float().softmax(dim=1)

    def predict_files(self, paths: Iterable[str | Path], *, top_k: int = 5) -> list[FilePrediction]:
        """Top-`top_k` classes per file, in the order given; failures are reported per file."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        results: dict[int, FilePrediction] = {}
        pending: list[tuple[int, str, Tensor]] = []
        paths = [str(p) for p in paths]
        for position, path in enumerate(paths):
            try:
                pending.append((position, path, self.preprocess.load(path)))
            except ValueError as exc:
                results[position] = FilePrediction(path=path, error=str(exc))
            if len(pending) == self.batch_size:
                results.update(self._run(pending, top_k))
                pending = []
        if pending:
            results.update(self._run(pending, top_k))
        return [results[i] for i in range(len(paths))]

    def _run(self, pending: list[tuple[int, str, Tensor]], top_k: int) -> dict[int, FilePrediction]:
        probs = self.probabilities(torch.stack([x for _, _, x in pending]))  # (N, classes)
        finite = probs.isfinite().all(dim=1).tolist()
        broken = [path for (_, path, _), ok in zip(pending, finite, strict=True) if not ok]
        if broken:
            warnings.warn(
                f"the model gives NaN or inf for {', '.join(broken)} (diverged weights, or "
                "non-finite pixels); those probabilities mean nothing",
                ConvzooWarning,
                stacklevel=3,
            )
        values, indices = probs.topk(min(top_k, probs.shape[1]), dim=1)
        return {
            position: FilePrediction(
                path=path,
                top=tuple(
                    ClassScore(int(i), self.class_name(int(i)), float(p))
                    for p, i in zip(values[row], indices[row], strict=True)
                ),
            )
            for row, (position, path, _) in enumerate(pending)
        }
