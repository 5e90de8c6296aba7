"""The command line: build, check, new, import, serve, publish, clean."""
