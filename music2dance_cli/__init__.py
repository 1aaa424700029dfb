"""The `music2dance` command line."""
