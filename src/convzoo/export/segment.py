"""Masks for image files from a segmentation checkpoint: a class-index PNG and an overlay.

Images are read at their own size with the checkpoint's channels and
normalisation (`Preprocess.read`, no resize). The valid-convolution ``unet``
segments them with the overlap-tile strategy (`segment_tiled`; the tile is the
training input size unless one is given); same-padded networks (``unet_padded``
and encoder U-Nets) in one pass (`segment_whole`). For each image ``NAME`` the
predictor writes ``NAME-mask.png`` (palette PNG whose pixel values are the class
indices, readable by ``seg-folder:``) and ``NAME-overlay.png`` (the image with
each non-background class tinted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from convzoo.export.predict import FileOutcome, Preprocess
from convzoo.export.tiling import segment_tiled, segment_whole
from convzoo.models.unet import unet_output_size

__all__ = ["MaskPrediction", "SegmentationPredictor", "palette"]


def palette(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 colours: black background, then well-separated hues."""
    import colorsys

    colours = [(0, 0, 0)] + [
        tuple(round(255 * c) for c in colorsys.hsv_to_rgb((k * 0.618) % 1, 0.85, 0.95))
        for k in range(num_classes - 1)
    ]
    return np.array(colours, dtype=np.uint8)


@dataclass(frozen=True, kw_only=True)
class MaskPrediction(FileOutcome):
    """Where one file's mask and overlay went (and the share of each class), or the error."""

    mask: str | None = None
    overlay: str | None = None
    size: tuple[int, int] | None = None  # (H, W)
    fractions: dict[str, float] = field(default_factory=dict)

    def results(self) -> dict[str, Any]:
        return {
            "mask": self.mask,
            "overlay": self.overlay,
            "size": list(self.size) if self.size else None,
            "class_fractions": self.fractions,
        }


class SegmentationPredictor:
    """A segmentation network in eval mode with its preprocessing and class names."""

    def __init__(
        self,
        model: nn.Module,
        preprocess: Preprocess,
        classes: Sequence[str],
        *,
        tile: int | None = None,
    ) -> None:
        card = getattr(model, "card", None)
        if card is not None and card.task != "segmentation":
            raise ValueError(f"{card.name} is a {card.task} network, not a segmentation one")
        self.model = model.eval()
        self.preprocess = preprocess
        self.classes = list(classes)
        config = getattr(model, "config", None)
        self.valid = getattr(config, "padding", "same") == "valid"
        self.depth = getattr(config, "depth", 4)
        # the tile a valid U-Net was trained at (known to fit in memory), grown if its
        # output is too small to hold one 16-aligned step
        self.tile = tile or preprocess.input_size[0]
        if self.valid and not tile:
            while (unet_output_size(self.tile, depth=self.depth) or 0) < 2**self.depth:
                self.tile += 1  # valid sides are 16 apart: a few steps at most

    @classmethod
    def from_checkpoint(cls, path: str | Path, **kwargs: Any) -> SegmentationPredictor:
        from convzoo.train.checkpoint import model_from_checkpoint

        model, config = model_from_checkpoint(path)
        return cls.from_parts(model, config, **kwargs)

    @classmethod
    def from_parts(
        cls, model: nn.Module, config: Mapping[str, Any], **kwargs: Any
    ) -> SegmentationPredictor:
        return cls(model, Preprocess.from_config(config), config.get("classes", []), **kwargs)

    @property
    def method(self) -> str:
        return f"overlap-tile, {self.tile} px tiles" if self.valid else "one pass"

    def logits(self, image: Tensor) -> Tensor:
        """(K, H, W) logits of a normalised (C, H, W) image of any size."""
        if self.valid:
            return segment_tiled(self.model, image, tile=self.tile, align=2**self.depth)
        stride = max((f.stride for f in getattr(self.model, "feature_info", [])), default=32)
        return segment_whole(self.model, image, multiple=stride)

    def segment(self, pixels: Tensor) -> Tensor:
        """The class index per pixel, (H, W), of a uint8 (C, H, W) image."""
        return self.logits(self.preprocess.normalize(pixels)).argmax(0)

    def predict_files(
        self, paths: Iterable[str | Path], out_dir: str | Path
    ) -> list[MaskPrediction]:
        """Segment each file, write its mask and overlay to `out_dir`; failures are per file."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for path in map(str, paths):
            try:
                pixels = self.preprocess.read(path)
            except ValueError as exc:
                results.append(MaskPrediction(path=path, error=str(exc)))
                continue
            mask = self.segment(pixels)
            results.append(self._write(path, pixels, mask, out))
        return results

    def _write(self, path: str, pixels: Tensor, mask: Tensor, out: Path) -> MaskPrediction:
        from PIL import Image

        colours = palette(max(len(self.classes), int(mask.max()) + 1))
        indices = mask.numpy().astype(np.uint8)
        mask_image = Image.fromarray(indices)  # "L", made "P" by its palette
        mask_image.putpalette(colours.flatten().tolist())
        stem = Path(path).stem
        mask_path, overlay_path = out / f"{stem}-mask.png", out / f"{stem}-overlay.png"
        mask_image.save(mask_path)
        rgb = pixels.expand(3, -1, -1).permute(1, 2, 0).numpy().astype(np.float32)
        tint = colours[indices].astype(np.float32)
        alpha = np.where(indices[..., None] > 0, 0.5, 0.0)  # background stays as it is
        Image.fromarray((rgb * (1 - alpha) + tint * alpha).round().astype(np.uint8)).save(
            overlay_path
        )
        counts = np.bincount(indices.ravel(), minlength=len(self.classes)) / indices.size
        names = self.classes or [str(k) for k in range(len(counts))]
        return MaskPrediction(
            path=path,
            mask=str(mask_path),
            overlay=str(overlay_path),
            size=tuple(indices.shape),
            fractions={n: float(c) for n, c in zip(names, counts, strict=False)},
        )
