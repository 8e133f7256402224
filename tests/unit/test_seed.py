"""One seed fixes every random choice of a run."""

from prodcon.items import make_batch
from prodcon.settings import PROFILES, Settings


def test_seed_fixes_every_random_choice():
    def kinds(seed, label):
        rng = Settings(seed, PROFILES["quick"]).rng(label)
        return [type(i).__name__ for i in make_batch(0, 50, rng)], rng.random()

    assert kinds(5, "t") == kinds(5, "t")
    assert kinds(5, "t") != kinds(6, "t") and kinds(5, "t") != kinds(5, "u")
