"""The free-threaded twin's test names, without a free-threaded interpreter."""

from prodcon.session import twin


def test_twin_names_stay_selectable():
    name = "test_x[4p4c-max1-even]"
    assert twin.twin_name(name) == "test_x[4p4c-max1-even-free-threaded]"
    assert twin.twin_name("test_x") == "test_x[free-threaded]"
