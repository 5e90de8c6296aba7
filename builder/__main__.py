"""`python -m builder`: the same as the installed `builder` command."""
from builder.commands.cli import console_main

console_main()
