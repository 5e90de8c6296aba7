"""The vocabulary every stage shares: errors, the typed model, site settings, URLs, the theme's location, process control. Imports no other stage."""
