"""Hostile: never finishes importing. The sandbox cuts the import at its bound."""

while True:
    pass
