"""The pages' text: every sentence, row and caption a page shows, written from the measured numbers so that it
cannot contradict them. Pure functions returning markdown strings or table rows; no Streamlit, no maths.

One module per page, importing the science packages below it (never the other way round) and taking every label
and every percentage from ``advx.vocabulary``:

- ``neurons``: the neuron pages (sparsity against the post's figures, the noise-versus-digit measures);
- ``overlay``: "Adversarial overlay" (the story of one image, the attacks compared);
- ``subspace``: "Why it happens" (the data subspace, what each optimizer changed, the counterfactual table);
- ``population`` and ``population_summary``: "Many networks" (transfer, agreement, the scale test, the findings with
  their verdicts, the published claims);
- ``robust``: "Street-smart" (the book-smart and the street-smart network compared, the published figures);
- ``drawing``: "Draw a digit" (the drawing's issues, what each network reads in it);
- ``explanations``: "Bugs or features?" (the explanations, their predictions, the findings with their verdicts).

The modules share names (``subspace_sentence``, ``published_rows``), so they are imported one by one:
``from advx.text import robust as words``.
"""
