"""Rendering: Markdown (kramdown-compatible), Liquid, Jinja templates, listings, feed and notebook export into `Page`s."""
