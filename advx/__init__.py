"""advx: why adversarial examples exist, measured on the post's MNIST network.

Modules: ``data`` (verified MNIST), ``model`` (the Flax MLP), ``train`` (jitted Optax training),
``store`` (runs on disk), ``neurons`` (effective weights, dataset averages, sparsity), ``attacks``
(overlay, FGSM, PGD), ``subspace`` (the data subspace), ``figures`` (Plotly builders).
Import the module you need; this package imports nothing heavy by itself.
"""

__version__ = "0.1.0"
