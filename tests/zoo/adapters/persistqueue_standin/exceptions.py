"""The library's own Empty and Full, as persist-queue has them."""


class Empty(Exception):
    """get() found no item."""


class Full(Exception):
    """put() found no room."""
