"""Reading sources: front matter, posts and pages into `Post`s, their images and URL claims checked, and importing notebooks and legacy posts."""
