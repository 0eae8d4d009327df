"""scikit-learn's KMeans on the points `cargo bench --bench kmeans -- out=PATH` wrote (raw
little-endian f32, n × dim): k-means++ (greedy, as blend), one init, Lloyd, the same iteration
cap and tolerance; and MiniBatchKMeans with batch 4096. When faiss imports, also faiss.Kmeans
(Lloyd from k-means++ init when this faiss offers it, else random; at most 100 iterations, faiss
stopping early once the objective stops improving; max_points_per_centroid=n so it trains on all
n points instead of subsampling 256*k). Inertia is always recomputed over all points
against each point's nearest centroid. Prints one JSON line per mode.

    python kmeans_peer.py PATH n dim k threads
"""
import json
import os
import sys
import time

path, n, dim, k, threads = sys.argv[1], *map(int, sys.argv[2:6])
os.environ["OMP_NUM_THREADS"] = str(threads)
import numpy as np  # noqa: E402
from sklearn.cluster import KMeans, MiniBatchKMeans  # noqa: E402
import sklearn  # noqa: E402

points = np.fromfile(path, dtype="<f4").reshape(n, dim)
for name, model in [
    ("scikit-learn lloyd", KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=100,
                                  tol=1e-4, algorithm="lloyd", random_state=0)),
    ("scikit-learn mini-batch 4096", MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=1,
                                                     max_iter=100, random_state=0)),
]:
    started = time.perf_counter()
    model.fit(points)
    seconds = time.perf_counter() - started
    inertia = float(((points - model.cluster_centers_[model.predict(points)]) ** 2).sum())
    print(json.dumps({"impl": name, "sklearn": sklearn.__version__, "n": n, "dim": dim, "k": k,
                      "threads": threads, "inertia": inertia,
                      "iterations": int(model.n_iter_), "seconds": seconds}))

try:
    import faiss
except ImportError:
    faiss = None
if faiss is not None:
    faiss.omp_set_num_threads(threads)
    km = faiss.Kmeans(dim, k, niter=100, seed=0, nredo=1, verbose=False, spherical=False,
                      max_points_per_centroid=n)
    init = "random"
    if hasattr(faiss, "ClusteringInitMethod_KMEANS_PLUS_PLUS"):
        km.cp.init_method = faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS
        init = "k-means++"
    started = time.perf_counter()
    km.train(points)
    seconds = time.perf_counter() - started
    _, nearest = km.index.search(points, 1)
    inertia = float(((points - km.centroids[nearest[:, 0]]) ** 2).sum())
    print(json.dumps({"impl": "faiss-cpu lloyd", "faiss": faiss.__version__, "init": init, "n": n, "dim": dim,
                      "k": k, "threads": threads, "inertia": inertia,
                      "iterations": len(km.iteration_stats), "seconds": seconds}))
