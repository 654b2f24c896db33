"""One module per family; importing this package registers every network."""

from convzoo.models import (
    googlenet,  # noqa: F401
    inception,  # noqa: F401
    inception_v4,  # noqa: F401
    vgg,  # noqa: F401
    xception,  # noqa: F401
)
