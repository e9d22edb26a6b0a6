"""Independent reference implementations (plain NumPy) of bioSNN protocols.

They re-implement a protocol's network and rule outside Brian2, for tests
(two formulations agree) and speed benchmarks (``benchmarks/``).
"""
