"""prodcon's conformance kit: a pytest plugin that checks producer-consumer code.

Kept import-light on purpose: pytest loads the plugin in every session of every
user who has it installed, and the kit must cost nothing when it is not asked for.
"""

__version__ = "0.1.0"
