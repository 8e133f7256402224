import subprocess
import sys

from prodcon import __version__
from prodcon.cli import main


def test_contract_is_printed(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"prodcon {__version__}" in out
    assert "consumer(q, handle)" in out and "sentinel-shutdown" in out
    assert main(["contract"]) == 0


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "prodcon.cli", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"prodcon {__version__}"
