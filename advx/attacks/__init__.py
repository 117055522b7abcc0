"""Adversarial examples: the post's overlay, its random control, FGSM and PGD, and their measurements.

The **overlay** is the trick in Justin Skycak's "Intuiting Adversarial Examples in Neural Networks via
a Simple Computational Experiment": add the noise-like effective-weight image of the output neuron for
class ``c`` to a correctly classified digit, and the network says ``c``. Here it is

    x' = clip(x + eps * pattern / ||pattern||, 0, 1)

with ``||.||`` the L-infinity or the L2 norm (``norm="linf"`` or ``"l2"``), so the perturbation never
exceeds ``eps`` in that norm (clipping to [0, 1] only shrinks it). **FGSM** and **PGD** follow Foolbox 3's
definitions, which the tests use as the reference, and take a model function ``x -> logits``
(``as_model_fn(params)``). One word names the size of a perturbation everywhere: ``eps``.

Modules, one concept each: ``threat`` (the eps-ball of each norm: ``Linf``, ``L2``, ``threat(norm)``),
``overlay`` (the overlay, patterns and the network's answers under it), ``sweeps`` (every eps x every
target over an image set), ``success`` (success rates read off a sweep), ``gradient`` (FGSM and PGD),
``rates`` (the methods side by side, and a view of one image), ``paper`` (the published figures) and
``checks`` (typed errors). The page's sentences are ``advx.text.overlay``, its labels ``advx.vocabulary``.

Shapes: images are ``(n, 784)`` float32 pixels in [0, 1]; a pattern is ``(784,)`` (one image-agnostic
direction) or ``(n, 784)`` (one per image); labels and targets are ``(n,)`` integers in 0..9 (a
Python int is broadcast). Params are the inner Flax dict of ``advx.model``.
"""

from advx.attacks.checks import AttackError as AttackError
from advx.attacks.checks import check_class as check_class
from advx.attacks.checks import check_eps as check_eps
from advx.attacks.checks import check_images as check_images
from advx.attacks.gradient import as_model_fn as as_model_fn
from advx.attacks.gradient import fgsm as fgsm
from advx.attacks.gradient import pgd as pgd
from advx.attacks.gradient import random_start as random_start
from advx.attacks.minimal_pgd import minimal_pgd_eps as minimal_pgd_eps
from advx.attacks.overlay import PATTERN_SOURCES as PATTERN_SOURCES
from advx.attacks.overlay import control_kind as control_kind
from advx.attacks.overlay import eps_curve as eps_curve
from advx.attacks.overlay import minimal_eps as minimal_eps
from advx.attacks.overlay import neuron_gradients as neuron_gradients
from advx.attacks.overlay import overlay as overlay
from advx.attacks.overlay import pattern_for as pattern_for
from advx.attacks.overlay import pattern_norm as pattern_norm
from advx.attacks.overlay import predictions as predictions
from advx.attacks.overlay import probabilities as probabilities
from advx.attacks.overlay import random_pattern as random_pattern
from advx.attacks.overlay import unit_pattern as unit_pattern
from advx.attacks.paper import PAPER_CHUNK as PAPER_CHUNK
from advx.attacks.paper import PAPER_EPS as PAPER_EPS
from advx.attacks.paper import PUBLISHED as PUBLISHED
from advx.attacks.paper import PublishedResult as PublishedResult
from advx.attacks.paper import paper_rows as paper_rows
from advx.attacks.paper import paper_table as paper_table
from advx.attacks.rates import ImageCurves as ImageCurves
from advx.attacks.rates import comparison_table as comparison_table
from advx.attacks.rates import first_correct as first_correct
from advx.attacks.rates import image_curves as image_curves
from advx.attacks.rates import snap_eps as snap_eps
from advx.attacks.rates import success_rates as success_rates
from advx.attacks.success import SweepSummary as SweepSummary
from advx.attacks.success import success_confidence as success_confidence
from advx.attacks.success import success_curve as success_curve
from advx.attacks.success import success_matrix as success_matrix
from advx.attacks.success import summarise as summarise
from advx.attacks.success import untargeted_rate as untargeted_rate
from advx.attacks.sweeps import OverlaySweep as OverlaySweep
from advx.attacks.sweeps import control_sweep as control_sweep
from advx.attacks.sweeps import jacobian_sweep as jacobian_sweep
from advx.attacks.sweeps import output_patterns as output_patterns
from advx.attacks.sweeps import overlay_sweep as overlay_sweep
from advx.attacks.sweeps import source_sweep as source_sweep
from advx.attacks.threat import COMPARISON_EPS as COMPARISON_EPS
from advx.attacks.threat import EPS_GRID as EPS_GRID
from advx.attacks.threat import L2 as L2
from advx.attacks.threat import NORMS as NORMS
from advx.attacks.threat import Linf as Linf
from advx.attacks.threat import Threat as Threat
from advx.attacks.threat import threat as threat
