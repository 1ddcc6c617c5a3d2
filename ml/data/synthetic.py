"""Synthetic job/resume/interaction data with a HIDDEN ground-truth fit, controllable noise and sparsity.

Ground truth for a pair (job j, resume r):
    f = 2.5*[same occupation] + 1.0*[adjacent occupation] + 3.0*jaccard(skills) - 1.2*|seniority_j - seniority_r|
        + latent_weight * <u_j, u_r>            (u: hidden 4-d "taste" vectors, never visible in any text)
    true label = f > theta, theta set so that ``positive_rate`` of the candidate pairs are positive.

Text shows occupation (titles, skills, descriptions), seniority (words like "Senior", years of experience)
and skills, but the weighting (seniority distance, skill overlap) and the latent taste only show through
interactions, so a zero-shot text cosine is a fair but beatable baseline.

Interactions: candidates are drawn mostly among related occupations (people apply to plausible jobs), with a
Zipf-like activity skew (``sparsity``: higher -> a few very active items, a long tail with ~1 interaction).
Each pair gets one event whose kind follows the true label; a ``label_noise`` fraction is then FLIPPED
(positive kind <-> negative kind) and recorded in ``clean_mask``. Deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..types import INTERACTION_STRENGTH, InteractionEvent, JobDoc, MatchingData, ResumeDoc

OCCUPATIONS: dict[str, dict] = {
    "backend": {
        "titles": ["Backend Engineer", "Python Developer", "Backend Developer"],
        "skills": ["python", "django", "postgresql", "rest api", "docker", "redis", "celery", "sql", "fastapi", "linux"],
        "does": "build and operate scalable web services and APIs",
        "degree": "BSc Computer Science",
        "category": "software",
    },
    "frontend": {
        "titles": ["Frontend Engineer", "React Developer", "UI Developer"],
        "skills": ["javascript", "typescript", "react", "css", "html", "redux", "webpack", "vue", "accessibility", "figma"],
        "does": "craft responsive user interfaces for web applications",
        "degree": "BSc Media Informatics",
        "category": "software",
    },
    "fullstack": {
        "titles": ["Full Stack Developer", "Full Stack Engineer", "Web Developer"],
        "skills": ["javascript", "python", "react", "node.js", "postgresql", "docker", "typescript", "rest api", "graphql", "aws"],
        "does": "ship features end to end across web frontend and backend",
        "degree": "BSc Software Engineering",
        "category": "software",
    },
    "data_science": {
        "titles": ["Data Scientist", "Applied Scientist", "Analytics Scientist"],
        "skills": ["python", "pandas", "statistics", "machine learning", "sql", "scikit-learn", "a/b testing", "r", "tableau", "numpy"],
        "does": "turn data into models and insights that drive product decisions",
        "degree": "MSc Statistics",
        "category": "data",
    },
    "ml_engineering": {
        "titles": ["Machine Learning Engineer", "ML Engineer", "MLOps Engineer"],
        "skills": ["python", "pytorch", "machine learning", "docker", "kubernetes", "mlflow", "tensorflow", "spark", "aws", "numpy"],
        "does": "train, deploy and monitor machine learning models in production",
        "degree": "MSc Computer Science",
        "category": "data",
    },
    "devops": {
        "titles": ["DevOps Engineer", "Site Reliability Engineer", "Platform Engineer"],
        "skills": ["kubernetes", "terraform", "aws", "docker", "linux", "prometheus", "ci/cd", "ansible", "bash", "gcp"],
        "does": "automate infrastructure and keep production systems reliable",
        "degree": "BSc Information Technology",
        "category": "software",
    },
    "accounting": {
        "titles": ["Accountant", "Financial Accountant", "Staff Accountant"],
        "skills": ["bookkeeping", "ifrs", "excel", "sap", "accounts payable", "reconciliation", "tax", "audit", "payroll", "datev"],
        "does": "prepare financial statements and manage month-end closing",
        "degree": "BA Accounting",
        "category": "finance",
    },
    "financial_analysis": {
        "titles": ["Financial Analyst", "FP&A Analyst", "Finance Analyst"],
        "skills": ["excel", "financial modeling", "forecasting", "budgeting", "sql", "power bi", "valuation", "sap", "reporting", "variance analysis"],
        "does": "build forecasts and budgets and analyse business performance",
        "degree": "MSc Finance",
        "category": "finance",
    },
    "nursing": {
        "titles": ["Registered Nurse", "Nurse", "Staff Nurse"],
        "skills": ["patient care", "medication administration", "wound care", "iv therapy", "triage", "electronic health records", "cpr", "infection control", "vital signs", "care planning"],
        "does": "provide safe, compassionate patient care on a busy ward",
        "degree": "BSc Nursing",
        "category": "healthcare",
    },
    "sales": {
        "titles": ["Account Executive", "Sales Representative", "Sales Manager"],
        "skills": ["b2b sales", "salesforce", "negotiation", "lead generation", "crm", "cold calling", "account management", "pipeline management", "presentations", "saas"],
        "does": "win new customers and grow revenue in an assigned territory",
        "degree": "BA Business Administration",
        "category": "sales",
    },
    "marketing": {
        "titles": ["Marketing Manager", "Digital Marketing Specialist", "Growth Marketer"],
        "skills": ["seo", "google ads", "content marketing", "social media", "google analytics", "email marketing", "copywriting", "hubspot", "branding", "campaign management"],
        "does": "plan and run campaigns that grow awareness and demand",
        "degree": "BA Marketing",
        "category": "sales",
    },
    "hr": {
        "titles": ["HR Generalist", "Recruiter", "Talent Acquisition Specialist"],
        "skills": ["recruiting", "onboarding", "employee relations", "hris", "labor law", "interviewing", "sourcing", "payroll", "performance management", "workday"],
        "does": "hire great people and support employees through their lifecycle",
        "degree": "BA Human Resources",
        "category": "people",
    },
}  # fmt: skip
# A tuple, not a set: the order is iterated when drawing skills, and a set's order changes between processes
# (string hashing), which made the generated data differ from run to run.
ADJACENT = (
    ("backend", "fullstack"), ("frontend", "fullstack"), ("backend", "devops"), ("data_science", "ml_engineering"),
    ("ml_engineering", "backend"), ("accounting", "financial_analysis"), ("sales", "marketing"), ("hr", "accounting"),
)  # fmt: skip
SENIORITY = ["Junior", "", "Senior", "Lead"]
YEARS = [(0, 2), (2, 5), (5, 9), (8, 15)]
CITIES = ["Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt", "Remote"]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
]
POS_KINDS = ["apply", "shortlist", "interview", "offer", "hire"]
NEG_KINDS = ["reject", "not_interested", "withdraw"]


@dataclass
class SyntheticData:
    data: MatchingData
    clean_mask: np.ndarray  # (n_interactions,) bool, aligned with data.interactions
    job_occ: np.ndarray
    resume_occ: np.ndarray
    job_sen: np.ndarray
    resume_sen: np.ndarray
    job_latent: np.ndarray
    resume_latent: np.ndarray
    theta: float
    latent_weight: float
    params: dict = field(default_factory=dict)

    def _jaccard(self, pairs: np.ndarray) -> np.ndarray:
        out = np.empty(len(pairs))
        for i, (j, r) in enumerate(pairs):
            a, b = set(self.data.jobs[j].skills), set(self.data.resumes[r].skills)
            out[i] = len(a & b) / max(1, len(a | b))
        return out

    def fit_score(self, pairs: np.ndarray) -> np.ndarray:
        """Hidden real-valued fit f for (m, 2) [job index, resume index] pairs."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        oj, orr = self.job_occ[pairs[:, 0]], self.resume_occ[pairs[:, 1]]
        names = list(OCCUPATIONS)
        adj = np.array(
            [
                (names[a], names[b]) in ADJACENT or (names[b], names[a]) in ADJACENT
                for a, b in zip(oj, orr, strict=True)
            ]
        )
        lat = (self.job_latent[pairs[:, 0]] * self.resume_latent[pairs[:, 1]]).sum(1) / 2.0
        return (
            2.5 * (oj == orr)
            + 1.0 * adj
            + 3.0 * self._jaccard(pairs)
            - 1.2 * np.abs(self.job_sen[pairs[:, 0]] - self.resume_sen[pairs[:, 1]])
            + self.latent_weight * lat
        )

    def true_fit(self, pairs: np.ndarray) -> np.ndarray:
        """Probability-like fit in (0, 1): sigmoid(2 * (f - theta))."""
        return 1.0 / (1.0 + np.exp(-2.0 * (self.fit_score(pairs) - self.theta)))

    def true_label(self, pairs: np.ndarray) -> np.ndarray:
        return self.fit_score(pairs) > self.theta

    def clean_mask_fn(self, pairs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """For ``train(..., clean_mask_fn=...)``: a label is clean iff it equals the true label."""
        return self.true_label(pairs) == (np.asarray(labels) > 0.5)


def _make_job(i: int, occ: str, sen: int, rng: np.random.Generator) -> JobDoc:
    o = OCCUPATIONS[occ]
    title = " ".join(x for x in (SENIORITY[sen], rng.choice(o["titles"])) if x)
    skills = tuple(rng.choice(o["skills"], size=int(rng.integers(4, 7)), replace=False).tolist())
    lo, hi = YEARS[sen]
    desc = (
        f"We are looking for a {title} to {o['does']}. You bring {lo}+ years of relevant experience "
        f"and work with {', '.join(skills[:3])}."
    )
    return JobDoc(
        id=f"j{i}",
        title=title,
        description=desc,
        skills=skills,
        company=str(rng.choice(COMPANIES)),
        location=str(rng.choice(CITIES)),
        category=o["category"],
    )


def _make_resume(i: int, occ: str, sen: int, rng: np.random.Generator, names: list[str]) -> ResumeDoc:
    o = OCCUPATIONS[occ]
    title = rng.choice(o["titles"])
    headline = " ".join(x for x in (SENIORITY[sen], title) if x)
    own = rng.choice(o["skills"], size=int(rng.integers(3, 7)), replace=False).tolist()
    others = [b for a, b in ADJACENT if a == occ] + [a for a, b in ADJACENT if b == occ]
    extra = []
    if others and rng.random() < 0.5:
        extra = rng.choice(OCCUPATIONS[str(rng.choice(others))]["skills"], size=2, replace=False).tolist()
    skills = tuple(dict.fromkeys(own + extra))
    lo, hi = YEARS[sen]
    years = int(rng.integers(lo, hi + 1))
    exp = [f"{years} years as {title} at {rng.choice(COMPANIES)}: {o['does']} using {', '.join(skills[:3])}."]
    if sen >= 2 and rng.random() < 0.6:
        exp.append(f"Mentored a team of {int(rng.integers(2, 8))} and led projects with {skills[-1]}.")
    return ResumeDoc(
        id=f"r{i}",
        headline=headline,
        summary=f"{headline} with {years} years of experience.",
        skills=skills,
        experience=tuple(exp),
        education=(o["degree"],),
        location=str(rng.choice(CITIES)),
        category=o["category"],
    )


def make_synthetic(
    n_jobs: int = 300,
    n_resumes: int = 800,
    n_interactions: int = 4000,
    *,
    label_noise: float = 0.2,
    sparsity: float = 1.0,
    related_fraction: float = 0.75,
    positive_rate: float = 0.4,
    latent_weight: float = 1.5,
    days: float = 180.0,
    seed: int = 0,
) -> SyntheticData:
    """Make a synthetic snapshot (see module docstring). ``n_interactions`` distinct pairs, one event each.

    sparsity: exponent of the Zipf-like activity weights (0 = uniform activity).
    related_fraction: share of candidate pairs drawn from the same or an adjacent occupation.
    """
    rng = np.random.default_rng(seed)  # one generator, drawn from in this order: documents, pairs, events
    syn = _documents(n_jobs, n_resumes, latent_weight, seed, rng)
    syn.params = dict(
        n_jobs=n_jobs, n_resumes=n_resumes, n_interactions=n_interactions, label_noise=label_noise,
        sparsity=sparsity, related_fraction=related_fraction, positive_rate=positive_rate, seed=seed,
    )  # fmt: skip
    pairs = _candidate_pairs(syn, n_interactions, sparsity, related_fraction, rng)
    f = syn.fit_score(pairs)
    syn.theta = float(np.quantile(f, 1.0 - positive_rate))
    _observe(syn, pairs, f > syn.theta, label_noise, days, rng)
    return syn


def _documents(
    n_jobs: int, n_resumes: int, latent_weight: float, seed: int, rng: np.random.Generator
) -> SyntheticData:
    """Hidden occupation, seniority and taste of every job and resume, and the documents that show the first two."""
    names = list(OCCUPATIONS)
    n_occ = len(names)
    job_occ = rng.integers(0, n_occ, n_jobs)
    res_occ = rng.integers(0, n_occ, n_resumes)
    job_sen = rng.integers(0, 4, n_jobs)
    res_sen = rng.integers(0, 4, n_resumes)
    jobs = [_make_job(i, names[job_occ[i]], int(job_sen[i]), rng) for i in range(n_jobs)]
    resumes = [_make_resume(i, names[res_occ[i]], int(res_sen[i]), rng, names) for i in range(n_resumes)]
    job_lat = rng.normal(size=(n_jobs, 4))
    res_lat = rng.normal(size=(n_resumes, 4))
    return SyntheticData(
        data=MatchingData(jobs, resumes, [], meta={"source": "synthetic", "seed": seed}),
        clean_mask=np.zeros(0, dtype=bool),
        job_occ=job_occ,
        resume_occ=res_occ,
        job_sen=job_sen,
        resume_sen=res_sen,
        job_latent=job_lat,
        resume_latent=res_lat,
        theta=0.0,
        latent_weight=latent_weight,
    )


def _candidate_pairs(
    syn: SyntheticData,
    n_interactions: int,
    sparsity: float,
    related_fraction: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(m, 2) distinct [job, resume] pairs: Zipf-like activity on both sides, ``related_fraction`` of them with a
    resume of the same or an adjacent occupation."""
    n_jobs, n_resumes = len(syn.job_occ), len(syn.resume_occ)
    names = list(OCCUPATIONS)
    n_occ = len(names)

    # activity (sparsity): Zipf-like weights over a random permutation of items
    def weights(n):
        w = 1.0 / np.arange(1, n + 1) ** (sparsity * 0.8)
        w = w[rng.permutation(n)]
        return w / w.sum()

    wj, wr = weights(n_jobs), weights(n_resumes)
    related = np.eye(n_occ, dtype=bool)
    for a, b in ADJACENT:
        related[names.index(a), names.index(b)] = related[names.index(b), names.index(a)] = True
    by_occ = [
        np.flatnonzero(related[syn.resume_occ, o]) for o in range(n_occ)
    ]  # resumes related to occupation o

    n_target = min(n_interactions, n_jobs * n_resumes // 2)
    seen: set[tuple[int, int]] = set()
    pairs = []
    while len(pairs) < n_target:
        m = 2 * (n_target - len(pairs)) + 16
        js = rng.choice(n_jobs, size=m, p=wj)
        rs = rng.choice(n_resumes, size=m, p=wr)
        rel = rng.random(m) < related_fraction
        for j, r, want_rel in zip(js, rs, rel, strict=True):
            if want_rel:
                cand = by_occ[syn.job_occ[j]]
                r = cand[int(rng.integers(0, len(cand)))] if len(cand) else r
            key = (int(j), int(r))
            if key in seen:
                continue
            seen.add(key)
            pairs.append(key)
            if len(pairs) >= n_target:
                break
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def _observe(
    syn: SyntheticData,
    pairs: np.ndarray,
    truth: np.ndarray,
    label_noise: float,
    days: float,
    rng: np.random.Generator,
) -> None:
    """One event per pair, in random time order over ``days``, its kind following the true label, a
    ``label_noise`` share flipped; sets ``syn.data.interactions`` and ``syn.clean_mask``."""
    flip = rng.random(len(pairs)) < label_noise
    observed = truth ^ flip
    ts = np.sort(rng.uniform(0, days * 86400.0, len(pairs))) + 1.7e9
    order = rng.permutation(len(pairs))  # random pair order in time
    jobs, resumes = syn.data.jobs, syn.data.resumes
    events = []
    for t, k in zip(ts, order, strict=True):
        j, r = pairs[k]
        if observed[k]:
            kind = POS_KINDS[min(len(POS_KINDS) - 1, int(rng.geometric(0.55)) - 1)]
        else:
            kind = str(rng.choice(NEG_KINDS, p=[0.6, 0.3, 0.1]))
        assert kind in INTERACTION_STRENGTH
        events.append(InteractionEvent(jobs[j].id, resumes[r].id, kind, float(t)))
    syn.data.interactions = events
    syn.clean_mask = ~flip[order]
