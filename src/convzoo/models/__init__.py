"""One module per family; importing this package registers every network."""

from convzoo.models import (
    convnext,  # noqa: F401
    efficientnet,  # noqa: F401
    mobilenet,  # noqa: F401
    vgg,  # noqa: F401
)
