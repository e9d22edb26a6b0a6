"""Pure features of saved runs: functions of an ``xarray.Dataset`` (and the run's
parameters) that give rates, ISI statistics, window fits, membrane features and learning
curves. Protocols (their ``summarize``), plots and validation all import from here; this
layer imports no protocol module and runs no simulation.

``lif``: f-I curves; ``stdp``: STDP windows; ``membrane``: current-clamp features;
``learning``: classification accuracy and learning curves; ``izhikevich``: spike
trains of the Izhikevich presets during and after the step.
"""
