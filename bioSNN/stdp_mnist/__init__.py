"""Diehl & Cook (2015) unsupervised STDP on MNIST: the Brian2 network
(:mod:`.network`), the image schedule (:mod:`.schedule`) and the label-assignment and
vote readout (:mod:`.readout`, pure NumPy)."""
