"""The synthetic world generator behind `cordon simulate` (see docs/simulator.md).

`cordon.sim.params.derive_params` -> `cordon.sim.export.simulate(out, params)` writes a Mastodon export with
a planted distribution network, benign decoys, bank.csv and truth.json (`cordon.sim.truth`). This package
imports nothing heavy on its own, so that `from cordon.sim.truth import read_truth` stays cheap.
"""
