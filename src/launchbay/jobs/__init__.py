"""One module per job; each has ``run(ctx) -> dict`` returning its part of the summary."""
