"""One module per family; importing this package registers every network."""

from convzoo.models import (
    ablation,  # noqa: F401
    alexnet,  # noqa: F401
    allconv,  # noqa: F401
    convnext,  # noqa: F401
    densenet,  # noqa: F401
    efficientnet,  # noqa: F401
    googlenet,  # noqa: F401
    inception,  # noqa: F401
    inception_v4,  # noqa: F401
    lenet,  # noqa: F401
    mobilenet,  # noqa: F401
    modernize,  # noqa: F401
    nasnet,  # noqa: F401
    nin,  # noqa: F401
    preact_resnet,  # noqa: F401
    regnet,  # noqa: F401
    resnet,  # noqa: F401
    resnext,  # noqa: F401
    senet,  # noqa: F401
    speednet,  # noqa: F401
    unet,  # noqa: F401
    vgg,  # noqa: F401
    wide_resnet,  # noqa: F401
    xception,  # noqa: F401
    zfnet,  # noqa: F401
)
