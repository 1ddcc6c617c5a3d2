"""One settings module for every environment, read from environment variables.

The defaults are safe for a laptop: an embedded SQLite database, Redis on loopback,
artifacts under ./var. `make test` points DATABASE_URL at PostgreSQL.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


SECRET_KEY = os.environ.get("SECRET_KEY", "tandem-local-development-key-change-me")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

# HTTPS behind a TLS-terminating proxy: on by default when DEBUG is off (`check --deploy` clean); a deployment
# without TLS sets SECURE_SSL=0. The proxy must set X-Forwarded-Proto.
SECURE_SSL = env_bool("SECURE_SSL", not DEBUG)
SECURE_SSL_REDIRECT = SECURE_SSL
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SECURE_SSL else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_SSL)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_SSL)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None
# The probes answer over plain HTTP too (a load balancer checks the process directly).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "recruiting",
    "matching",
    "workers",
    "dashboard",
]

MIDDLEWARE = [
    "config.dependencies.DependencyGuardMiddleware",  # JSON 503 + Retry-After when PostgreSQL/Redis is down
    "config.query_deadline.QueryDeadlineMiddleware",  # a query of a request past its bound: connection cut, 503
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context.navigation",
            ]
        },
    }
]

VAR_DIR = Path(os.environ.get("TANDEM_VAR_DIR", BASE_DIR / "var"))

if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite database lives here
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast: a stopped or frozen server costs a connect timeout (libpq's floor is 2 s), a runaway query
    # the statement timeout; then the request answers 503 (config.dependencies), never hangs to a worker kill.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 2),
            "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', 60000)}",
        }
    )
DATABASE_DOWN_RETRY_SECONDS = float(os.environ.get("DATABASE_DOWN_RETRY_SECONDS", "2"))
# config.query_deadline (web requests; workers: statement timeout): a query past DATABASE_PROBE "after" s probes the server
# ("timeout" s, then every "every" s), no answer: cut, 503; past the hard bound: cut (0: off); "suspect": see dependencies.
DATABASE_REQUEST_QUERY_SECONDS = float(os.environ.get("DATABASE_REQUEST_QUERY_SECONDS", "5"))
DATABASE_PROBE = {k: float(os.environ.get(f"DATABASE_PROBE_{k.upper()}", d)) for k, d in (("after", 0.3), ("timeout", 0.4), ("every", 0.5), ("suspect", 30))}  # fmt: skip
DEPENDENCY_RETRY_AFTER_SECONDS = env_int("DEPENDENCY_RETRY_AFTER_SECONDS", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Static files (the dashboard's CSS and the vendored htmx) are served by whitenoise; it also serves them
# straight from the apps' static folders, so `collectstatic` is optional (run it in production).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start when it is missing
# The dashboard (server-rendered pages): sign-in at /login/, then jobs (recruiters) or recommendations.
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Uploads: resumes above this size get a 413 before they are parsed.
RESUME_UPLOAD_MAX_BYTES = env_int("RESUME_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
# Uploaded resumes are parsed in a child process with these limits (recruiting.parsing.sandbox); over any of
# them the upload gets a 413 naming the limit. A DOCX's inflated parts, paragraphs; a PDF's pages.
UPLOAD_PARSE_ISOLATED = env_bool("UPLOAD_PARSE_ISOLATED", True)
UPLOAD_PARSE_MEMORY_MB = env_int("UPLOAD_PARSE_MEMORY_MB", 768)
UPLOAD_PARSE_CPU_SECONDS = env_int("UPLOAD_PARSE_CPU_SECONDS", 10)
UPLOAD_PARSE_WALL_SECONDS = float(os.environ.get("UPLOAD_PARSE_WALL_SECONDS", "20"))
UPLOAD_MAX_UNCOMPRESSED_BYTES = env_int("UPLOAD_MAX_UNCOMPRESSED_BYTES", 20 * 1024 * 1024)
UPLOAD_MAX_PARAGRAPHS = env_int("UPLOAD_MAX_PARAGRAPHS", 20_000)
UPLOAD_MAX_PAGES = env_int("UPLOAD_MAX_PAGES", 50)
# Bulk imports (API) above this size are refused.
IMPORT_UPLOAD_MAX_BYTES = env_int("IMPORT_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# JSON bodies (config.parsers.BoundedJSONParser): larger is a 413; deeper nesting a 400. Form fields alike.
JSON_BODY_MAX_BYTES = env_int("JSON_BODY_MAX_BYTES", 2 * 1024 * 1024)
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 20)
DATA_UPLOAD_MAX_MEMORY_SIZE = JSON_BODY_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Model artifacts go through Django's storage API, so several worker machines can share
# an object store (django-storages) instead of a local disk.
MODEL_STORAGE_ROOT = Path(os.environ.get("MODEL_STORAGE_ROOT", VAR_DIR / "models"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "models": {
        "BACKEND": os.environ.get("MODEL_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": str(MODEL_STORAGE_ROOT)}
        if os.environ.get("MODEL_STORAGE") in (None, "", "django.core.files.storage.FileSystemStorage")
        else {},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    # client address for throttling: REMOTE_ADDR, or the one X-Forwarded-For entry the proxy adds
    "NUM_PROXIES": env_int("NUM_PROXIES", 0) or None,
    # \u-escaped output: an error message quoting a lone surrogate from the input still encodes.
    "UNICODE_JSON": False,
}

# Rate limits (config.throttling, counted in Redis, failing open): "<count>/<second|minute|hour>".
THROTTLE_RATES = {
    "signin": os.environ.get("THROTTLE_SIGNIN_RATE", "20/minute"),  # per client address
    "scoring": os.environ.get("THROTTLE_SCORING_RATE", "600/minute"),  # per user: ranked matches, scores
}
# After this many wrong passwords for one username within the window, it is locked until the window ends.
SIGNIN_LOCKOUT_FAILURES = env_int("SIGNIN_LOCKOUT_FAILURES", 10)
SIGNIN_LOCKOUT_SECONDS = env_int("SIGNIN_LOCKOUT_SECONDS", 900)
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7)

SPECTACULAR_SETTINGS = {
    "TITLE": "Tandem API",
    "DESCRIPTION": "Job–resume matching: jobs, resumes, interactions, model versions and ranked matches.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_generic_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "recruiting.models.Job.Status",
        "ModelVersionStatusEnum": "matching.models.ModelVersion.Status",
        "TrainingRunStatusEnum": "matching.models.TrainingRun.Status",
    },
}

# Redis and Celery.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest task (a nightly retrain), so Redis never redelivers a task still running.
# A task whose worker died (SIGKILL, lost machine) is handed out again once it has been unacknowledged for
# visibility_timeout; a worker looks for such tasks when it starts and every interval*throttle seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    # Consumers: longer than kombu's 1 s BRPOP poll. Publishers use BROKER_PUBLISH_TIMEOUTS (config.celery).
    "socket_timeout": float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "2")),
    "socket_connect_timeout": float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "1")),
}
# A frozen or refusing Redis costs a publish (web request, on-commit hook, task) under a second, then the breaker.
BROKER_PUBLISH_TIMEOUTS = {k: float(os.environ.get(f"BROKER_PUBLISH_{k.upper()}", d)) for k, d in (("socket_timeout", 0.5), ("socket_connect_timeout", 0.25))}  # fmt: skip
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "1"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}  # no retry: a stale connection reconnects in redis-py
# After a failed publish, a process leaves the broker alone this long (config.celery.publish).
BROKER_DOWN_RETRY_SECONDS = float(os.environ.get("BROKER_DOWN_RETRY_SECONDS", "5"))
# The patient Redis client (training lock, debounce flags): bounded too.
REDIS_LOCK_SOCKET_TIMEOUT = float(os.environ.get("REDIS_LOCK_SOCKET_TIMEOUT", "3"))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "workers.tasks.embedding.*": {"queue": "embedding"},
    "workers.tasks.training.*": {"queue": "training"},
    "workers.tasks.scoring.*": {"queue": "scoring"},
    "workers.tasks.backfill.*": {"queue": "backfill"},
    "workers.tasks.imports.*": {"queue": "imports"},
}

# Beat: the nightly retrain chain (train -> evaluate -> promote) and a sweep that picks up embedding work
# whose queued task was lost. NIGHTLY_RETRAIN_CRON is a 5-field cron line: "minute hour day month weekday".
NIGHTLY_RETRAIN_CRON = os.environ.get("NIGHTLY_RETRAIN_CRON", "0 3 * * *")
EMBEDDING_SWEEP_SECONDS = env_int("EMBEDDING_SWEEP_SECONDS", 600)
# After an erasure, the indexes of its kind are rewritten without it this many seconds later (one rewrite for
# a burst of erasures) and the section-embedding cache file is dropped (matching.erasure).
COMPACTION_DELAY_SECONDS = env_int("COMPACTION_DELAY_SECONDS", 10)
# Re-sends the embedding work of documents flagged while the broker was unreachable (the flags are the outbox).
EMBEDDING_RESEND_SECONDS = env_int("EMBEDDING_RESEND_SECONDS", 30)
# Bulk imports (recruiting.import_jobs): a queued job whose message was not sent is re-sent after
# IMPORT_RESEND_SECONDS; a running one without a heartbeat (one per committed batch) for IMPORT_STALE_SECONDS is
# taken over. One run's time limit (soft; the hard kill 30 s later).
IMPORT_RESEND_SECONDS = env_int("IMPORT_RESEND_SECONDS", 30)
IMPORT_STALE_SECONDS = env_int("IMPORT_STALE_SECONDS", 300)
IMPORT_TASK_TIME_LIMIT_SECONDS = env_int("IMPORT_TASK_TIME_LIMIT_SECONDS", 3600)
# Training runs committed while the broker or Redis was down are sent by the beat after this long.
TRAINING_DISPATCH_SECONDS = env_int("TRAINING_DISPATCH_SECONDS", 30)


def _crontab(line: str):
    from celery.schedules import crontab

    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"NIGHTLY_RETRAIN_CRON needs 5 fields, got {line!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


CELERY_BEAT_SCHEDULE = {
    "nightly-retrain": {
        "task": "workers.tasks.training.nightly_retrain",
        "schedule": _crontab(NIGHTLY_RETRAIN_CRON),
    },
    "embedding-resend": {
        "task": "workers.tasks.embedding.embed_dirty_documents",
        "schedule": float(EMBEDDING_RESEND_SECONDS),
    },
    "imports-resend": {
        "task": "workers.tasks.imports.resend_stale_imports",
        "schedule": float(IMPORT_RESEND_SECONDS),
        "options": {"queue": "default"},
    },
    "training-dispatch": {
        "task": "workers.tasks.training.dispatch_training",
        "schedule": float(TRAINING_DISPATCH_SECONDS),
        "options": {"queue": "default"},  # never behind a long training on its own queue
    },
    "embedding-sweep": {
        "task": "workers.tasks.embedding.embed_dirty_documents",
        "schedule": float(EMBEDDING_SWEEP_SECONDS),
        "kwargs": {"sweep": True},
    },
}

# Training and the model registry (matching/registry.py).
# One training at a time: a Redis lock whose value is the run id; extended while the run makes progress.
TRAINING_LOCK_KEY = os.environ.get("TRAINING_LOCK_KEY", "tandem:training:lock")
TRAINING_LOCK_TTL = env_int("TRAINING_LOCK_TTL", 2 * 3600)
# The most recent slice of the interaction log (by time) is held out for evaluation and promotion.
TRAINING_HOLDOUT_FRACTION = float(os.environ.get("TRAINING_HOLDOUT_FRACTION", "0.15"))
# After a candidate wins the promotion check on the held-out slice, train it again on its whole window (held-out
# slice included) before it is indexed and served: the freshest interactions are not left out of serving.
TRAINING_FINAL_REFIT = env_bool("TRAINING_FINAL_REFIT", True)
# Promotion compares this metric, on the candidate's held-out slice, against the active model (or zero-shot
# cosine when none is active) and needs to beat it by more than PROMOTION_MARGIN.
PROMOTION_METRIC = os.environ.get("PROMOTION_METRIC", "ndcg_at_10")
PROMOTION_MARGIN = float(os.environ.get("PROMOTION_MARGIN", "0.0"))
# "baseline": the first model must beat zero-shot cosine; "always": the first model is promoted unconditionally.
FIRST_MODEL_POLICY = os.environ.get("FIRST_MODEL_POLICY", "baseline")
# Held-out evaluation: per job, the resumes it interacted with in the slice plus this many random resumes.
EVAL_RANDOM_NEGATIVES = env_int("EVAL_RANDOM_NEGATIVES", 100)
EVAL_MAX_QUERIES = env_int("EVAL_MAX_QUERIES", 2000)
TRAINING_PROGRESS_INTERVAL = float(os.environ.get("TRAINING_PROGRESS_INTERVAL", "2.0"))  # s between writes
# ml.network.TrainConfig overrides; the training worker's environment decides, not the API caller.
TRAINING_CONFIG = {
    key: cast(os.environ[name])
    for key, name, cast in (
        ("epochs", "TANDEM_TRAIN_EPOCHS", int),
        ("refit_epochs", "TANDEM_TRAIN_REFIT_EPOCHS", int),  # the final refit's (warm); 0: from scratch
        ("batch_size", "TANDEM_TRAIN_BATCH_SIZE", int),
        ("hidden", "TANDEM_TRAIN_HIDDEN", int),
        ("max_minutes", "TANDEM_TRAIN_MAX_MINUTES", float),
        ("seed", "TANDEM_TRAIN_SEED", int),
        ("forget_rate", "TANDEM_TRAIN_FORGET_RATE", lambda v: v if v == "auto" else float(v)),
        ("calibration", "TANDEM_TRAIN_CALIBRATION", str),  # none | center_ce | l2 | infonce (ml/robust)
    )
    if os.environ.get(name)
}
# The d-simplex head (ml/compat, TrainConfig.stationary_head) and distillation from the active version
# (COMPAT_DISTILL, below) are ON for platform training: decided on bench/compatibility.py's VALIDATION split
# (leave-last-out inside the training views, 825 cases, 10 epochs as the platform trains, seeds 0-2;
# bench/results/compatibility_validation.json): with them a new version's query over the old index is compatible
# (AC = 1, new/old above old/old on NDCG@10 and Recall@50) on every seed, 68-88% of the re-index NDCG@10 gain
# recovered; without them it is not on any seed (new/old NDCG@10 below old/old). Their price there: new/new
# first-stage NDCG@10 7.7% lower on average (+18.4%, +0.0%, +4.7% per seed; the limit is 1%). Off:
# TANDEM_TRAIN_STATIONARY_HEAD=0, COMPAT_DISTILL=0. tests/bench/test_compat_defaults.py pins them to that file.
TRAINING_CONFIG.setdefault("stationary_head", env_bool("TANDEM_TRAIN_STATIONARY_HEAD", True))
TRAINING_TASK_MAX_RETRIES = env_int("TRAINING_TASK_MAX_RETRIES", 3)
# Section-embedding cache for training (local file per machine; speeds up nightly retrains).
TRAINING_EMBEDDING_CACHE = os.environ.get("TRAINING_EMBEDDING_CACHE", str(VAR_DIR / "cache" / "sections.npz"))

# Embeddings: where the encoder lives and how it is identified.
# "minilm" (float, sentence-transformers), "minilm-onnx-int8" (ml.onnx_encoder: MiniLM exported to ONNX and
# quantised to INT8, run by onnxruntime; its vectors carry their own version, so switching re-embeds) or
# "hashing" (ml.embedding.HashingEncoder: fast, for tests and demos only).
EMBEDDING_ENCODER = os.environ.get("TANDEM_ENCODER", "minilm")
# Where the ONNX export is built once and reused by every process on this machine.
ENCODER_CACHE_DIR = os.environ.get("ENCODER_CACHE_DIR", str(VAR_DIR / "encoders"))
# Dirty-flag batches: documents per embedding task; the task re-queues itself until none is left.
# Compatible model updates (matching/compat): a promoted version serves at once against the previous version's space
# through a query projection (ml.compat.drift) while the "backfill" queue writes its own; COMPAT_UPDATES=0: the whole
# space is written before activation. COMPAT_DISTILL (see TRAINING_CONFIG above): distil towards the active version.
COMPAT_UPDATES = env_bool("COMPAT_UPDATES", True)
# linear, 2000 per kind, ridge 1e-4: chosen of 11 on the VALIDATION split (bench/results/compatibility_validation.json),
# mean re-index gain recovered 0.449 (500/1e-3: 0.392, both kinds 0.371, Procrustes 0.308, QDC mean shift 0.125)
COMPAT_DRIFT_METHOD = os.environ.get("COMPAT_DRIFT_METHOD", "linear")
COMPAT_FIT_SAMPLE = env_int("COMPAT_FIT_SAMPLE", 2000)
COMPAT_RIDGE = float(os.environ.get("COMPAT_RIDGE", "1e-4"))
COMPAT_BACKFILL_BATCH = env_int("COMPAT_BACKFILL_BATCH", 256)
COMPAT_DISTILL = env_bool("COMPAT_DISTILL", True)
# Encoder upgrade (matching/training/encoder_upgrade.py): a training run may first fine-tune the deployment's MiniLM
# on the interactions (contrastive) and train on it; the fine-tuned encoder is stored with the version's artifact.
# Staff ask for it per run (POST /api/training-runs/ {"finetune_encoder": true}); TRAINING_ENCODER_FINETUNE is the
# default for runs that do not say (the nightly retrain). The budget is steps, not minutes:
# ceil(max_pairs / batch_size) x epochs (20 steps by default, ~3 CPU-minutes; 54 on the real data took 7.4 CPU-minutes).
TRAINING_ENCODER_FINETUNE = env_bool("TRAINING_ENCODER_FINETUNE", False)
ENCODER_FINETUNE = {
    "max_pairs": env_int("ENCODER_FINETUNE_MAX_PAIRS", 640),
    "epochs": env_int("ENCODER_FINETUNE_EPOCHS", 1),
    "batch_size": env_int("ENCODER_FINETUNE_BATCH", 32),
    "max_seq_length": env_int("ENCODER_FINETUNE_MAX_SEQ", 64),
}

EMBEDDING_DIRTY_BATCH = env_int("EMBEDDING_DIRTY_BATCH", 256)
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# OpenMP threads that wait for work sleep instead of spinning: on a busy machine (a web process beside a worker)
# spinning threads stalled every small torch op of the rerank, 22 ms -> 300 ms for 300 jobs. Same numbers.
# Read when torch loads its OpenMP runtime, which happens after settings in every process (web, worker, bench).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Matching service (matching/retrieval.py, index.py, cache.py): stage-1 retrieval, rerank, the index, the cache.
# Nearest neighbours fetched before filtering. Chosen on a label-free measure, the share of the trained
# model's own top 50 over the whole catalogue that reaches its reranker (bench/served_quality.py, real data):
# 0.89 with 300 (+100 history neighbours), 0.96 with 600 (+200), at +15 ms median per request.
MATCH_RETRIEVE_K = env_int("MATCH_RETRIEVE_K", 600)
# How many accepted hits the active model reranks: every one fetched by default (a first-stage hit the
# reranker never sees cannot be served, however high the model would score it).
MATCH_RERANK_K = env_int("MATCH_RERANK_K", MATCH_RETRIEVE_K)
# A second first-stage source: this many nearest neighbours of what the query document interacted with.
MATCH_HISTORY_K = env_int("MATCH_HISTORY_K", 200)
# Documents per batch when a version's own retrieval space is written (matching.model_space).
MODEL_SPACE_BATCH = env_int("MODEL_SPACE_BATCH", 512)
MATCH_MAX_FETCH = env_int("MATCH_MAX_FETCH", 5000)  # widest stage-1 search when filters are selective
MATCH_POOL_SCAN_MAX = env_int("MATCH_POOL_SCAN_MAX", 50_000)  # below: a selective pool is scored directly
ANN_MIN_SIZE = env_int("ANN_MIN_SIZE", 20_000)  # exact NumPy search below, FAISS at and above
ANN_FAISS_KIND = os.environ.get("ANN_FAISS_KIND", "ivf_pq_sq8")  # ivf_pq_sq8 | ivf_sq8 | hnsw | flat
ANN_REFINE_CANDIDATES = env_int("ANN_REFINE_CANDIDATES", 160)  # ivf_pq_sq8: re-scored from 8-bit codes
ANN_IVF_NLIST = env_int("ANN_IVF_NLIST", 0)  # 0: 2 * sqrt(n)
ANN_IVF_NPROBE = env_int("ANN_IVF_NPROBE", 8)  # more for a large k: engines.nprobe_for
ANN_IVF_QUANTIZER = os.environ.get("ANN_IVF_QUANTIZER", "flat")  # flat | hnsw: how a query finds its lists
ANN_HNSW_M = env_int("ANN_HNSW_M", 32)
ANN_HNSW_EF_CONSTRUCTION = env_int("ANN_HNSW_EF_CONSTRUCTION", 80)
ANN_HNSW_EF_SEARCH = env_int("ANN_HNSW_EF_SEARCH", 96)
ANN_SEARCH_THREADS = env_int("ANN_SEARCH_THREADS", 1)
ANN_BUILD_THREADS = env_int("ANN_BUILD_THREADS", 0)  # 0: every core
INDEX_MAX_DELTAS = env_int("INDEX_MAX_DELTAS", 500)  # incremental changes kept before a full rebuild
MATCH_CACHE_ENABLED = env_bool("MATCH_CACHE_ENABLED", True)
MATCH_CACHE_URL = os.environ.get("MATCH_CACHE_URL") or None  # defaults to REDIS_URL
MATCH_CACHE_TTL = env_int("MATCH_CACHE_TTL", 300)
MATCH_CACHE_CONNECT_TIMEOUT = float(os.environ.get("MATCH_CACHE_CONNECT_TIMEOUT", "0.05"))
MATCH_CACHE_SOCKET_TIMEOUT = float(os.environ.get("MATCH_CACHE_SOCKET_TIMEOUT", "0.1"))
MATCH_CACHE_RETRY_SECONDS = float(os.environ.get("MATCH_CACHE_RETRY_SECONDS", "5.0"))
