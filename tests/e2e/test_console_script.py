"""The kit as a command: `python -m prodcon.cli` in a process of its own."""

import subprocess
import sys

from prodcon import __version__


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "prodcon.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"prodcon {__version__}"
