"""A seeded generator of realistic-looking jobs, resumes and interactions, for demos and benchmarks.

Each job and each resume belongs to a latent occupation family (software, data, nursing, retail,
logistics, finance, marketing, hospitality); resumes borrow a little from other families (career
changers, side skills). Interactions are sparse funnels (impression -> click -> apply -> shortlist ->
interview -> offer -> hire, or a reject / withdraw / not_interested) that mostly stay within a family,
with ~15% of pairs drawn across families, spread over the last ~90 days.

`generate(...)` is pure and deterministic for a seed (and a fixed `now`); `load_sample_data(...)`
writes it into one organization with bulk_create (computing content_hash itself, since bulk_create
bypasses save()). Bulk writes send no `document_saved` signals: the embedding sweep picks documents
without vectors up, or call the embedding step explicitly after loading.

The family is kept in every external id (``sample-job-nursing-00012``), so benchmarks can read the
latent label back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from recruiting.models import Candidate, Interaction, Job, Organization, Resume
from recruiting.services import resume_compose_text

EXTERNAL_PREFIX = "sample-"

CITIES = [
    "Berlin",
    "Munich",
    "Hamburg",
    "London",
    "Manchester",
    "Amsterdam",
    "Paris",
    "Madrid",
    "New York",
    "Chicago",
    "Austin",
    "Seattle",
    "Toronto",
    "Dublin",
    "Warsaw",
]

FIRST_NAMES = (
    "Anna Ben Carla David Elif Farid Grace Hugo Ines Jonas Kemi Lars Maya Noah Olga Pablo Quinn Rosa "
    "Sven Tara Umar Vera Wei Xenia Yusuf Zoe Amir Bianca Chen Dmitri Emma Femi Giulia Hana Ivan Julia Kofi "
    "Lena Marco Nadia Omar Priya Rahul Sara Tomas Uma Victor Wanda Yara"
).split()
LAST_NAMES = (
    "Schmidt Okafor Garcia Novak Rossi Kim Nguyen Müller Patel Smith Johansson Dubois Kowalski Silva Ahmed "
    "Brown Fischer Costa Yilmaz Tanaka Larsen Moreau Hughes Becker Ivanova Mensah Romero Weber Haddad Walsh"
).split()

SENIORITY_PREFIX = {
    "intern": "Intern",
    "junior": "Junior",
    "mid": "",
    "senior": "Senior",
    "lead": "Lead",
    "executive": "Head of",
}
SENIORITY_WEIGHTS = {"intern": 3, "junior": 18, "mid": 38, "senior": 28, "lead": 10, "executive": 3}
SENIORITY_YEARS = {
    "intern": (0, 1),
    "junior": (1, 3),
    "mid": (3, 6),
    "senior": (6, 12),
    "lead": (8, 15),
    "executive": (12, 25),
}
SENIORITY_ORDER = list(SENIORITY_PREFIX)


@dataclass(frozen=True)
class Family:
    name: str
    titles: tuple[str, ...]
    skills: tuple[str, ...]
    companies: tuple[str, ...]
    duties: tuple[str, ...]
    degrees: tuple[str, ...]
    salary: tuple[int, int]  # mid-level yearly range
    remote_share: float = 0.0
    part_time_share: float = 0.0
    head_title: str = ""  # what "Head of" prefixes for executives


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "software",
            (
                "Backend Engineer",
                "Frontend Developer",
                "Full Stack Developer",
                "Mobile Developer",
                "DevOps Engineer",
                "Site Reliability Engineer",
                "Software Engineer",
            ),
            (
                "Python",
                "Django",
                "Go",
                "Java",
                "TypeScript",
                "React",
                "Node.js",
                "PostgreSQL",
                "Docker",
                "Kubernetes",
                "AWS",
                "Terraform",
                "CI/CD",
                "REST APIs",
                "GraphQL",
                "Redis",
                "Linux",
                "Git",
                "Microservices",
                "Kotlin",
            ),
            (
                "Northwind Software",
                "Bitforge",
                "CloudNine Labs",
                "Initech",
                "Pixelworks GmbH",
                "Stackline Inc",
            ),
            (
                "Design and build REST APIs used by millions of requests a day",
                "Own services end to end, from design to on-call",
                "Migrate legacy services to containers on Kubernetes",
                "Improve test coverage and CI pipelines",
                "Review code and mentor other engineers",
                "Cut page load times by optimising the frontend bundle",
                "Automate infrastructure with Terraform",
            ),
            ("BSc Computer Science", "MSc Software Engineering", "BEng Computer Engineering"),
            (60000, 95000),
            remote_share=0.45,
            head_title="Engineering",
        ),
        Family(
            "data",
            (
                "Data Scientist",
                "Data Engineer",
                "Data Analyst",
                "Machine Learning Engineer",
                "Analytics Engineer",
                "BI Developer",
            ),
            (
                "Python",
                "SQL",
                "pandas",
                "scikit-learn",
                "PyTorch",
                "Spark",
                "Airflow",
                "dbt",
                "Tableau",
                "Power BI",
                "Statistics",
                "A/B testing",
                "Machine learning",
                "BigQuery",
                "Snowflake",
                "Kafka",
                "R",
                "Looker",
            ),
            ("Quantify Analytics", "DataHarbor", "Insightly Labs", "Metricon", "Globex Data"),
            (
                "Build batch and streaming data pipelines",
                "Train and deploy machine learning models for ranking and forecasting",
                "Design dashboards for product and finance teams",
                "Run A/B tests and explain the results to stakeholders",
                "Model the data warehouse with dbt",
                "Clean and document core datasets",
            ),
            ("MSc Statistics", "BSc Mathematics", "MSc Data Science", "PhD Physics"),
            (58000, 98000),
            remote_share=0.35,
            head_title="Data",
        ),
        Family(
            "nursing",
            (
                "Registered Nurse",
                "ICU Nurse",
                "Pediatric Nurse",
                "Emergency Room Nurse",
                "Nurse Practitioner",
                "Charge Nurse",
            ),
            (
                "Patient assessment",
                "Medication administration",
                "Epic EHR",
                "BLS",
                "ACLS",
                "Wound care",
                "Triage",
                "IV therapy",
                "Patient education",
                "Infection control",
                "Ventilator management",
                "Care planning",
                "Telemetry",
                "PALS",
            ),
            (
                "St. Mary's Hospital",
                "City General Hospital",
                "Riverside Medical Center",
                "Sunrise Clinic",
                "Mercy Health",
            ),
            (
                "Assess and monitor patients and escalate changes in condition",
                "Administer medications and IV therapy safely",
                "Coordinate care plans with physicians and therapists",
                "Educate patients and families before discharge",
                "Precept newly qualified nurses",
                "Keep accurate records in the EHR",
            ),
            ("BSN Nursing", "MSN Nursing", "Associate Degree in Nursing"),
            (48000, 72000),
            part_time_share=0.2,
            head_title="Nursing",
        ),
        Family(
            "retail",
            (
                "Store Manager",
                "Sales Associate",
                "Cashier",
                "Visual Merchandiser",
                "Assistant Store Manager",
                "Retail Supervisor",
            ),
            (
                "Customer service",
                "Cash handling",
                "POS systems",
                "Visual merchandising",
                "Inventory management",
                "Upselling",
                "Loss prevention",
                "Scheduling",
                "Team leadership",
                "Stock replenishment",
                "Store operations",
                "Sales targets",
            ),
            ("FreshMart", "Nova Retail", "Urban Outfitters Co", "Bright Home Stores", "MegaMart"),
            (
                "Serve customers on the shop floor and at the till",
                "Hit weekly sales targets and upsell accessories",
                "Replenish stock and run inventory counts",
                "Set up seasonal displays",
                "Schedule shifts for a team of associates",
                "Handle returns and complaints",
            ),
            ("High School Diploma", "BA Business Administration", "Diploma in Retail Management"),
            (26000, 42000),
            part_time_share=0.4,
            head_title="Retail Operations",
        ),
        Family(
            "logistics",
            (
                "Warehouse Associate",
                "Logistics Coordinator",
                "Delivery Driver",
                "Supply Chain Analyst",
                "Warehouse Supervisor",
                "Forklift Operator",
                "Dispatcher",
            ),
            (
                "Forklift certified",
                "WMS",
                "Inventory control",
                "Route planning",
                "SAP",
                "Shipping and receiving",
                "Supply chain",
                "Excel",
                "Health and safety",
                "Pick and pack",
                "Fleet management",
                "Demand planning",
                "Lean",
            ),
            (
                "Midwest Logistics Inc",
                "FastFreight LLC",
                "Harbor Distribution",
                "Parcelline",
                "Cargo Connect",
            ),
            (
                "Pick, pack and ship orders accurately",
                "Plan delivery routes and dispatch drivers",
                "Run cycle counts and reconcile inventory in the WMS",
                "Coordinate inbound freight with carriers",
                "Enforce health and safety procedures on the warehouse floor",
                "Analyse lead times and stock levels",
            ),
            ("High School Diploma", "BSc Supply Chain Management", "Diploma in Logistics"),
            (30000, 52000),
            part_time_share=0.15,
            head_title="Logistics",
        ),
        Family(
            "finance",
            (
                "Financial Analyst",
                "Accountant",
                "Controller",
                "Auditor",
                "FP&A Analyst",
                "Accounts Payable Clerk",
            ),
            (
                "Financial modelling",
                "Excel",
                "IFRS",
                "GAAP",
                "Forecasting",
                "Budgeting",
                "SAP",
                "Reconciliation",
                "Accounts payable",
                "Audit",
                "Tax",
                "Power BI",
                "Variance analysis",
                "Month-end close",
            ),
            ("Contoso Ltd", "Sterling Partners", "Ledgerline", "Atlas Bank", "Crown Holdings"),
            (
                "Prepare the monthly close and management accounts",
                "Build forecast and budget models",
                "Reconcile ledgers and investigate variances",
                "Support external auditors",
                "Process invoices and supplier payments",
                "Report KPIs to the leadership team",
            ),
            ("BA Accounting", "BSc Finance", "MBA", "BA Economics"),
            (50000, 80000),
            remote_share=0.15,
            head_title="Finance",
        ),
        Family(
            "marketing",
            (
                "Marketing Manager",
                "Content Marketer",
                "SEO Specialist",
                "Social Media Manager",
                "Growth Marketer",
                "Brand Manager",
            ),
            (
                "SEO",
                "Google Analytics",
                "Content strategy",
                "Copywriting",
                "HubSpot",
                "Paid social",
                "Google Ads",
                "Email marketing",
                "Brand strategy",
                "Marketing automation",
                "A/B testing",
                "Social media",
                "CRM",
                "Market research",
            ),
            ("Brightwave Media", "Spark Agency", "Loud Lantern", "Northstar Brands", "Pixel & Pine"),
            (
                "Plan and run multi-channel campaigns",
                "Grow organic traffic through SEO and content",
                "Manage the paid social budget and report on ROI",
                "Write copy for landing pages and newsletters",
                "Run market research and customer interviews",
                "Own the brand guidelines",
            ),
            ("BA Marketing", "BA Communications", "MBA"),
            (45000, 75000),
            remote_share=0.3,
            head_title="Marketing",
        ),
        Family(
            "hospitality",
            (
                "Chef de Partie",
                "Line Cook",
                "Restaurant Manager",
                "Barista",
                "Front Desk Agent",
                "Housekeeping Supervisor",
            ),
            (
                "Food safety",
                "Menu planning",
                "Customer service",
                "Cash handling",
                "Inventory management",
                "Team leadership",
                "Reservations systems",
                "Food preparation",
                "Coffee preparation",
                "Hospitality",
                "Cleaning standards",
                "Scheduling",
            ),
            ("Bean There", "The Grand Hotel", "Harbor Bistro", "Olive & Thyme", "Sunset Resorts"),
            (
                "Prepare dishes to standard during busy services",
                "Welcome guests and manage reservations",
                "Train new staff on service standards",
                "Order stock and control food costs",
                "Keep the kitchen compliant with food safety rules",
                "Resolve guest complaints",
            ),
            ("Diploma in Culinary Arts", "BA Hospitality Management", "High School Diploma"),
            (25000, 40000),
            part_time_share=0.35,
            head_title="Hospitality",
        ),
    ]
}
FAMILY_NAMES = tuple(FAMILIES)
UNIVERSITIES = (
    "University of Manchester",
    "TU Berlin",
    "University of Amsterdam",
    "University of Texas at Austin",
    "King's College London",
    "University of Warsaw",
    "Trinity College Dublin",
    "University of Toronto",
    "Sorbonne University",
    "Community College of Chicago",
    "City College",
    "Hamburg School of Business",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Funnel probabilities: (same family, other family).
P_CLICK = (0.45, 0.15)
P_APPLY = (0.45, 0.12)
P_SHORTLIST = (0.35, 0.08)
P_NOT_INTERESTED = (0.04, 0.2)
CROSS_FAMILY_SHARE = 0.22
HISTORY_DAYS = 90


@dataclass
class SampleData:
    jobs: list[dict[str, Any]] = field(default_factory=list)  # Job fields + "family"
    candidates: list[dict[str, Any]] = field(default_factory=list)  # Candidate fields
    resumes: list[dict[str, Any]] = field(
        default_factory=list
    )  # Resume fields + "candidate" (index), "family"
    interactions: list[dict[str, Any]] = field(
        default_factory=list
    )  # job, resume (indexes), kind, created_at, external_id


def _title(family: Family, base: str, seniority: str) -> str:
    if seniority == "executive":
        return f"Head of {family.head_title}"
    if seniority == "intern":
        return f"{base} Intern"
    prefix = SENIORITY_PREFIX[seniority]
    return f"{prefix} {base}".strip()


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _pick_seniority(rng: random.Random) -> str:
    return rng.choices(list(SENIORITY_WEIGHTS), weights=list(SENIORITY_WEIGHTS.values()))[0]


def _job(rng: random.Random, n: int, family: Family) -> dict[str, Any]:
    seniority = _pick_seniority(rng)
    base = rng.choice(family.titles)
    title = _title(family, base, seniority)
    company = rng.choice(family.companies)
    city = rng.choice(CITIES)
    required = rng.sample(family.skills, rng.randint(4, 6))
    others = [s for s in family.skills if s not in required]
    nice = rng.sample(others, rng.randint(1, 3))
    if rng.random() < 0.15:  # a skill from a neighbouring family
        other = FAMILIES[rng.choice([f for f in FAMILY_NAMES if f != family.name])]
        extra = rng.choice(other.skills)
        if extra not in required and extra not in nice:
            nice.append(extra)
    lo_years, _ = SENIORITY_YEARS[seniority]
    duties = rng.sample(family.duties, 3)
    remote = rng.random() < family.remote_share
    description = "\n".join(
        [
            f"{company} is hiring a {title} in {city}{' (remote-friendly)' if remote else ''}.",
            "",
            "What you will do:",
            *(f"- {d}." for d in duties),
            "",
            "Requirements:",
            f"- {lo_years}+ years of experience as {_article(base)} {base.lower()} or similar."
            if lo_years
            else "- No prior experience needed; we train you.",
            f"- Solid {', '.join(required[:-1])} and {required[-1]}.",
            "",
            "Nice to have: " + ", ".join(nice) + ".",
        ]
    )
    factor = {"intern": 0.45, "junior": 0.75, "mid": 1.0, "senior": 1.3, "lead": 1.5, "executive": 1.9}[
        seniority
    ]
    lo, hi = family.salary
    salary_min = int(round(lo * factor * rng.uniform(0.9, 1.1), -3))
    salary_max = int(round(max(hi * factor * rng.uniform(0.9, 1.1), salary_min + 5000), -3))
    if seniority == "intern":
        employment_type = Job.EmploymentType.INTERNSHIP
    elif rng.random() < family.part_time_share:
        employment_type = Job.EmploymentType.PART_TIME
    elif rng.random() < 0.08:
        employment_type = Job.EmploymentType.CONTRACT
    else:
        employment_type = Job.EmploymentType.FULL_TIME
    return {
        "external_id": f"{EXTERNAL_PREFIX}job-{family.name}-{n:05d}",
        "title": title,
        "description": description,
        "required_skills": required,
        "nice_to_have_skills": nice,
        "location": city,
        "remote": remote,
        "seniority": seniority,
        "employment_type": str(employment_type),
        "salary_min": salary_min,
        "salary_max": salary_max,
        "salary_currency": "EUR"
        if city in ("Berlin", "Munich", "Hamburg", "Amsterdam", "Paris", "Madrid", "Dublin")
        else "USD",
        "status": Job.Status.CLOSED.value if rng.random() < 0.1 else Job.Status.OPEN.value,
        "family": family.name,
    }


def _month_year(moment: datetime) -> str:
    return f"{MONTHS[moment.month - 1]} {moment.year}"


def _resume(
    rng: random.Random, n: int, family: Family, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city = rng.choice(CITIES)
    seniority = _pick_seniority(rng)
    lo_years, hi_years = SENIORITY_YEARS[seniority]
    years = rng.randint(lo_years, hi_years)
    base = rng.choice(family.titles)
    headline = _title(family, base, seniority)
    # cross-family noise: a career changer (earlier jobs elsewhere) or side skills from another family
    other = FAMILIES[rng.choice([f for f in FAMILY_NAMES if f != family.name])]
    career_changer = rng.random() < 0.12
    skills = rng.sample(family.skills, rng.randint(6, min(10, len(family.skills))))
    if rng.random() < 0.2 or career_changer:
        skills += [s for s in rng.sample(other.skills, rng.randint(1, 3)) if s not in skills]

    experience: list[dict[str, Any]] = []
    gap_days = rng.randint(30, 120) if rng.random() < 0.3 else 0  # between jobs right now
    cursor = now - timedelta(days=gap_days)
    remaining_months = max(6, years * 12)
    n_jobs = 1 if years <= 1 else rng.randint(1, min(4, 1 + years // 2))
    for i in range(n_jobs):
        months = remaining_months if i == n_jobs - 1 else rng.randint(8, max(9, remaining_months // 2))
        remaining_months = max(6, remaining_months - months)
        start = cursor - timedelta(days=30 * months)
        fam = other if (career_changer and i == n_jobs - 1 and n_jobs > 1) else family
        level = SENIORITY_ORDER[max(0, SENIORITY_ORDER.index(seniority) - i)] if fam is family else "junior"
        entry_title = _title(fam, base if fam is family else rng.choice(fam.titles), level)
        experience.append(
            {
                "title": entry_title,
                "company": rng.choice(fam.companies),
                "location": rng.choice([city, city, rng.choice(CITIES)]),
                "start": _month_year(start),
                "end": "Present" if i == 0 and gap_days == 0 else _month_year(cursor),
                "description": "\n".join(f"{d}." for d in rng.sample(fam.duties, rng.randint(2, 3))),
            }
        )
        cursor = start - timedelta(days=rng.randint(0, 90))
    degree = rng.choice(family.degrees if not career_changer else other.degrees)
    grad_year = (cursor - timedelta(days=rng.randint(0, 365))).year
    education = [{"degree": degree, "institution": rng.choice(UNIVERSITIES), "year": grad_year}]
    summary = (
        f"{headline} with {years} year{'s' if years != 1 else ''} of experience"
        f"{' after starting out in ' + other.name if career_changer and n_jobs > 1 else ''}. "
        f"Strong in {', '.join(skills[:3])}; based in {city}."
    )
    candidate = {
        "external_id": f"{EXTERNAL_PREFIX}candidate-{n:05d}",
        "full_name": f"{first} {last}",
        "email": f"{first}.{last}.{n}@example.com".lower().replace("ü", "ue"),
        "location": city,
    }
    resume = {
        "external_id": f"{EXTERNAL_PREFIX}resume-{family.name}-{n:05d}",
        "headline": headline,
        "summary": summary,
        "skills": skills,
        "experience": experience,
        "education": education,
        "candidate": n - 1,
        "family": family.name,
        "seniority": seniority,
    }
    return candidate, resume


def _interactions(rng: random.Random, data: SampleData, count: int, now: datetime) -> list[dict[str, Any]]:
    jobs_by_family: dict[str, list[int]] = {}
    for i, job in enumerate(data.jobs):
        jobs_by_family.setdefault(job["family"], []).append(i)
    all_jobs = list(range(len(data.jobs)))
    events: list[dict[str, Any]] = []
    seen_pairs: set[tuple[int, int]] = set()
    attempts = 0
    while len(events) < count and attempts < count * 20:
        attempts += 1
        r = rng.randrange(len(data.resumes))
        family = data.resumes[r]["family"]
        same_jobs = jobs_by_family.get(family) or all_jobs
        cross = rng.random() < CROSS_FAMILY_SHARE or not jobs_by_family.get(family)
        j = rng.choice(all_jobs if cross else same_jobs)
        if (j, r) in seen_pairs:
            continue
        seen_pairs.add((j, r))
        same = data.jobs[j]["family"] == family
        k = 0 if same else 1
        t = now - timedelta(days=rng.uniform(2, HISTORY_DAYS), minutes=rng.randint(0, 1440))

        chain = ["impression"]
        if rng.random() < P_NOT_INTERESTED[k]:
            chain.append("not_interested")
        elif rng.random() < P_CLICK[k]:
            chain.append("click")
            if rng.random() < P_APPLY[k]:
                chain.append("apply")
                if rng.random() < 0.05:
                    chain.append("withdraw")
                elif rng.random() < P_SHORTLIST[k]:
                    chain.append("shortlist")
                    if rng.random() < 0.6:
                        chain.append("interview")
                        if rng.random() < 0.45:
                            chain.append("offer")
                            chain.append("hire" if rng.random() < 0.75 else "withdraw")
                        elif rng.random() < 0.7:
                            chain.append("reject")
                elif rng.random() < 0.55:
                    chain.append("reject")
        for kind in chain:
            if len(events) >= count:
                break
            events.append(
                {
                    "job": j,
                    "resume": r,
                    "kind": kind,
                    "created_at": t,
                    "external_id": f"{EXTERNAL_PREFIX}event-{len(events) + 1:06d}",
                }
            )
            t = min(now, t + timedelta(hours=rng.uniform(0.2, 72)))
    events.sort(key=lambda e: (e["created_at"], e["external_id"]))
    return events


def generate(
    *,
    jobs: int = 200,
    resumes: int = 600,
    interactions: int = 3000,
    seed: int = 7,
    now: datetime | None = None,
) -> SampleData:
    """Sample data as plain dicts; the same seed and `now` give the same data."""
    rng = random.Random(seed)
    now = now or timezone.now()
    data = SampleData()
    for n in range(1, jobs + 1):
        data.jobs.append(_job(rng, n, FAMILIES[rng.choice(FAMILY_NAMES)]))
    for n in range(1, resumes + 1):
        candidate, resume = _resume(rng, n, FAMILIES[rng.choice(FAMILY_NAMES)], now)
        data.candidates.append(candidate)
        data.resumes.append(resume)
    if data.jobs and data.resumes:
        data.interactions = _interactions(rng, data, interactions, now)
    return data


def has_sample_data(organization: Organization) -> bool:
    return Job.objects.filter(organization=organization, external_id__startswith=EXTERNAL_PREFIX).exists()


@transaction.atomic
def load_sample_data(
    organization: Organization,
    *,
    jobs: int = 200,
    resumes: int = 600,
    interactions: int = 3000,
    seed: int = 7,
    now: datetime | None = None,
    batch_size: int = 500,
) -> dict[str, int]:
    """Write generated data into `organization` (its jobs and talent pool). A no-op returning zeros when
    the organization already holds sample data. Returns the number of rows created per model."""
    if has_sample_data(organization):
        return {"jobs": 0, "candidates": 0, "resumes": 0, "interactions": 0}
    data = generate(jobs=jobs, resumes=resumes, interactions=interactions, seed=seed, now=now)
    created_at = now or timezone.now()

    job_rows = []
    for spec in data.jobs:
        fields = {k: v for k, v in spec.items() if k != "family"}
        job = Job(
            organization=organization, created_at=created_at - timedelta(days=HISTORY_DAYS + 5), **fields
        )
        job.content_hash = job.compute_content_hash()
        job_rows.append(job)
    job_rows = Job.objects.bulk_create(job_rows, batch_size=batch_size)

    candidate_rows = Candidate.objects.bulk_create(
        [Candidate(organization=organization, **spec) for spec in data.candidates], batch_size=batch_size
    )
    resume_rows = []
    for spec in data.resumes:
        fields = {k: v for k, v in spec.items() if k not in ("candidate", "family", "seniority")}
        resume = Resume(
            candidate=candidate_rows[spec["candidate"]],
            created_at=created_at - timedelta(days=HISTORY_DAYS + 5),
            **fields,
        )
        resume.full_text = resume_compose_text(resume)
        resume.content_hash = resume.compute_content_hash()
        resume_rows.append(resume)
    resume_rows = Resume.objects.bulk_create(resume_rows, batch_size=batch_size)

    Interaction.objects.bulk_create(
        [
            Interaction(
                job=job_rows[e["job"]],
                resume=resume_rows[e["resume"]],
                kind=e["kind"],
                created_at=e["created_at"],
                external_id=e["external_id"],
            )
            for e in data.interactions
        ],
        batch_size=batch_size,
    )
    return {
        "jobs": len(job_rows),
        "candidates": len(candidate_rows),
        "resumes": len(resume_rows),
        "interactions": len(data.interactions),
    }


def sample_resume_text(*, seed: int = 11, family: str = "software", now: datetime | None = None) -> str:
    """One generated resume as a plain-text document with headings (for upload demos and tests)."""
    rng = random.Random(seed)
    candidate, resume = _resume(rng, 1, FAMILIES[family], now or timezone.now())
    lines = [
        candidate["full_name"],
        resume["headline"],
        f"{candidate['email']} | {candidate['location']}",
        "",
        "SUMMARY",
        resume["summary"],
        "",
        "SKILLS",
        ", ".join(resume["skills"]),
        "",
        "EXPERIENCE",
    ]
    for entry in resume["experience"]:
        lines += [
            f"{entry['title']} | {entry['company']} | {entry['location']}",
            f"{entry['start']} – {entry['end']}",
            *(f"• {d}" for d in entry["description"].splitlines()),
            "",
        ]
    lines += ["EDUCATION"]
    lines += [f"{e['degree']}, {e['institution']}, {e['year']}" for e in resume["education"]]
    return "\n".join(lines) + "\n"
