"""Architecture search over convzoo's building blocks, starting from design spaces."""
