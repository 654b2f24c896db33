"""Training: engine, optimizers, schedules, checkpoints, metrics, distributed."""
