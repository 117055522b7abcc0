"""Train: choose a configuration, train it (or load it from the run store), see curves and the summary."""

import numpy as np
import streamlit as st

from advx import store
from advx.config import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig
from advx.figures.train import learning_curves
from advx.model import summary
from advx.paths import CacheDirError
from ui import charts, downloads, maps, resources, road, story


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(h) for h in str(text).replace(" ", "").split(",") if h)
    except ValueError:
        raise ConfigError(f"hidden layer sizes are whole numbers separated by commas, got {text!r}") from None


st.title("Train the network")
lead = story.lead("views/train.py")
current = resources.current_config()

with st.form("train_form"):
    c1, c2, c3, c4 = st.columns(4)
    hidden = c1.text_input("Hidden layer sizes", value=",".join(map(str, current.hidden)), key="train_hidden",
                           help="Comma-separated, e.g. 64,64 (the post's network)")
    epochs = c2.number_input("Epochs", value=current.epochs, step=1, key="train_epochs")
    batch_size = c3.number_input("Batch size", value=current.batch_size, step=1, key="train_batch")
    seed = c4.number_input("Seed", value=current.seed, step=1, key="train_seed")
    c5, c6, c7, c8 = st.columns(4)
    optimizer = c5.selectbox("Optimizer", OPTIMIZERS, index=OPTIMIZERS.index(current.optimizer), key="train_optimizer")
    learning_rate = c6.number_input("Learning rate", value=current.learning_rate, format="%.5f", key="train_lr")
    schedule = c7.selectbox("Schedule", SCHEDULES, index=SCHEDULES.index(current.schedule), key="train_schedule")
    momentum = c8.number_input("Momentum (SGD)", value=current.momentum, key="train_momentum")
    c9, c10 = st.columns(2)
    weight_decay = c9.number_input("Weight decay", value=current.weight_decay, format="%.5f", key="train_wd")
    input_noise = c10.number_input("Input noise σ (augmentation)", value=current.input_noise, key="train_noise")
    submitted = st.form_submit_button("Train", type="primary", key="train_submit")

if submitted:
    try:
        config = TrainConfig(hidden=hidden_sizes(hidden), epochs=int(epochs), batch_size=int(batch_size),
                             seed=int(seed), optimizer=optimizer, learning_rate=float(learning_rate), schedule=schedule,
                             momentum=float(momentum), weight_decay=float(weight_decay),
                             input_noise=float(input_noise))
    except (ConfigError, ValueError) as exc:
        st.error(f"These settings cannot be trained: {exc}. The previous run stays selected.")
    else:
        # Train (or load) first, then select: if training fails, the page says why and the last good run
        # stays selected on every page.
        resources.run_for(config)
        resources.set_current_config(config)

run = resources.current_run()
config = run.config

st.subheader("Result")
m1, m2, m3 = st.columns(3)
m1.metric("Test accuracy", f"{run.test_accuracy:.2%}")
m2.metric("Epochs", run.n_epochs)
m3.metric("Median epoch time", f"{np.median(run.history['epoch_seconds']):.2f} s")
curves = learning_curves(run.history)
maps.hover_toggle("train_hover")
maps.chart(st, curves, "train_curves")
d1, d2, d3 = st.columns(3)
with d1:
    downloads.run_bundle_download(run, key="train_bundle_download")
with d2:
    downloads.figure_download(curves, f"learning-curves-{run.run_id}.html", key="train_curves_download")
with d3:
    downloads.arrays_download({"epoch": np.arange(1, run.n_epochs + 1), **run.history}, f"history-{run.run_id}.csv",
                              key="train_history_download", label="Download the history (CSV)")

st.subheader("Model summary")
charts.table(st, summary(run.final_params), "train_summary", drop=("output_shape",), rename={
    "layer": "Layer", "type": "Type", "outputs": "Outputs", "params": "Param #"})
st.caption(f"{config.optimizer}, learning rate {config.learning_rate:g} ({config.schedule}), batch "
           f"{config.batch_size}, random seed {config.seed}. A trained network is kept: the next visit, yours or "
           "anyone's, reads it instead of training again.")

with st.expander("Stored runs"):
    try:
        runs = store.list_runs()
    except CacheDirError as exc:
        runs = None
        st.warning(f"The run store cannot be read: {exc}")
    if runs:
        charts.table(st, [{"hidden layers": " × ".join(map(str, r["config"]["hidden"])),
                                    "epochs": r["config"]["epochs"], "optimizer": r["config"]["optimizer"],
                                    "random seed": r["config"]["seed"], "test accuracy": r["test_acc"]}
                                   for r in runs], "train_runs")
    elif runs is not None:
        st.write("No network is stored yet.")

# What the other pages will ask for about this run, computed in the background while this page is read.
road.prepare(run, resources.data())
