"""The columns of the counterfactual table ("Why it happens"), computed in a worker thread while the page draws.

Each column is one network's ``advx.subspace.attack_rates``: the trained network, its first layer
projected onto the top-``k`` data subspace, and the street-smart variants. The page asks for every
column it shows as soon as it knows ``k``; the attacks then run (XLA releases the GIL) while the page
builds sections 1 to 3, and section 4 waits for what is left. Results are kept per run and ``k`` for
every session of the server, and on disk (``advx.subspace.stored_attack_rates``) for the next server
process; a failed computation is dropped, so the next rerun tries again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from advx import subspace as S

KEEP = 64  # columns (a few hundred bytes each)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="advx-counterfactual")
_jobs: OrderedDict[tuple[str, int], Future] = OrderedDict()
_lock = threading.Lock()


def column(run, k: int, sub: S.DataSubspace, test, labels) -> Future:
    """A Future of ``run``'s column: its final network (``k`` = 0) or that network with its first layer
    projected onto the top-``k`` subspace of ``sub``. ``test``: the test images (a uint8 device array,
    as ``ui.neuron_widgets.device_test``); ``labels``: their labels."""
    key = (run.run_id, int(k))
    with _lock:
        job = _jobs.get(key)
        if job is None or (job.done() and job.exception() is not None):
            job = _jobs[key] = _executor.submit(S.stored_attack_rates, run, int(k), sub, test, labels)
            while len(_jobs) > KEEP:
                _jobs.popitem(last=False)
        _jobs.move_to_end(key)
    return job
