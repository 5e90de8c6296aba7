"""The build: read, plan, execute and render, write through the one writer; incremental state, workers, locks, progress."""
