"""One module per family; importing this package registers every network."""

from convzoo.models import (
    resnet,  # noqa: F401
    vgg,  # noqa: F401
)
