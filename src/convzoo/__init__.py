"""convzoo: the landmark convolutional networks, faithful to their papers.

>>> import convzoo
>>> model = convzoo.create_model("vgg16", num_classes=10)
>>> convzoo.summary("vgg16").total_params
138357544
"""

from convzoo.analysis.summary import summary
from convzoo.registry import ModelCard, create_model, list_models, model_card, register

__all__ = ["ModelCard", "create_model", "list_models", "model_card", "register", "summary"]
__version__ = "0.1.0"
