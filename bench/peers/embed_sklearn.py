"""scikit-learn's PCA and exact t-SNE on the points bench/embed.ts wrote, with the same settings.

Usage: python3 embed_sklearn.py '<json task>' where the task names the folder holding points.f32
(N x d float32), init.f32 (N x 2, t-SNE's starting embedding, the one glassbox used) and
glassbox.f32 (glassbox's final t-SNE embedding, N x 2), and n, d, perplexity, iterations,
learning_rate. Prints one JSON line: seconds and results of each, and the KL divergence of
glassbox's embedding under scikit-learn's own P in float64 (so both final KLs are measured by the
same code).
"""
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.manifold._t_sne import _joint_probabilities
from sklearn.metrics import pairwise_distances

task = json.loads(sys.argv[1])
folder, n, d = task["folder"], task["n"], task["d"]
x = np.fromfile(f"{folder}/points.f32", dtype=np.float32).reshape(n, d)
init = np.fromfile(f"{folder}/init.f32", dtype=np.float32).reshape(n, 2).astype(np.float64)
ours = np.fromfile(f"{folder}/glassbox.f32", dtype=np.float32).reshape(n, 2).astype(np.float64)

out = {"sklearn": sklearn.__version__, "numpy": np.__version__}

# PCA: the full SVD (exact) and the randomized solver
for solver in ("full", "randomized"):
    pca = PCA(n_components=2, svd_solver=solver, random_state=0)
    t0 = time.perf_counter()
    pca.fit_transform(x)
    out[f"pca_{solver}"] = {"seconds": time.perf_counter() - t0, "explained_variance": pca.explained_variance_.tolist(), "components": pca.components_.tolist()}

# exact t-SNE with glassbox's settings; early stopping off so both run every iteration
kwargs = dict(n_components=2, perplexity=task["perplexity"], early_exaggeration=12.0, learning_rate=task["learning_rate"],
              init=init, method="exact", random_state=0, min_grad_norm=0.0, n_iter_without_progress=task["iterations"])
try:
    tsne = TSNE(max_iter=task["iterations"], **kwargs)
except TypeError:  # scikit-learn < 1.5 calls it n_iter
    tsne = TSNE(n_iter=task["iterations"], **kwargs)
t0 = time.perf_counter()
embedding = tsne.fit_transform(x)
seconds = time.perf_counter() - t0


def kl_of(y, p):
    """KL(P || Q) of embedding y under the condensed joint P, as scikit-learn's exact objective (degrees of freedom 1)."""
    dist = pairwise_distances(y, squared=True)
    q = 1.0 / (1.0 + dist)
    np.fill_diagonal(q, 0.0)
    q = q / q.sum()
    q = np.maximum(q[np.triu_indices(n, 1)], np.finfo(np.double).eps)
    pc = p  # condensed, over pairs i < j, each pair's p counted twice below (both orders)
    return float(2.0 * np.dot(pc, np.log(np.maximum(pc, np.finfo(np.double).eps) / q)))


distances = pairwise_distances(x.astype(np.float64), squared=True)
p = _joint_probabilities(distances, task["perplexity"], 0)
out["tsne"] = {
    "seconds": seconds,
    "kl": float(tsne.kl_divergence_),
    "kl_recomputed": kl_of(embedding, p),
    "glassbox_kl_under_sklearn_p": kl_of(ours, p),
    "iterations": int(tsne.n_iter_),
    "embedding": embedding.astype(np.float32).ravel().tolist(),
}
print(json.dumps(out))
