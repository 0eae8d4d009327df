"""Reference values for blend's exact Gaussian process (mixers/src/bayes_opt/gaussian_process.rs)
from scikit-learn: predictions with fixed hyperparameters, and sklearn's own fit (its L-BFGS-B
with restarts), on 30 mixtures of 3 domains with a smooth target plus noise. Writes
mixers/tests/fixtures/gp_sklearn.json, read by mixers/tests/gaussian_process_sklearn.rs.

Run from anywhere: `python3 bench/mix/gp_sklearn_reference.py`. Without scikit-learn it makes a
venv under $CARGO_TARGET_DIR/bench-mix/venv (default ~/.cache/blend/target), installs
scikit-learn and numpy there, and re-runs itself with it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "mixers" / "tests" / "fixtures" / "gp_sklearn.json"

try:
    import numpy as np
    import sklearn
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
except ImportError:
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "blend" / "target"))
    venv = target / "bench-mix" / "venv"
    python = venv / "bin" / "python"
    if os.environ.get("BLEND_GP_REFERENCE_VENV"):
        sys.exit(f"scikit-learn is still missing in {venv}")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "scikit-learn", "numpy"],
        check=True,
    )
    os.environ["BLEND_GP_REFERENCE_VENV"] = "1"
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])

# The bounds blend uses (GpBounds::default()).
CONSTANT_BOUNDS = (1e-3, 1e3)
LENGTH_BOUNDS = (1e-2, 1e3)
NOISE_BOUNDS = (1e-8, 1e1)
ALPHA = 1e-10  # sklearn's default diagonal jitter; blend adds the same


def kernel(constant, length_scales, noise):
    return ConstantKernel(constant, CONSTANT_BOUNDS) * Matern(
        length_scales, LENGTH_BOUNDS, nu=2.5
    ) + WhiteKernel(noise, NOISE_BOUNDS)


def law(x):
    return 3.0 + np.exp(-3.0 * x[:, 0]) + x[:, 1] + 0.5 * np.sin(4.0 * x[:, 2])


def hyperparameters(fitted):
    theta = np.exp(fitted.kernel_.theta)
    constant, length, noise = theta[0], theta[1:-1], theta[-1]
    return {"constant": float(constant), "length_scales": [float(v) for v in length], "noise": float(noise)}


rng = np.random.default_rng(20261205)
train_x = rng.dirichlet([1.0, 1.0, 1.0], 30)
train_y = law(train_x) + 0.02 * rng.normal(size=30)
test_x = rng.dirichlet([1.0, 1.0, 1.0], 10)

fixed = {"constant": 0.8, "length_scales": [0.3, 0.5, 0.7], "noise": 0.01}
gp = GaussianProcessRegressor(
    kernel(fixed["constant"], fixed["length_scales"], fixed["noise"]),
    alpha=ALPHA, normalize_y=True, optimizer=None,
).fit(train_x, train_y)
fixed_mean, fixed_std = gp.predict(test_x, return_std=True)
fixed_lml = gp.log_marginal_likelihood_value_

initial = {"constant": 1.0, "length_scales": [1.0, 1.0, 1.0], "noise": 0.01}
fitted = GaussianProcessRegressor(
    kernel(initial["constant"], initial["length_scales"], initial["noise"]),
    alpha=ALPHA, normalize_y=True, n_restarts_optimizer=5, random_state=0,
).fit(train_x, train_y)
fitted_mean, fitted_std = fitted.predict(test_x, return_std=True)

reference = {
    "sklearn": sklearn.__version__,
    "features": 3,
    "train_x": train_x.ravel().tolist(),
    "train_y": train_y.tolist(),
    "test_x": test_x.ravel().tolist(),
    "fixed": {
        "hyperparameters": fixed,
        "log_marginal_likelihood": float(fixed_lml),
        "mean": fixed_mean.tolist(),
        "std": fixed_std.tolist(),
    },
    "fitted": {
        "initial": initial,
        "restarts": 5,
        "hyperparameters": hyperparameters(fitted),
        "log_marginal_likelihood": float(fitted.log_marginal_likelihood_value_),
        "mean": fitted_mean.tolist(),
        "std": fitted_std.tolist(),
    },
}
FIXTURE.parent.mkdir(parents=True, exist_ok=True)
FIXTURE.write_text(json.dumps(reference, indent=1) + "\n")
print(f"wrote {FIXTURE}: fitted {reference['fitted']['hyperparameters']}, "
      f"LML {reference['fitted']['log_marginal_likelihood']:.6f}")
