"""Top-k predictions for an uploaded picture, with the first layer's feature maps.

The upload is decoded by PIL as an image of an allowed format only, after checking its
byte size and pixel count; the checkpoint loads weights-only (`Predictor.from_checkpoint`).
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 2_000_000
MAX_PIXELS = 4096 * 4096
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
FEATURE_MAPS = 8  # channels of the first convolution shown


class UploadError(ValueError):
    """An upload that is refused (too big, too many pixels, not an image)."""


def decode_image(data: bytes) -> Image.Image:
    if not data:
        raise UploadError("empty upload: send the picture's bytes (PNG, JPEG, ...)")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"upload of {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        if image.width * image.height > MAX_PIXELS:
            raise UploadError(
                f"image of {image.width}x{image.height} pixels; the limit is {MAX_PIXELS:,} pixels"
            )
        image.load()
    except UnidentifiedImageError:
        raise UploadError(f"not an image of a known format ({', '.join(FORMATS)})") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UploadError(f"unreadable image ({exc})") from None
    return image


@functools.lru_cache(maxsize=4)
def predictor(checkpoint: Path):  # -> Predictor
    from convzoo.export.predict import Predictor

    return Predictor.from_checkpoint(checkpoint)


def _png(values) -> str:  # (H, W) tensor -> data: URL, scaled to 0..255
    low, high = float(values.min()), float(values.max())
    scaled = ((values - low) / ((high - low) or 1.0) * 255).byte().numpy()
    buffer = io.BytesIO()
    Image.fromarray(scaled, "L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def predict(checkpoint: Path, data: bytes, top_k: int = 5) -> dict[str, Any]:
    import torch
    from torch import nn

    if not 1 <= top_k <= 100:
        raise UploadError(f"top_k must be between 1 and 100, got {top_k}")
    image = decode_image(data)
    model = predictor(checkpoint)
    batch = model.preprocess.prepare(image).unsqueeze(0)  # (1, C, H, W)
    first = next((m for m in model.model.modules() if isinstance(m, nn.Conv2d)), None)
    maps: list[Any] = []
    hook = first.register_forward_hook(lambda _m, _i, out: maps.append(out)) if first else None
    try:
        probs = model.probabilities(batch)[0]
    finally:
        if hook is not None:
            hook.remove()
    values, indices = probs.topk(min(top_k, probs.numel()))
    with torch.no_grad():
        features = [_png(channel) for channel in maps[0][0][:FEATURE_MAPS]] if maps else []
    return {
        "predictions": [
            {"class": model.class_name(int(i)), "index": int(i), "probability": float(p)}
            for p, i in zip(values, indices, strict=True)
        ],
        "feature_maps": features,
    }


def effective_field(checkpoint: Path, layer: str) -> dict[str, Any]:
    """The effective receptive field of the centre unit of ``layer`` (Luo et al., 2016):
    |d unit / d input| summed over channels, for an input of the training mean (zeros
    after normalisation), as a PNG scaled to its maximum."""
    import torch

    model = predictor(checkpoint)
    modules = dict(model.model.named_modules())
    if layer not in modules or not layer:
        raise UploadError(f"no layer {layer!r}; layers: {', '.join(n for n in modules if n)}")
    channels, size = model.preprocess.in_channels, model.preprocess.input_size
    image = torch.zeros(1, channels, *size, requires_grad=True)
    seen: list[Any] = []
    hook = modules[layer].register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        with torch.enable_grad():
            model.model(image)
            out = seen[0] if seen else None
            if out is None or not isinstance(out, torch.Tensor) or out.dim() != 4:
                raise UploadError(f"layer {layer!r} has no spatial output (N, C, H, W)")
            out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    finally:
        hook.remove()
    grad = image.grad[0].abs().sum(0)  # (H, W)
    rows, cols = (grad > grad.max() * 0.01).nonzero(as_tuple=True)  # 1% of the peak
    extent = (
        [int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)]
        if rows.numel()
        else [0, 0]
    )
    return {"layer": layer, "png": _png(grad), "extent_1pct": extent, "input_size": list(size)}
