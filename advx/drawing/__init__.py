"""A drawing, read as MNIST reads its digits: preprocessing, links and examples, and what a network makes of it.

Modules, one concept each: ``preprocess`` (MNIST's own preprocessing: the ink's bounding box into 20 × 20,
centred by its centre of mass in 28 × 28), ``codec`` (a 28 × 28 input in a link or a text file, and the pad's
raster), ``sources`` (the shipped example drawings and the list of networks), ``reading`` (a network's answer,
its hidden neurons, the overlay and PGD aimed at a target). The page's sentences are ``advx.text.drawing``, its
figures ``advx.figures.drawing``.

No Streamlit here: the pad itself is ``ui.draw_pad``. Shapes: a raw drawing is ``(h, w)`` float in [0, 1]
(ink 1); an input is ``(28, 28)`` float32 in [0, 1].
"""

from advx.drawing.codec import (
    LEVELS as LEVELS,
    MAX_LINK_CHARS as MAX_LINK_CHARS,
    LinkError as LinkError,
    decode_link as decode_link,
    decode_raster as decode_raster,
    encode_link as encode_link,
    from_text as from_text,
    quantise as quantise,
    to_text as to_text,
)
from advx.drawing.preprocess import (
    AT_EDGE as AT_EDGE,
    BOX as BOX,
    CLIPPED as CLIPPED,
    DOT as DOT,
    EMPTY as EMPTY,
    OFF_CENTRE as OFF_CENTRE,
    REDONE as REDONE,
    SIDE as SIDE,
    SOLID as SOLID,
    DrawingError as DrawingError,
    Preprocessed as Preprocessed,
    area_resize as area_resize,
    as_input as as_input,
    area_weights as area_weights,
    centre_of_mass as centre_of_mass,
    check_drawing as check_drawing,
    ink_box as ink_box,
    preprocess as preprocess,
)
from advx.drawing.reading import (
    Fooling as Fooling,
    Reading as Reading,
    fool as fool,
    read as read,
    share_below as share_below,
    smallest_pgd_eps as smallest_pgd_eps,
)
from advx.drawing.sources import (
    EXAMPLES_DIR as EXAMPLES_DIR,
    NETWORKS as NETWORKS,
    Example as Example,
    Network as Network,
    is_street_smart as is_street_smart,
    load_examples as load_examples,
    street_smart_run as street_smart_run,
)
