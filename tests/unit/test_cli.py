
from prodcon import __version__
from prodcon.cli import main


def test_contract_is_printed(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert f"prodcon {__version__}" in out
    assert "consumer(q, handle)" in out and "sentinel-shutdown" in out
    assert main(["contract"]) == 0
