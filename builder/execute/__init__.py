"""Executing a post's code cells in a Jupyter kernel (warm pool or cold start) and turning kernel outputs into `CellResult`s."""
