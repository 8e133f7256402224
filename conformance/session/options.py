"""Reading a `--prodcon-*` setting: the command line first, then its `prodcon_*` ini twin.

Import-light: `prodcon.plugin` uses it in every pytest session of everyone who has the
kit installed.
"""

from __future__ import annotations

import pytest


def setting(config: pytest.Config, name: str, kind: type = str):
    """A setting's value: command line first, then the ini file, else None."""
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
        if value is not None:
            try:
                value = kind(value)
            except ValueError:
                raise pytest.UsageError(
                    f"ini option {name}={value!r} is not a {kind.__name__}") from None
    return value
