"""Pure converters of content formats (LaTeX to MathML, HTML sanitising, PNG facts, text clean-up); they know nothing of posts or sites."""
