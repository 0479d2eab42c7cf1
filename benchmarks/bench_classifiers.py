"""The MLP and RNN classifiers on the digits beside scikit-learn's MLPClassifier of the same size.

Run:  python benchmarks/bench_classifiers.py [--seeds 0,1,2] [--dtype float32|float64]
Goals: MLP test accuracy >= 97% with exact sigmoid and within 1 point of that with a
degree-3 polynomial; RNN >= 95% with exact tanh and within 2 points with a polynomial; each at
least as accurate as scikit-learn's MLPClassifier (one hidden layer of 32, its defaults: adam,
200 iterations) on the same stratified split, and at most 2x slower to train.
"""

import argparse
import tempfile
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from approx import Registry, fit
from nn.classifiers import build_classifier
from nn.classification_metrics import classification_scores
from nn.dtypes import DEFAULT_DTYPE, DTYPES
from nn.tabular import load_table
from nn.training import TrainConfig, train

RUNS = [  # (model, activation, lr, patience): approx train's defaults
    ("mlp", "sigmoid", 0.5, 10), ("mlp", "sigmoid-chebyshev-3[-4,4]", 0.5, 10),
    ("mlp", "sigmoid-chebyshev-3[-8,8]", 0.5, 10), ("rnn", "tanh", 0.15, 20), ("rnn", "tanh-chebyshev-3[-3,3]", 0.15, 20),
    ("rnn", "tanh-chebyshev-3[-4,4]", 0.15, 20),
]


def ours(kind, activation, lr, patience, seed, registry, dtype):
    data = load_table("digits", seed=seed)
    model, parts = build_classifier(kind, data, (32,), activation, "poly", False, False, 8, registry, seed, dtype=dtype)
    history = train(model, parts["train"], parts["val"], TrainConfig(150, 16, lr, 0.0, 5.0, patience, seed))
    x, y = parts["test"]
    return classification_scores(model.predict(x), y, 10)["accuracy"], history.seconds


def scikit_learn(activation, seed):
    from sklearn.neural_network import MLPClassifier

    data = load_table("digits", seed=seed)
    (x, y), (xt, yt) = data.part("train"), data.part("test")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at its 200 iterations
        model = MLPClassifier((32,), activation=activation, random_state=seed).fit(x, y)
    return model.score(xt, yt), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--dtype", choices=DTYPES, default=DEFAULT_DTYPE, help="our models' floating-point type")
    args = parser.parse_args()
    seeds = [int(v) for v in args.seeds.split(",")]
    _limits = threadpool_limits(1)  # ours and scikit-learn alike on one thread
    for pool in threadpool_info():
        print(f"{pool['internal_api']} {pool.get('version')} (kernel {pool.get('architecture')}): "
              f"{pool['num_threads']} thread(s)")
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(f"{tmp}/r.json")
        for func, lo in (("sigmoid", 4.0), ("sigmoid", 8.0), ("tanh", 3.0), ("tanh", 4.0)):
            registry.add(fit(func, 3, method="chebyshev", interval=(-lo, lo)))
        print(f"ours in {args.dtype}")
        print(f"{'model':32} {'test accuracy (mean over seeds)':>32} {'train seconds':>14}")
        for label, act in (("scikit-learn MLPClassifier(32), logistic", "logistic"),
                           ("scikit-learn MLPClassifier(32), tanh", "tanh")):
            acc, sec = np.mean([scikit_learn(act, s) for s in seeds], axis=0)
            print(f"{label:42} {100 * acc:21.2f}% {sec:14.2f}")
        for kind, activation, lr, patience in RUNS:
            results = np.array([ours(kind, activation, lr, patience, s, registry, args.dtype) for s in seeds])
            accs = ", ".join(f"{100 * a:.2f}" for a in results[:, 0])
            print(f"{kind + ' 32, ' + activation:42} {100 * results[:, 0].mean():21.2f}% {results[:, 1].mean():14.2f}"
                  f"   ({accs})")


if __name__ == "__main__":
    main()
