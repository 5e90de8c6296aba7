"""Build executed, Jekyll-style static sites from Markdown posts with Python code."""

__version__ = "0.1.0"
