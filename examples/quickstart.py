"""bioSNN in a notebook or a script: run a protocol, load it back, look at it.

    python examples/quickstart.py          # ~10 s; writes results/lif-fi-curve/<run-id>/

Each block works as a notebook cell (progress then renders in the cell).
"""
import bioSNN as bs

# 1. what is there
for name, description in bs.list_protocols().items():
    print(f"{name:24s} {description[:70]}")

# 2. the resolved, immutable spec of one protocol (quick size, one parameter changed)
spec = bs.spec("lif-fi-curve", quick=True, overrides={"tau_m": "12 ms"})
print(spec.to_toml())

# 3. run it: the run folder is written as `biosnn run` writes it
results = bs.run(spec)
print("run folder:", results.folder)

# 4. load it back (later, elsewhere) and read it: headline numbers, data with units
again = bs.load(results.folder)
print(again.summary)
spikes = again.quantity("spike_time")          # a Brian2 Quantity (ms)
print(f"{len(spikes)} spikes, first at {spikes.min()}")

# 5. its figures, drawn from the saved files
for name, fig in again.figures().items():
    path = f"quickstart-{name}.png"   # never write into a finished run folder
    fig.savefig(path)
    print("figure:", path)

# 6. every finished run of this protocol with tau_m = 12 ms, newest first
print([r.folder.name for r in bs.find_runs("lif-fi-curve", tau_m="12 ms")])
