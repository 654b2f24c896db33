"""Dense prediction: per-pixel loss, the U-Net border weight map, IoU and Dice.

Ronneberger, Fischer, Brox (2015). U-Net: Convolutional Networks for Biomedical
Image Segmentation. arXiv:1505.04597. Section 3, Eq. 1-2: the energy is a
pixel-wise soft-max with cross-entropy, weighted by

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))

with w_c balancing the class frequencies, d1 and d2 the distances to the border
of the nearest and second-nearest object, w0 = 10 and sigma ~ 5 px. Objects
here are the connected regions of each foreground class (our masks hold classes,
not instances), and the border term is added on background pixels, the thin
gaps between touching objects that the paper wants the network to learn. w_c
is the inverse frequency of each class in the image, scaled so its mean is 1.

Metrics come from the pixel confusion matrix (rows: true class, columns:
predicted): IoU_k = TP / (TP + FP + FN), Dice_k = 2 TP / (2 TP + FP + FN); a
class absent from both truth and prediction has no score and is left out of
the means.

Boundary quality is Boundary IoU (Cheng, Girshick, Dollar, Berg, Kirillov 2021,
arXiv:2103.16562, Section 4): for each class, the pixels of the truth mask
within d pixels of its contour, G_d, and those of the prediction, P_d, give
|G_d & P_d| / |G_d | P_d|, so it scores the outlines alone, where mean IoU is
dominated by the interiors of large regions. As in the paper, d is 2% of the
image diagonal (at least 1 px) and the distance is the erosion's (chessboard).
Unlike the paper's instance masks, the image frame is not a contour here: a
class touching the border of the image is not given a band along it. Counts are
summed over the whole set before dividing, as for IoU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.models.unet import center_crop
from convzoo.train.metrics import tally_confusion

__all__ = [
    "border_weight_map",
    "boundary_bands",
    "boundary_counts",
    "boundary_scores",
    "boundary_width",
    "confusion_scores",
    "crop_targets",
    "evaluate_segmentation",
    "pixel_loss",
]

W0, SIGMA = 10.0, 5.0  # Section 3


def border_weight_map(mask: np.ndarray, *, w0: float = W0, sigma: float = SIGMA) -> np.ndarray:
    """Eq. 2 for one (H, W) mask of class indices (0 = background): float32 (H, W)."""
    from scipy import ndimage

    mask = np.asarray(mask)
    classes, counts = np.unique(mask, return_counts=True)
    balance = mask.size / (len(classes) * counts)  # w_c: mean over pixels is 1
    weights = balance[np.searchsorted(classes, mask)].astype(np.float64)
    distances = []
    for k in classes[classes > 0]:
        regions, n = ndimage.label(mask == k)
        for region in range(1, n + 1):
            distances.append(ndimage.distance_transform_edt(regions != region))
    if len(distances) >= 2:
        nearest = np.sort(np.stack(distances), axis=0)[:2]  # d1, d2 per pixel
        border = w0 * np.exp(-((nearest[0] + nearest[1]) ** 2) / (2 * sigma**2))
        weights += np.where(mask == 0, border, 0.0)
    return weights.astype(np.float32)


def crop_targets(targets: Tensor, size: tuple[int, int]) -> Tensor:
    """The centre of (N, H, W) targets matching an output of `size` (valid-convolution U-Net)."""
    if tuple(targets.shape[-2:]) == tuple(size):
        return targets
    return center_crop(targets, *size)


def pixel_loss(
    logits: Tensor,
    targets: Tensor,
    *,
    border_weights: bool = False,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Mean per-pixel cross-entropy of (N, K, h, w) logits; targets (N, H, W) are centre-cropped.

    With `border_weights`, each pixel's term is weighted by Eq. 2 (computed on the
    full mask, so objects cut off by the crop still count).
    """
    out_size = tuple(logits.shape[-2:])
    losses = F.cross_entropy(
        logits.float(), crop_targets(targets, out_size), reduction="none",
        label_smoothing=label_smoothing,
    )  # fmt: skip
    if not border_weights:
        return losses.mean()
    maps = np.stack([border_weight_map(m) for m in targets.cpu().numpy()])
    weights = crop_targets(torch.from_numpy(maps), out_size).to(losses.device)
    return (losses * weights).mean()


def confusion_scores(confusion: Tensor) -> dict[str, Any]:
    """Pixel accuracy, per-class IoU and Dice (in %) and their means from a K x K confusion."""
    confusion = confusion.double()
    tp = confusion.diag()
    truth, predicted = confusion.sum(dim=1), confusion.sum(dim=0)
    union = truth + predicted - tp
    present = union > 0  # classes in the truth or the prediction
    iou = torch.where(present, tp / union.clamp_min(1), torch.nan) * 100
    dice = torch.where(present, 2 * tp / (truth + predicted).clamp_min(1), torch.nan) * 100
    total = confusion.sum().item()
    return {
        "pixel_acc": tp.sum().item() / max(total, 1) * 100,
        "miou": iou[present].mean().item() if present.any() else float("nan"),
        "dice": dice[present].mean().item() if present.any() else float("nan"),
        "per_class_iou": [None if v != v else v for v in iou.tolist()],  # NaN -> None (JSON)
        "per_class_dice": [None if v != v else v for v in dice.tolist()],
    }


def boundary_width(height: int, width: int) -> int:
    """The band half-width d of Boundary IoU: 2% of the image diagonal, at least 1 px."""
    return max(1, round(0.02 * math.hypot(height, width)))


def boundary_bands(masks: Tensor, num_classes: int, width: int) -> Tensor:
    """(N, K, H, W) bool: the pixels of class k within `width` px of its contour.

    A pixel is in the band when the (2 width + 1)-square around it holds another
    class; the masks are padded by replication, so the image frame is no contour.
    """
    onehot = F.one_hot(masks.long(), num_classes).permute(0, 3, 1, 2).float()
    padded = F.pad(onehot, (width, width, width, width), mode="replicate")
    eroded = -F.max_pool2d(-padded, 2 * width + 1, stride=1)  # min over the square
    return (onehot > 0) & (eroded < 1)


def boundary_counts(predicted: Tensor, truth: Tensor, num_classes: int, width: int) -> Tensor:
    """(2, K) float64: per class, |G_d & P_d| and |G_d | P_d| summed over the batch."""
    truth_band = boundary_bands(truth, num_classes, width)
    predicted_band = boundary_bands(predicted, num_classes, width)
    inter = (truth_band & predicted_band).sum(dim=(0, 2, 3))
    union = (truth_band | predicted_band).sum(dim=(0, 2, 3))
    return torch.stack([inter, union]).double()


def boundary_scores(counts: Tensor) -> dict[str, Any]:
    """Boundary IoU per class (in %) and its mean over the classes with a band."""
    inter, union = counts.double()
    present = union > 0
    iou = torch.where(present, inter / union.clamp_min(1), torch.nan) * 100
    return {
        "boundary_iou": iou[present].mean().item() if present.any() else float("nan"),
        "per_class_boundary_iou": [None if v != v else v for v in iou.tolist()],
    }


@torch.no_grad()
def evaluate_segmentation(
    model: nn.Module, batches, *, num_classes: int, dist=None, **options: Any
) -> dict[str, Any]:
    """Per-pixel loss, pixel accuracy, IoU, Dice and Boundary IoU per class and their
    means over `batches`; `options` as `eval_outputs` takes them."""
    boundary = torch.zeros(2, num_classes, dtype=torch.float64)

    def tally(logits: Tensor, masks: Tensor) -> tuple[float, float, Tensor]:
        nonlocal boundary
        masks = crop_targets(masks, tuple(logits.shape[-2:]))
        loss = F.cross_entropy(logits, masks, reduction="sum").item()
        predicted = logits.argmax(1)
        width = boundary_width(*masks.shape[-2:])
        boundary += boundary_counts(predicted, masks, num_classes, width).cpu()
        return loss, len(logits), (masks * num_classes + predicted).flatten().cpu()

    loss_sum, images, confusion = tally_confusion(
        model, batches, tally, num_classes=num_classes, dist=dist, **options
    )
    if dist is not None:
        boundary = dist.sum_tensor(boundary)
    pixels = confusion.sum().item()
    return {
        "loss": loss_sum / max(pixels, 1),
        **confusion_scores(confusion),
        **boundary_scores(boundary),
        "n": int(images),
        "pixels": int(pixels),
        "confusion": confusion.long().tolist(),
    }
