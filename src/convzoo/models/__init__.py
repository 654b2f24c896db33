"""One module per family; importing this package registers every network."""

from convzoo.models import regnet  # noqa: F401, I001
from convzoo.models import unet  # noqa: F401
from convzoo.models import vgg  # noqa: F401
