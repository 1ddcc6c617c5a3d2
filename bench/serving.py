"""Serving benchmark: nearest-neighbour back-ends, model rerank, embedding throughput, and the API.

    python bench/serving.py                      # ANN at 10k/100k/1M, rerank, embedding throughput
    python bench/serving.py --sizes 10000,100000 --skip-embed
    python bench/serving.py --api                # also /candidates end to end, 100k resumes in PostgreSQL
    python bench/serving.py --api-only --api-resumes 100000,1000000   # the API alone, at 100k then 1M resumes

Writes bench/results/serving.json (sections merged with what an earlier run wrote) and the "Serving"
section of docs/results.md. Every figure is from this machine as it was during the run (2 cores; the
load average at the start and end of each part is recorded, since the CPU may be shared).

Synthetic vectors: 384-d, unit norm (what MiniLM emits after normalisation), drawn from a mixture of
topic clusters around a shared mean direction plus a low-rank within-topic spread and isotropic noise,
so that random pairs have cosine ~0.15 and nearest neighbours ~0.8, as with MiniLM on job texts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "serving.json"
DOC = ROOT / "docs" / "results.md"

from bench._speed_verdicts import serving_verdicts  # noqa: E402

BENCH_DB = "postgres://postgres@127.0.0.1:5432/tandem_bench_serving"
DIM = 384
K = 20


def load() -> str:
    la = os.getloadavg()
    return f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"


def pct(xs, q) -> float:
    return round(float(np.percentile(np.asarray(xs) * 1000.0, q)), 3)


def lat(xs) -> dict:
    return {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "p99_ms": pct(xs, 99), "queries": len(xs)}


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------- vectors
class VectorModel:
    """Clustered unit vectors with MiniLM-like geometry (see module docstring)."""

    def __init__(
        self, dim: int = DIM, topics: int = 2000, rank: int = 48, seed: int = 0, spread=0.5, noise=0.35
    ):
        rng = np.random.default_rng(seed)
        self.dim = dim
        mean = rng.normal(size=dim)
        self.mean = (0.45 * mean / np.linalg.norm(mean)).astype(np.float32)
        c = rng.normal(size=(topics, dim))
        self.centres = (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)
        self.basis = np.linalg.qr(rng.normal(size=(dim, rank)))[0].T.astype(np.float32)  # (rank, dim)
        self.spread = spread / np.sqrt(rank)
        self.noise = noise / np.sqrt(dim)

    def sample(self, n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        rank = self.basis.shape[0]
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            x = self.mean + self.centres[rng.integers(0, len(self.centres), m)]
            x += self.spread * rng.standard_normal((m, rank), dtype=np.float32) @ self.basis
            x += self.noise * rng.standard_normal((m, self.dim), dtype=np.float32)
            out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def geometry(vecs: np.ndarray, queries: np.ndarray, truth_scores: np.ndarray) -> dict:
    rng = np.random.default_rng(1)
    a = vecs[rng.integers(0, len(vecs), 2000)]
    b = vecs[rng.integers(0, len(vecs), 2000)]
    return {
        "random_pair_cosine": round(float((a * b).sum(1).mean()), 3),
        "top1_cosine": round(float(truth_scores[:, 0].mean()), 3),
        "top20_cosine": round(float(truth_scores[:, K - 1].mean()), 3),
    }


# --------------------------------------------------------------------------------------- ANN
ANN_KINDS = ("exact", "flat", "hnsw", "ivf")


def ann_configs(n: int, kinds: tuple[str, ...] = ANN_KINDS) -> list[tuple[str, str, dict]]:
    """(label, backend, params) measured at size n; the IVF row is built as serving builds it (nlist from
    settings, 0 = 2 sqrt(n))."""
    from matching.index import ann_params

    base = ann_params()
    nlist = base["ivf_nlist"] or int(2 * np.sqrt(n))
    cfgs = [("exact (NumPy)", "exact", {}), ("FAISS flat", "faiss", {**base, "kind": "flat"})]
    if n <= 100_000:
        cfgs.append(
            ("HNSW M=32 efC=80", "faiss", {**base, "kind": "hnsw", "hnsw_m": 32, "hnsw_ef_construction": 80})
        )
    else:  # HNSW32/efC80 takes ~75 s per 100k here: too slow to build 1M within 5 minutes
        cfgs.append(
            ("HNSW M=16 efC=40", "faiss", {**base, "kind": "hnsw", "hnsw_m": 16, "hnsw_ef_construction": 40})
        )
    ivf = {**base, "kind": "ivf_sq8", "ivf_nlist": nlist}
    cfgs.append((f"IVF-SQ8 nlist={nlist}", "faiss", {**ivf, "ivf_quantizer": "flat"}))
    if n >= 100_000:  # the lists found through an HNSW graph of their centroids (ANN_IVF_QUANTIZER=hnsw)
        cfgs.append((f"IVF-SQ8 nlist={nlist} HNSW quantizer", "faiss", {**ivf, "ivf_quantizer": "hnsw"}))
    # 4-bit PQ codes in the lists, the best max(k, ANN_REFINE_CANDIDATES) re-scored from 8-bit codes
    pq = {**ivf, "kind": "ivf_pq_sq8", "ivf_quantizer": "flat"}
    cfgs.append((f"IVF-PQ4fs+SQ8 nlist={nlist}", "faiss", pq))
    if n >= 100_000:  # a code per 4 dimensions: half the bytes again
        cfgs.append((f"IVF-PQ4fs/4d+SQ8 nlist={nlist}", "faiss", {**pq, "pq_dims_per_code": 4}))
    wanted = {"exact (NumPy)": "exact", "FAISS flat": "flat"}
    return [c for c in cfgs if wanted.get(c[0], c[0].split()[0].split("-")[0].lower()) in kinds]


def search_sweep(label: str, idx) -> list[tuple[str, dict]]:
    """Search-time settings to try on a built index."""
    if idx.backend == "exact" or idx.params.get("kind") == "flat":
        return [("", {})]
    if idx.params["kind"] == "hnsw":
        return [(f"efSearch={ef}", {"hnsw_ef_search": ef}) for ef in (32, 64, 128)]
    if idx.params["kind"] == "ivf_pq_sq8":  # lists probed x candidates re-scored per result
        return [
            (f"nprobe={p} refine {c}", {"ivf_nprobe": p, "refine_candidates": c})
            for p, c in ((8, 160), (8, 320), (8, 640), (16, 320))
        ]
    return [(f"nprobe={p}", {"ivf_nprobe": p}) for p in (8, 16, 32)]


def ann_order(label: str) -> int:
    return next((i for i, k in enumerate(("exact", "FAISS", "HNSW", "IVF")) if label.startswith(k)), 9)


def _served(backend: str, params: dict, overrides: dict) -> bool:
    """Whether this row is the configuration serving runs at this size (settings' kind and search setting)."""
    from matching.index import ann_params
    from matching.index.engines import IVF_KINDS

    base = ann_params()
    if backend != "faiss" or params.get("kind") != base["kind"]:
        return False
    if base["kind"] in IVF_KINDS and params.get("ivf_quantizer", "flat") != base["ivf_quantizer"]:
        return False
    if params.get("pq_dims_per_code", 2) != base.get("pq_dims_per_code", 2):
        return False
    keys = {
        "ivf_sq8": ("ivf_nprobe",),
        "ivf_pq_sq8": ("ivf_nprobe", "refine_candidates"),
        "hnsw": ("hnsw_ef_search",),
    }.get(base["kind"], ())
    return all(overrides.get(key, params.get(key)) == base[key] for key in keys)


def bench_ann(sizes: list[int], n_queries: int, kinds: tuple[str, ...] = ANN_KINDS) -> list[dict]:
    import faiss

    from matching.index import Index

    faiss.omp_set_num_threads(2)
    model = VectorModel()
    rows = []
    for n in sizes:
        print(f"\n== {n:,} vectors ({load()})", flush=True)
        t = time.perf_counter()
        vecs = model.sample(n, seed=n)
        queries = model.sample(n_queries, seed=7)
        gen_s = time.perf_counter() - t
        flat = faiss.IndexFlatIP(DIM)
        flat.add(vecs)
        truth_scores, truth = flat.search(queries, K)
        del flat
        geo = geometry(vecs, queries, truth_scores)
        print(f"   generated in {gen_s:.1f}s; geometry {geo}", flush=True)
        ids = np.arange(n, dtype=np.int64)
        for label, backend, params in ann_configs(n, kinds):
            gc.collect()
            before = rss_mb()
            t = time.perf_counter()
            idx = Index.build(ids, vecs, backend=backend, params=params or None)
            build_s = time.perf_counter() - t
            mem_mb = len(idx.to_bytes()) / 2**20
            rss_delta = rss_mb() - before
            brute = backend == "exact" or params.get("kind") == "flat"
            q_count = n_queries if (not brute or n <= 100_000) else min(n_queries, 60)
            for sub, overrides in search_sweep(label, idx):
                if overrides:
                    idx.params.update(overrides)
                    idx._engine.params.update(overrides)
                times, recalls = [], []
                for qi in tqdm(range(q_count), desc=f"{n:>8,} {label} {sub}", leave=False, mininterval=1):
                    q = queries[qi]
                    t0 = time.perf_counter()
                    hits = idx.search(q, K)
                    times.append(time.perf_counter() - t0)
                    got = {i for i, _ in hits}
                    recalls.append(len(got & set(truth[qi].tolist())) / K)
                row = {
                    "n": n,
                    "backend": label + (f" {sub}" if sub else ""),
                    "build_s": round(build_s, 2),
                    "index_mb": round(mem_mb, 1),
                    "rss_delta_mb": round(rss_delta, 1),
                    **lat(times),
                    "recall_at_20": round(float(np.mean(recalls)), 4),
                    "served": _served(backend, params, overrides),
                    "load": load(),
                    **{f"data_{k}": v for k, v in geo.items()},
                }
                print(
                    f"   {row['backend']:<34} build {build_s:7.1f}s  {mem_mb:7.0f} MB  "
                    f"p50 {row['p50_ms']:8.3f}  p95 {row['p95_ms']:8.3f}  p99 {row['p99_ms']:8.3f} ms  "
                    f"recall@20 {row['recall_at_20']:.3f}",
                    flush=True,
                )
                rows.append(row)
            del idx
        del vecs
    return rows


# --------------------------------------------------------------------------------------- rerank
def bench_rerank(reps: int = 30) -> dict:
    import torch

    from ml.data.synthetic import make_synthetic
    from ml.embedding import EmbeddingCache, get_encoder
    from ml.network import TrainConfig, train

    torch.set_num_threads(2)
    print(f"\n== rerank of 200 candidates with the co-teaching model ({load()})", flush=True)
    syn = make_synthetic(40, 400, 3000, seed=3)
    data = syn.data
    encoder = get_encoder()
    cache = EmbeddingCache(encoder)
    t = time.perf_counter()
    model = train(data, TrainConfig(epochs=3, hidden=64, show_progress_bars=False), cache=cache)
    train_s = time.perf_counter() - t
    job, resumes = data.jobs[0], data.resumes[:200]
    model.rank_resumes(job, resumes)  # section embeddings now in the model's cache
    warm = []
    for _ in tqdm(range(reps), desc="rerank 200 (warm)", leave=False):
        t0 = time.perf_counter()
        model.rank_resumes(job, resumes)
        warm.append(time.perf_counter() - t0)
    cold = []
    for r in range(3):
        model.use_cache(EmbeddingCache(encoder))
        t0 = time.perf_counter()
        model.rank_resumes(data.jobs[r + 1], data.resumes[200:400])
        cold.append(time.perf_counter() - t0)
    out = {
        "candidates": 200,
        "train_s": round(train_s, 1),
        "warm": lat(warm),
        "cold_sections_ms": [round(c * 1000, 1) for c in cold],
        "note": "warm = section embeddings of the 200 resumes already in the model's embedding cache; "
        "cold = 800 section texts encoded by MiniLM first",
        "load": load(),
    }
    print(
        f"   warm p50 {out['warm']['p50_ms']} ms p95 {out['warm']['p95_ms']} ms; cold {out['cold_sections_ms']} ms"
    )
    return out


# --------------------------------------------------------------------------------------- embedding
WORDS = (
    "python django postgres kubernetes backend services built designed scaled teams customers data pipelines "
    "apis payments latency reliability mentoring cloud infrastructure analytics nursing patient accounting audit "
    "sales marketing campaigns growth product roadmap stakeholders delivered improved reduced managed led"
).split()


def make_texts(n: int, words: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, words)) + "." for _ in range(n)]


def bench_embedding() -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    from ml.embedding import get_encoder, minilm_model_dir

    torch.set_num_threads(2)
    print(f"\n== embedding throughput ({load()})", flush=True)
    enc = get_encoder()
    raw = SentenceTransformer(minilm_model_dir(), device="cpu")
    tok = raw.tokenizer
    sets = {"short": make_texts(384, 22, 1), "long": make_texts(96, 150, 2)}
    out = {"threads": torch.get_num_threads(), "paths": {}}

    def fp32(texts):
        return raw.encode(
            texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )

    def bf16(texts):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            v = raw.encode(
                texts,
                batch_size=64,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return torch.nn.functional.normalize(v.float(), dim=1).numpy()

    bf16_model = SentenceTransformer(minilm_model_dir(), device="cpu").to(torch.bfloat16)

    def bf16_weights(texts):
        v = bf16_model.encode(
            texts, batch_size=64, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
        )
        return torch.nn.functional.normalize(v.float(), dim=1).numpy()

    qmodel = torch.ao.quantization.quantize_dynamic(
        SentenceTransformer(minilm_model_dir(), device="cpu"),
        {torch.nn.Linear},
        dtype=torch.qint8,
    )

    def int8(texts):
        return qmodel.encode(
            texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )

    paths = {
        "ml.embedding": lambda t: enc.encode(t, batch_size=64),
        "sentence-transformers fp32": fp32,
        "bf16 autocast (AMX)": bf16,
        "bf16 weights (AMX)": bf16_weights,
        "dynamic INT8 (torch, per-tensor)": int8,
    }
    for name, texts in sets.items():
        ntok = int(np.mean([len(tok(t)["input_ids"]) for t in texts[:50]]))
        ref = fp32(texts)
        res = {"tokens_mean": ntok, "texts": len(texts)}
        best = dict.fromkeys(paths, float("inf"))
        outs = {}
        for fn in paths.values():
            fn(texts[:16])  # warm-up
        # Interleaved, best of 3: on a shared CPU the minimum is the least disturbed run of each path.
        for _ in tqdm(range(3), desc=f"embedding {name}", leave=False):
            for pname, fn in paths.items():
                t0 = time.perf_counter()
                outs[pname] = fn(texts)
                best[pname] = min(best[pname], time.perf_counter() - t0)
        for pname in paths:
            cos = (np.asarray(outs[pname], dtype=np.float32) * ref).sum(1)
            res[pname] = {
                "texts_per_s": round(len(texts) / best[pname], 1),
                "cos_mean": round(float(cos.mean()), 5),
                "cos_min": round(float(cos.min()), 5),
            }
            print(f"   {name:<5} {pname:<34} {res[pname]}", flush=True)
        base = res["ml.embedding"]["texts_per_s"]
        for pname in paths:
            res[pname]["speedup_vs_ml_embedding"] = round(res[pname]["texts_per_s"] / base, 2)
        out["paths"][name] = res
    out["load"] = load()
    return out


# --------------------------------------------------------------------------------------- API
API_TITLES = ["Python developer", "Backend engineer", "Data engineer", "Nurse", "Accountant", "Sales manager",
              "Frontend developer", "DevOps engineer", "Product manager", "Data scientist"]  # fmt: skip
API_SKILLS = ["python", "django", "postgresql", "kubernetes", "react", "typescript", "aws", "sql", "excel",
              "nursing", "sales", "docker", "spark", "java", "go"]  # fmt: skip
API_CITIES = ["Berlin", "Hamburg", "Munich", "Paris", "London", "Remote"]


def bench_api(n_resumes: int, n_jobs: int = 40) -> dict:
    """/candidates end to end over HTTP on 127.0.0.1 (Django runserver), 100k resumes in PostgreSQL."""
    import django
    from django.db import connection

    print(f"\n== API with {n_resumes:,} resumes in PostgreSQL ({load()})", flush=True)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from matching.encoders import current_encoder, encoder_space
    from matching.index import build_index
    from recruiting.models import Membership, Organization

    assert django.VERSION
    enc = current_encoder()
    space = encoder_space(enc)
    org, _ = Organization.objects.get_or_create(slug="bench-serving", defaults={"name": "Bench Serving"})
    user, _ = get_user_model().objects.get_or_create(username="bench-recruiter")
    Membership.objects.get_or_create(user=user, organization=org)
    token, _ = Token.objects.get_or_create(user=user)
    rng = np.random.default_rng(11)
    _seed_resumes(org, space, n_resumes, rng)
    jobs = _api_jobs(org, n_jobs, rng)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")  # what autovacuum does after a bulk load; the planner needs the statistics
    t = time.perf_counter()
    row, idx = build_index(space, "resume")
    build_s = time.perf_counter() - t
    print(f"   index: {idx.kind_label}, {len(idx):,} vectors, built in {build_s:.1f}s", flush=True)
    connection.close()

    timings = _time_candidates_api(token.key, jobs)
    out = {
        "resumes": n_resumes,
        "index": idx.kind_label,
        "index_build_s": round(build_s, 1),
        "uncached_first": lat(timings["cold"]),
        "uncached_warm": lat(timings["warm"]),
        "cached": lat(timings["cached"]),
        "last_retrieval": timings["breakdown"],
        "server": "manage.py runserver --nothreading --noreload, DEBUG=0, urllib client, 127.0.0.1",
        "load": load(),
    }
    print(f"   {json.dumps(out, indent=1)}", flush=True)
    return out


def _seed_resumes(org, space: str, n_resumes: int, rng: np.random.Generator) -> None:
    """Top the organization up to ``n_resumes`` resumes, each with a stored synthetic vector in ``space``."""
    from matching.models import DocumentVector
    from recruiting.models import Candidate, Resume

    have = Resume.objects.filter(candidate__organization=org).count()
    if have > n_resumes:  # a figure labelled 100k measured on a database a larger run topped up
        raise SystemExit(
            f"the bench database holds {have:,} resumes, more than the {n_resumes:,} asked for: drop it "
            f"(dropdb -h 127.0.0.1 -U postgres tandem_bench_serving) or ask for sizes from {have:,} up"
        )
    if have == n_resumes:
        return
    model = VectorModel()
    todo = n_resumes - have
    for s in tqdm(range(0, todo, 5000), desc="seed resumes"):
        m = min(5000, todo - s)
        cands = Candidate.objects.bulk_create(
            [
                Candidate(organization=org, full_name=f"B{have + s + i}", location=API_CITIES[(s + i) % 6])
                for i in range(m)
            ]
        )
        resumes = []
        for i, c in enumerate(cands):
            t = API_TITLES[rng.integers(0, len(API_TITLES))]
            sk = list(rng.choice(API_SKILLS, 4, replace=False))
            exp = [
                {
                    "title": t,
                    "company": f"Co {i % 97}",
                    "start": str(2010 + i % 12),
                    "description": f"{t} work",
                }
            ]
            r = Resume(
                candidate=c, headline=t, summary=f"{t} with {', '.join(sk)}", skills=sk, experience=exp
            )
            r.content_hash = r.compute_content_hash()
            resumes.append(r)
        resumes = Resume.objects.bulk_create(resumes)
        vecs = model.sample(m, seed=1000 + s)
        DocumentVector.objects.bulk_create(
            [
                DocumentVector(
                    kind="resume",
                    resume=r,
                    space=space,
                    content_hash=r.content_hash,
                    dim=DIM,
                    vector=v.tobytes(),
                )
                for r, v in zip(resumes, vecs, strict=True)
            ],
            batch_size=2500,
        )


def _api_jobs(org, n_jobs: int, rng: np.random.Generator) -> list:
    """The organization's first ``n_jobs`` jobs, created when missing."""
    from recruiting.models import Job

    jobs = list(Job.objects.filter(organization=org).order_by("pk")[:n_jobs])
    for i in range(len(jobs), n_jobs):
        t = API_TITLES[i % len(API_TITLES)]
        jobs.append(
            Job.objects.create(
                organization=org,
                title=f"{t} #{i}",
                description=f"We hire a {t.lower()}.",
                required_skills=list(rng.choice(API_SKILLS, 3, replace=False)),
                location=API_CITIES[i % 6],
            )
        )
    return jobs


def _time_candidates_api(token_key: str, jobs: list) -> dict:
    """Latencies (seconds) of /api/jobs/{id}/candidates/ against a local runserver: uncached with cold section
    vectors, cached (Redis), then uncached in the warm process."""
    from bench._serving_model_api import _Server
    from matching import cache as mcache

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    server = _Server(env, token_key)

    def get(path):
        ms, body = server.get(path)
        return ms / 1000.0, body

    try:
        get(f"/api/jobs/{jobs[1].pk}/candidates/?k=20")  # warm-up: encoder, index, model
        mcache.client.reset()
        mcache.invalidate_all()
        cold, warm, cached = [], [], []
        for j in tqdm(jobs[2:], desc="uncached (cold sections)"):
            dt, body = get(f"/api/jobs/{j.pk}/candidates/?k=20")
            assert not body["cached"] and len(body["results"]) == 20
            cold.append(dt)
        for j in tqdm(jobs[2:], desc="cached"):
            for _ in range(3):
                dt, body = get(f"/api/jobs/{j.pk}/candidates/?k=20")
                assert body["cached"]
                cached.append(dt)
        mcache.invalidate_all()
        for j in tqdm(jobs[2:], desc="uncached (warm process)"):
            dt, body = get(f"/api/jobs/{j.pk}/candidates/?k=20")
            assert not body["cached"]
            warm.append(dt)
        breakdown = body["retrieval"]
    finally:
        server.close()
    return {"cold": cold, "warm": warm, "cached": cached, "breakdown": breakdown}


# --------------------------------------------------------------------------------------- report
def api_runs(res: dict) -> list[dict]:
    """The /candidates/ runs, one per resume count (an older results file holds one run as a dict)."""
    api = res.get("api") or []
    return [api] if isinstance(api, dict) else list(api)


def write_doc(res: dict) -> None:
    lines = [
        "## Serving",
        "",
        "Written by `bench/serving.py` (raw figures: `bench/results/serving.json`).",
        "",
    ]
    if res.get("ann"):
        lines += [
            "### Nearest-neighbour retrieval, top-20, one query at a time",
            "",
            "| vectors | back-end | build s | index MB | p50 ms | p95 ms | p99 ms | recall@20 |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in res["ann"]:
            lines.append(
                f"| {r['n']:,} | {r['backend']}{' (served)' if r.get('served') else ''} | {r['build_s']} | "
                f"{r['index_mb']} | {r['p50_ms']} | "
                f"{r['p95_ms']} | {r['p99_ms']} | {r['recall_at_20']} |"
            )
        g = res["ann"][-1]
        lines += [
            "",
            f"Data: 384-d unit vectors, clustered (random-pair cosine {g['data_random_pair_cosine']}, "
            f"top-1 {g['data_top1_cosine']}, 20th {g['data_top20_cosine']}). Recall against exact search. "
            "(served) = the setting serving runs at that size (ANN_FAISS_KIND, ANN_IVF_NPROBE; exact below "
            "ANN_MIN_SIZE). Each row carries the load average it was measured under (JSON). "
            f"{res.get('ann_note', '')}",
            "",
        ]
    if res.get("rerank"):
        r = res["rerank"]
        lines += [
            "### Rerank of 200 candidates with the co-teaching model",
            "",
            f"Warm (section embeddings cached): p50 {r['warm']['p50_ms']} ms, p95 {r['warm']['p95_ms']} ms, "
            f"p99 {r['warm']['p99_ms']} ms. Cold (800 section texts through MiniLM first): "
            f"{', '.join(str(c) for c in r['cold_sections_ms'])} ms. ({r['load']})",
            "",
        ]
    if res.get("embedding"):
        e = res["embedding"]
        lines += [
            "### Embedding throughput (texts/s, 2 threads)",
            "",
            "| texts | path | texts/s | speed-up vs ml.embedding | mean cos | min cos |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for name, d in e["paths"].items():
            for p, v in d.items():
                if isinstance(v, dict):
                    lines.append(
                        f"| {name} (~{d['tokens_mean']} tokens) | {p} | {v['texts_per_s']} | "
                        f"{v['speedup_vs_ml_embedding']} | {v['cos_mean']} | {v['cos_min']} |"
                    )
        lines += ["", f"({e['load']})", ""]
    for a in api_runs(res):
        lines += [
            f"### /api/jobs/{{id}}/candidates/ end to end ({a['resumes']:,} resumes in PostgreSQL)",
            "",
            "| request | p50 ms | p95 ms | p99 ms | n |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in [
            ("uncached, first time (section vectors cold)", "uncached_first"),
            ("uncached, warm process", "uncached_warm"),
            ("cached (Redis)", "cached"),
        ]:
            v = a[key]
            lines.append(f"| {label} | {v['p50_ms']} | {v['p95_ms']} | {v['p99_ms']} | {v['queries']} |")
        lines += ["", f"Index {a['index']} built in {a['index_build_s']} s. {a['server']}. ({a['load']})", ""]
    lines += _api_model_lines(res.get("api_model") or {})
    lines += ["### Verdicts", "", *[f"- {v}" for v in res.get("verdicts", [])], ""]
    if res.get("notes"):
        lines += ["### Notes", "", *[f"- {n}" for n in res["notes"]], ""]
    section = "\n".join(lines).rstrip() + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Results\n"
    start = text.find("## Serving")
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + 3)
        text = text[:start] + section + (text[nxt + 1 :] if nxt != -1 else "")
    DOC.write_text(text)


def _api_model_lines(a: dict) -> list[str]:
    """The table of ``--api-model``: /candidates/ with the demo's trained model active."""
    if not a or "cold_rerank_stage" not in a:
        return []
    lines = [
        f"### /api/jobs/{{id}}/candidates/ with a trained model ({a['model']}, {a['resumes']:,} resumes, "
        f"{a['reranked']} reranked: MATCH_RETRIEVE_K={a.get('retrieve_k')} plus the history neighbours)",
        "",
        "| what | p50 ms | p95 ms | n |",
        "|---|---:|---:|---:|",
    ]
    b = a.get("baseline") or {}
    if b:
        lines[-2] += f" before: {b['ref']} p50 ms | before p95 ms |"
        lines[-1] += "---:|---:|"
    for label, key in [
        (
            "rerank stage, first request of a fresh process (section vectors from PostgreSQL)",
            "cold_rerank_stage",
        ),
        ("whole request, same", "cold_request"),
        ("rerank stage, warm process", "warm_rerank_stage"),
        ("whole request, uncached, warm process", "uncached_warm_request"),
        ("cached (Redis)", "cached"),
        ("bare authenticated endpoint /api/auth/me/, interleaved with the cached ones", "bare_me"),
    ]:
        v = a[key]
        row = f"| {label} | {v['p50_ms']} | {v['p95_ms']} | {v['n']} |"
        if b:
            row += f" {b[key]['p50_ms']} | {b[key]['p95_ms']} |"
        lines.append(row)
    if b:
        lines += [
            "",
            f"Before = the same measurement, in the same run, on a copy of `{b['ref']}` ({b['commit'][:12]}; "
            f"{b['reranked']} reranked; cached p95 / bare p95 = {b['cached_to_bare_p95']}; {b['load']}).",
        ]
    lines += [
        "",
        f"Cached p95 / bare p95 = {a['cached_to_bare_p95']}. The demo's data (`manage.py demo`: sample data, "
        f"embedding worker, first model trained and promoted) in its own PostgreSQL database; {a['server']}. "
        f"({a['load']})",
        "",
    ]
    return lines


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--skip-ann", action="store_true")
    ap.add_argument(
        "--ann-kinds",
        default=",".join(ANN_KINDS),
        help="back-ends to measure (rows of other kinds and sizes kept from the last run)",
    )
    ap.add_argument("--skip-rerank", action="store_true")
    ap.add_argument("--skip-embed", action="store_true")
    ap.add_argument(
        "--api", action="store_true", help="also /candidates over HTTP with --api-resumes in PostgreSQL"
    )
    ap.add_argument("--api-only", action="store_true")
    ap.add_argument(
        "--api-model",
        action="store_true",
        help="also /candidates with the demo's trained model (own database)",
    )
    ap.add_argument(
        "--api-model-baseline",
        metavar="REF",
        help="with --api-model: also measure a copy of this git ref's tree in the same run (before/after)",
    )
    ap.add_argument(
        "--api-resumes",
        default="100000",
        help="comma-separated resume counts, measured in ascending order in one database (each tops it up); '': none",
    )
    ap.add_argument("--note", action="append", default=[])
    return ap.parse_args()


def main() -> None:
    args = _args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.api or args.api_only:
        os.environ.setdefault("DATABASE_URL", BENCH_DB)
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
        dbname = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"CREATE DATABASE {dbname}"],
            capture_output=True,
        )
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, cwd=ROOT)
    import django

    django.setup()

    res = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    res["machine"] = {"cpus": os.cpu_count(), "start": load()}
    if not args.api_only:
        if not args.skip_ann:
            sizes = [int(s) for s in args.sizes.split(",")]
            kinds = tuple(k for k in args.ann_kinds.split(",") if k)
            fresh = bench_ann(sizes, args.queries, kinds)
            measured = {(r["n"], r["backend"].split()[0]) for r in fresh}
            kept = [r for r in res.get("ann", []) if (r["n"], r["backend"].split()[0]) not in measured]
            res["ann"] = sorted(kept + fresh, key=lambda r: (r["n"], ann_order(r["backend"])))
        if not args.skip_rerank:
            res["rerank"] = bench_rerank()
        if not args.skip_embed:
            res["embedding"] = bench_embedding()
    if args.api or args.api_only:
        fresh = [bench_api(n) for n in sorted({int(n) for n in args.api_resumes.split(",") if n})]
        measured = {a["resumes"] for a in fresh}
        kept = [a for a in api_runs(res) if a["resumes"] not in measured]
        res["api"] = sorted(kept + fresh, key=lambda a: a["resumes"])
    if args.api_model:
        from bench._serving_model_api import bench_api_model

        res["api_model"] = bench_api_model(baseline=args.api_model_baseline)
    if args.note:
        res["notes"] = args.note
    res["machine"]["end"] = load()
    res["verdicts"] = serving_verdicts(res)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2))
    write_doc(res)
    print(f"\nwrote {RESULTS.relative_to(ROOT)} and the Serving section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
