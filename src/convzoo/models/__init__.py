"""One module per family; importing this package registers every network."""

from convzoo.models import (
    densenet,  # noqa: F401
    preact_resnet,  # noqa: F401
    resnet,  # noqa: F401
    resnext,  # noqa: F401
    senet,  # noqa: F401
    vgg,  # noqa: F401
    wide_resnet,  # noqa: F401
)
