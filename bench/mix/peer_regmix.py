"""RegMix's regression with Python LightGBM and scikit-learn on the shared 1M-proxy runs:
the reference `bench/mix/run.sh` puts beside `blend mix eval`. Same data, target and
LightGBM settings as blend's defaults (RegMix's notebook: gbdt, regression, 1000 rounds,
learning rate 0.01, seed 42, no early stopping on the test runs)."""

import json
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression

data, target = sys.argv[1], sys.argv[2]


def load(split):
    mixtures = pd.read_csv(f"{data}/regmix/{split}_mixture_1m.csv")
    metrics = pd.read_csv(f"{data}/regmix/{split}_pile_loss_1m.csv")
    joined = mixtures.merge(metrics, on="index")
    return joined[mixtures.columns[1:]].values, joined[target].values


x_train, y_train = load("train")
x_test, y_test = load("test")
rows = []
start = time.perf_counter()
model = lgb.LGBMRegressor(
    objective="regression", n_estimators=1000, learning_rate=0.01, num_leaves=31,
    random_state=42, deterministic=True, force_row_wise=True, n_jobs=1, verbosity=-1,
)
model.fit(x_train, y_train)
fit = time.perf_counter() - start
predicted = model.predict(x_test)
rows.append({"regressor": "lightgbm (python)", "spearman": spearmanr(y_test, predicted).statistic, "fit_seconds": fit})
start = time.perf_counter()
candidates = np.random.default_rng(0).dirichlet(np.full(x_train.shape[1], 0.5), 1_000_000)
sample = time.perf_counter() - start
start = time.perf_counter()
model.predict(candidates, num_threads=2)
rows[-1]["predict_1m_seconds"] = time.perf_counter() - start
rows[-1]["numpy_dirichlet_1m_seconds"] = sample
start = time.perf_counter()
linear = LinearRegression().fit(x_train, y_train)
rows.append({"regressor": "linear (sklearn)", "spearman": spearmanr(y_test, linear.predict(x_test)).statistic,
             "fit_seconds": time.perf_counter() - start})
print(json.dumps(rows))
