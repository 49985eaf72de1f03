"""hanoinet: the working machinery of the UN Convention against Cybercrime.

The pure core (``convention``, ``registry``) holds the treaty as data and the
rules computed from it; ``cli`` is a thin shell over it.
"""

__version__ = "0.1.0"
