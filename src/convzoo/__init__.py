"""convzoo: the landmark convolutional networks, faithful to their papers.

>>> import convzoo
>>> model = convzoo.create_model("vgg16", num_classes=10)
>>> convzoo.summary("vgg16").total_params
138357544
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["ModelCard", "create_model", "list_models", "model_card", "register", "summary"]
__version__ = "0.1.0"

# The public names load on first use, so `import convzoo.cli` (and `convzoo --help`)
# does not pay for importing torch and every model family.
_LAZY = {
    "summary": "convzoo.analysis.summary",
    "ModelCard": "convzoo.cards",
    "create_model": "convzoo.factory",
    "list_models": "convzoo.registry",
    "model_card": "convzoo.registry",
    "register": "convzoo.registry",
}

if TYPE_CHECKING:
    from convzoo.analysis.summary import summary
    from convzoo.cards import ModelCard
    from convzoo.factory import create_model
    from convzoo.registry import list_models, model_card, register


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'convzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
