"""Figures: one module per figure, each a pure function of saved Results."""
