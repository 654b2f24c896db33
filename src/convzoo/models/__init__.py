"""One module per family; importing this package registers every network."""

from convzoo.models import (
    efficientnet,  # noqa: F401
    mobilenet,  # noqa: F401
    vgg,  # noqa: F401
)
