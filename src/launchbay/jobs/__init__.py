"""One module per job; each has ``execute(ctx) -> dict`` returning its part of the summary."""
