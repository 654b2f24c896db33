"""Architecture search over convzoo's building blocks.

`design_space`: the AnyNet/RegNet design spaces and their sampler. `specs`: searched
architectures as typed JSON specs that build ConvNets (Zoph & Le, NASNet cells, AnyNet),
the networks themselves in `networks`. `spaces`: the decisions a strategy makes.
`strategies`: REINFORCE (its LSTM and anchor attention in `controller`), random search,
regularized evolution, TPE (ask/tell). `run`: a search whose trials live in an Optuna
storage (`convzoo search`). `edf`: design spaces compared by the error EDFs of their
sampled models (`convzoo search edf`).
"""
