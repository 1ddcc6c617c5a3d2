"""Text view of MV-CoN: frozen sentence embeddings of sections -> small trainable towers -> matching head.

Departure from the paper (documented in mvcon.md as the Tandem variant): instead of a BERT + Transformer
hierarchical encoder we use frozen MiniLM section embeddings (cached) and an attention pooling over sections;
that is what makes training on 2 CPU cores take about a minute.

Each document is represented by ``N_SECTIONS`` = 4 vectors: three peer sections (see ``PEER_SECTIONS``:
title<->headline, skills<->skills, description<->experience) and the whole document.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .embedding import EmbeddingCache
from .types import PEER_SECTIONS, JobDoc, ResumeDoc

JOB_VIEW_SECTIONS = (*PEER_SECTIONS.keys(), "whole")  # title, skills, description, whole
RESUME_VIEW_SECTIONS = (*PEER_SECTIONS.values(), "whole")  # headline, skills, experience, whole
N_SECTIONS = len(JOB_VIEW_SECTIONS)
N_PEER = len(PEER_SECTIONS)
# peer (3) + job-whole vs resume sections (3) + resume-whole vs job sections (3) + whole-whole (1)
N_SIM_FEATURES = 3 * N_PEER + 1


def job_section_texts(job: JobDoc) -> list[str]:
    s = job.sections()
    return [s[k] for k in PEER_SECTIONS] + [job.full_text()]


def resume_section_texts(resume: ResumeDoc) -> list[str]:
    s = resume.sections()
    return [s[k] for k in PEER_SECTIONS.values()] + [resume.full_text()]


def embed_sections(
    docs: Sequence[JobDoc] | Sequence[ResumeDoc], cache: EmbeddingCache, *, progress=False, share_rows=False
):
    """(n, N_SECTIONS, dim) float32 frozen section embeddings (empty section -> zero vector). ``share_rows``: the
    cache keeps views of the result (``EmbeddingCache.encode``), for arrays kept as long as the cache."""
    if not docs:
        return np.zeros((0, N_SECTIONS, cache.encoder.dim), dtype=np.float32)
    fn = job_section_texts if isinstance(docs[0], JobDoc) else resume_section_texts
    texts = [t for d in docs for t in fn(d)]
    return cache.encode(texts, progress=progress, share_rows=share_rows).reshape(len(docs), N_SECTIONS, -1)


def similarity_features(ej: torch.Tensor, er: torch.Tensor) -> torch.Tensor:
    """Peer-level and cross-level cosines between frozen section embeddings of paired docs.

    ej, er: (B, N_SECTIONS, dim), L2-normalised rows (or zero). Returns (B, N_SIM_FEATURES).
    """
    peer = (ej[:, :N_PEER] * er[:, :N_PEER]).sum(-1)  # title.headline, skills.skills, description.experience
    jw_r = (ej[:, N_PEER : N_PEER + 1] * er[:, :N_PEER]).sum(-1)  # whole job vs each resume section
    rw_j = (er[:, N_PEER : N_PEER + 1] * ej[:, :N_PEER]).sum(-1)  # whole resume vs each job section
    ww = (ej[:, N_PEER] * er[:, N_PEER]).sum(-1, keepdim=True)
    return torch.cat([peer, jw_r, rw_j, ww], dim=1)


def _feature_section_index() -> tuple[np.ndarray, np.ndarray]:
    """(job section, resume section) of each similarity feature, in ``similarity_features``' column order."""
    w = N_PEER
    js = [*range(N_PEER), *[w] * N_PEER, *range(N_PEER), w]
    rs = [*range(N_PEER), *range(N_PEER), *[w] * N_PEER, w]
    return np.array(js), np.array(rs)


_FEATURE_JS, _FEATURE_RS = _feature_section_index()


def pair_similarity_features(
    ej: torch.Tensor, er: torch.Tensor, pj: np.ndarray, pr: np.ndarray, *, max_cells: int = 8_000_000
) -> torch.Tensor:
    """``similarity_features(ej[pj], er[pr])`` for many pairs at once, without gathering (m, S, dim) copies.

    Pairs are grouped by resume; per group of resumes one matrix product of every section of the group's jobs
    with every section of its resumes gives all section cosines, and the features are read out of it. Scoring
    all candidates of a ranking (millions of pairs over a few thousand documents) was dominated by the gathers.
    A group's product has at most about ``max_cells`` cells (its distinct jobs, bounded by its pairs, times its
    resumes, times sections squared): scattered pairs (an evaluation's 40k random ones at 100k resumes) made
    one group of every resume and a product of ~10 GB when only the pairs were bounded.
    """
    pj = np.asarray(pj, np.int64)
    pr = np.asarray(pr, np.int64)
    m = len(pj)
    out = torch.zeros(m, N_SIM_FEATURES)
    if m == 0:
        return out
    s = ej.shape[1]
    order = np.argsort(pr, kind="stable")
    ur, starts = np.unique(pr[order], return_index=True)
    bounds = np.r_[starts, m]
    g0 = 0
    while g0 < len(ur):
        g1 = g0 + 1
        while g1 < len(ur) and min(bounds[g1 + 1] - bounds[g0], len(ej)) * (g1 + 1 - g0) * s * s <= max_cells:
            g1 += 1
        sel = order[bounds[g0] : bounds[g1]]
        uj, a = np.unique(pj[sel], return_inverse=True)
        b = np.searchsorted(ur[g0:g1], pr[sel])
        jf = ej[torch.from_numpy(uj)].reshape(len(uj) * s, -1)
        rf = er[torch.from_numpy(ur[g0:g1])].reshape((g1 - g0) * s, -1)
        gram = (jf @ rf.T).reshape(-1)  # [(job, job section), (resume, resume section)]
        cols = (g1 - g0) * s
        flat = (a[:, None] * s + _FEATURE_JS[None, :]) * cols + b[:, None] * s + _FEATURE_RS[None, :]
        out[torch.from_numpy(sel)] = gram[torch.from_numpy(flat.reshape(-1))].reshape(len(sel), -1)
        g0 = g1
    return out


class SectionTower(nn.Module):
    """Per-section projection + attention pooling over the non-empty sections -> (h,) doc vector.

    Also returns the projected section vectors (B, S, h) used by the section-level alignment loss.
    """

    def __init__(self, in_dim: int, hidden: int, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden)
        )
        self.section_bias = nn.Parameter(torch.zeros(N_SECTIONS, hidden))
        self.att = nn.Linear(hidden, 1)

    def forward(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = e.abs().sum(-1) > 0  # (B, S)
        z = self.proj(e) + self.section_bias
        logits = self.att(torch.tanh(z)).squeeze(-1).masked_fill(~mask, -1e4)
        a = torch.softmax(logits, dim=1) * mask.float()
        pooled = (a.unsqueeze(-1) * z).sum(1)
        return pooled, z


def pair_mlp(in_dim: int, hidden: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden // 2), nn.GELU(),
        nn.Linear(hidden // 2, 1),
    )  # fmt: skip


class TextView(nn.Module):
    """score(j, r) = MLP([j, r, j*r, |j-r|, sim_features]) over the towers' pooled vectors."""

    def __init__(self, in_dim: int, hidden: int, dropout: float = 0.1):
        super().__init__()
        self.job_tower = SectionTower(in_dim, hidden, dropout)
        self.resume_tower = SectionTower(in_dim, hidden, dropout)
        self.feat_scale = nn.Linear(N_SIM_FEATURES, N_SIM_FEATURES)
        self.head = pair_mlp(4 * hidden + N_SIM_FEATURES, hidden, dropout)

    def encode_jobs(self, ej: torch.Tensor):
        return self.job_tower(ej)

    def encode_resumes(self, er: torch.Tensor):
        return self.resume_tower(er)

    def head_logit(
        self, j: torch.Tensor, r: torch.Tensor, ej: torch.Tensor, er: torch.Tensor
    ) -> torch.Tensor:
        """Pair logit from pooled vectors j, r and the frozen section embeddings ej, er of the same pairs."""
        return self.head_logit_from_features(j, r, similarity_features(ej, er))

    def head_logit_from_features(self, j: torch.Tensor, r: torch.Tensor, sims: torch.Tensor) -> torch.Tensor:
        """As ``head_logit`` with the pairs' section cosines already computed (``pair_similarity_features``)."""
        x = torch.cat([j, r, j * r, (j - r).abs(), self.feat_scale(sims)], dim=1)
        return self.head(x).squeeze(-1)

    def forward(self, ej: torch.Tensor, er: torch.Tensor) -> dict[str, torch.Tensor]:
        j, zj = self.job_tower(ej)
        r, zr = self.resume_tower(er)
        return {"logit": self.head_logit(j, r, ej, er), "j": j, "r": r, "zj": zj, "zr": zr}


def softened_contrastive(a: torch.Tensor, b: torch.Tensor, alpha: float, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE with softened negatives (PyramidCLIP): target 1-alpha on the diagonal, alpha/(N-1) off.

    a, b: (N, h) paired rows. Returns a scalar (0 when N < 2).
    """
    n = a.shape[0]
    if n < 2:
        return a.sum() * 0.0
    a = F.normalize(a, dim=-1)
    b = F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    target = torch.full((n, n), alpha / (n - 1), device=a.device)
    target.fill_diagonal_(1.0 - alpha)
    l1 = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    l2 = -(target * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return 0.5 * (l1 + l2)


def section_alignment_loss(
    out: dict[str, torch.Tensor],
    ej: torch.Tensor,
    er: torch.Tensor,
    alpha: float,
    temperature: float,
    *,
    cross_level: bool = True,
) -> torch.Tensor:
    """Peer-level (same-kind sections) + cross-level (section of one side vs whole of the other) alignment.

    Rows where either section is empty are left out of that term. ``cross_level=False``: peer-level terms only
    (the ablation of PyramidCLIP's cross-level idea).
    """
    zj, zr, j, r = out["zj"], out["zr"], out["j"], out["r"]
    mj = ej.abs().sum(-1) > 0
    mr = er.abs().sum(-1) > 0
    terms = []
    for s in range(N_PEER):
        m = mj[:, s] & mr[:, s]
        if int(m.sum()) >= 2:
            terms.append(softened_contrastive(zj[m, s], zr[m, s], alpha, temperature))
    # cross level: resume skills <-> whole job, job skills <-> whole resume
    skills = 1
    cross = ((mr[:, skills], zr[:, skills], j), (mj[:, skills], zj[:, skills], r)) if cross_level else ()
    for m, a, b in cross:
        if int(m.sum()) >= 2:
            terms.append(softened_contrastive(a[m], b[m], alpha, temperature))
    if not terms:
        return j.sum() * 0.0
    return torch.stack(terms).mean()
