"""Command line: ``python -m advx data`` and ``python -m advx train [options]``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

from advx.config import ConfigError, TrainConfig
from advx.data import DataUnavailableError, load_mnist
from advx.paths import CacheDirError


def _progress(fraction, message) -> None:
    prefix = f"[{fraction:4.0%}] " if fraction is not None else "[ .. ] "
    print(prefix + message, file=sys.stderr, flush=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(h) for h in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes are comma-separated whole numbers, got {text!r}")


def cmd_data(args) -> int:
    start = time.perf_counter()
    data = load_mnist(_progress)
    print(f"source: {data.source}")
    print(f"verified: train {data.train_images.shape} test {data.test_images.shape}, "
          f"content SHA-256 matches the four MNIST pins ({time.perf_counter() - start:.2f} s)")
    return 0


def cmd_train(args) -> int:
    from advx import store  # imports JAX; keep `data` light
    from advx.train import TrainingDivergedError

    config = TrainConfig(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, schedule=args.schedule, optimizer=args.optimizer,
                         momentum=args.momentum, weight_decay=args.weight_decay,
                         input_noise=args.input_noise, seed=args.seed, init_scale=args.init_scale,
                         adversarial_norm=args.adversarial_norm, adversarial_eps=args.adversarial_eps,
                         adversarial_steps=args.adversarial_steps, adversarial_ramp_epochs=args.adversarial_ramp_epochs)
    data = load_mnist(_progress)
    existing = store.load(config, data.sha)
    if existing is not None:
        print(f"loaded run {existing.run_id} from the store ({store.run_path(config, data.sha)})")
        run = existing
    else:
        def report(done, total, metrics):
            if metrics:
                print(f"epoch {done:3d}/{total}  train loss {metrics['train_loss']:.4f}  "
                      f"test accuracy {metrics['test_acc']:.2%}  ({metrics['epoch_seconds']:.2f} s)", flush=True)
        try:
            run = store.get_or_train(config, data, progress=report)
        except TrainingDivergedError as exc:
            print(f"error: {exc}; nothing was saved", file=sys.stderr)
            return 2
        print(f"saved run {run.run_id} to {store.run_path(config, data.sha)}")
    print(f"final test accuracy: {run.test_accuracy:.2%} after {run.n_epochs} epochs")
    return 0


def main(argv=None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m advx", description="advx: why adversarial examples exist")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("data", help="fetch, verify and cache MNIST; print the source used")
    t = sub.add_parser("train", help="train the MLP (or load it from the run store)")
    t.add_argument("--hidden", type=_hidden, default=defaults.hidden, help="hidden sizes, e.g. 64,64")
    t.add_argument("--epochs", type=int, default=defaults.epochs)
    t.add_argument("--batch-size", type=int, default=defaults.batch_size)
    t.add_argument("--lr", type=float, default=defaults.learning_rate)
    t.add_argument("--schedule", choices=("cosine", "constant"), default=defaults.schedule)
    t.add_argument("--optimizer", choices=("adam", "sgd"), default=defaults.optimizer)
    t.add_argument("--momentum", type=float, default=defaults.momentum)
    t.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    t.add_argument("--input-noise", type=float, default=defaults.input_noise)
    t.add_argument("--seed", type=int, default=defaults.seed)
    t.add_argument("--init-scale", type=float, default=defaults.init_scale,
                   help="a factor on the default initialisation")
    t.add_argument("--adversarial-norm", choices=("linf", "l2"), default=None,
                   help="train adversarially against PGD in this norm (default: standard training)")
    t.add_argument("--adversarial-eps", type=float, default=defaults.adversarial_eps)
    t.add_argument("--adversarial-steps", type=int, default=defaults.adversarial_steps)
    t.add_argument("--adversarial-ramp-epochs", type=int, default=defaults.adversarial_ramp_epochs)
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return cmd_data(args) if args.command == "data" else cmd_train(args)
    except ConfigError as exc:
        print(f"error: invalid training settings: {exc}", file=sys.stderr)
    except DataUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except CacheDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; nothing partial was saved", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
