"""One settings object, read once from a profile file and SHORTLIST_* environment variables.

Precedence, lowest first: defaults in this class, config/<profile>.toml, environment.
The profile is chosen by SHORTLIST_PROFILE (default "default").
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def default_data_dir() -> Path:
    """The user's data folder, as XDG describes it."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shortlist"


def user_cache_dir() -> Path:
    """Where files built from shipped models are kept (rebuilt when missing), as XDG says."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shortlist"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    # Store: the embedded engine under data_dir unless qdrant_url names a server.
    qdrant_url: str | None = None
    qdrant_api_key: str | None = field(default=None, repr=False)
    # Or PostgreSQL + pgvector (a libpq DSN; `make postgres-up` writes a local one's).
    pg_dsn: str | None = field(default=None, repr=False)
    collection: str = "videos"
    # A store that does not answer in this time is reported down (HTTP 503), not waited on.
    store_timeout_s: float = 3.0
    # Publishing renditions to a bucket: the payload then names s3://bucket/renditions/ID.mp4
    # and results carry a public URL (publish_base_url) or one presigned on each answer.
    publish_bucket: str | None = None
    publish_base_url: str | None = None
    presign_ttl_s: int = 3600
    # When set, write endpoints of the HTTP API require this key (header X-API-Key); without
    # it `shortlist serve` makes a token for this user's processes (see shortlist/api/auth.py).
    api_key: str | None = field(default=None, repr=False)
    # Host names the server answers to besides the address it listens on (DNS rebinding:
    # a page elsewhere cannot reach a loopback server under a name of its own).
    allowed_hosts: tuple[str, ...] = ()
    # Longest video ingest takes: a short-video catalogue refuses longer files, by name.
    max_duration_s: float = 1200.0
    # Speech: "faster-whisper" (weights shipped in a package; see shortlist/models/asr.py).
    asr_backend: str = "faster-whisper"
    asr_model: str = "tiny.en"
    asr_compute_type: str = "int8"  # on CUDA; the CPU always runs int8
    asr_beam_size: int = 1
    # Describer: "local" (offline models) or "gemini" (Gemini on Vertex AI watches the video).
    describer: str = "local"
    gemini_model: str = "gemini-3.6-flash"
    # Renditions mirrored to Cloud Storage (gs://bucket/prefix, holding ID.mp4): Gemini reads
    # them there; otherwise the 1 fps rendition goes inline, up to gemini_inline_max_mb.
    gemini_video_uri_prefix: str | None = None
    gemini_inline_max_mb: float = 14.0
    # Text embedder: "local" (MiniLM, 384-d) or "vertex" (a Vertex AI embedding model, at
    # vertex_embedding_dim). Each makes a catalogue of its own: the sizes and the model differ.
    text_embedder: str = "local"
    vertex_embedding_model: str = "gemini-embedding-001"
    vertex_embedding_dim: int = 768
    # Video embedder: "none", or "marengo" (Twelve Labs embeds the video itself and the text
    # queries, as a space of its own fused with the local rankings). TWELVELABS_API_KEY works.
    video_embedder: str = "none"
    marengo_model: str = "marengo3.0"
    twelvelabs_api_key: str | None = field(default=None, repr=False)
    twelvelabs_base_url: str | None = None  # a private endpoint, or a stand-in in tests
    marengo_wait_s: float = 600.0  # for an embedding task to be ready, then the video fails
    marengo_poll_s: float = 5.0
    # Vertex AI: a project and location with Application Default Credentials, or an API key
    # (express mode); GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION and GOOGLE_API_KEY work too.
    google_cloud_project: str | None = None
    google_cloud_location: str = "global"
    google_api_key: str | None = field(default=None, repr=False)
    vertex_base_url: str | None = None  # a private endpoint, or a stand-in in tests
    # Every cloud call: a time limit, and retries with backoff on 429 and 5xx.
    cloud_timeout_s: float = 120.0
    cloud_attempts: int = 4
    cloud_retry_delay_s: float = 1.0
    # Hardware: "cpu" or "cuda"; gpu_count devices are handed out to GPU-tagged tasks.
    device: str = "cpu"
    gpu_count: int = 0
    # How many videos the flow works on at once, and threads each model may use.
    max_parallel_videos: int = 3
    model_threads: int = 1
    # Threads a query's text embedding may use: a user waits on one query alone, so it
    # takes the cores (0: this machine's, at most 4); measured in README, "Quality and speed".
    query_threads: int = 0
    # Frame budget: taggers see at most this many of the 1 fps frames; OCR reads fewer
    # (this many for each started minute: the captions of a long video are its moments).
    max_tag_frames: int = 8
    ocr_frames: int = 2
    # Transcode: rendition edge in pixels, frames per second, x264 preset.
    rendition_size: int = 1024
    rendition_fps: int = 1
    max_model_frames: int = 600  # frames written for the image models, spread over the video
    x264_preset: str = "ultrafast"  # 1 frame a second: quality costs little, speed matters
    # Folders and s3://bucket/prefix locations the nightly reindex watches: a video whose
    # source was under one of them and is gone there is dropped from the catalogue.
    tracked_sources: tuple[str, ...] = ()
    # Retry policy for transient faults (downloads, store writes).
    retries: int = 2
    retry_delay_s: float = 2.0

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def downloads_dir(self) -> Path:
        return self.data_dir / "downloads"

    @property
    def results_dir(self) -> Path:
        """Where Prefect persists task results, so caching works across runs."""
        return self.data_dir / "prefect-results"

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.db"

    @property
    def run_log_path(self) -> Path:
        return self.data_dir / "runs.csv"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, profile: str | None = None) -> Settings:
        """Build settings from the profile file and the environment; unknown keys are errors."""
        env = os.environ if env is None else env
        profile = profile or env.get("SHORTLIST_PROFILE", "default")
        values: dict[str, Any] = {}
        profile_path = CONFIG_DIR / f"{profile}.toml"
        if profile_path.exists():
            values.update(tomllib.loads(profile_path.read_text()).get("shortlist", {}))
        elif profile != "default":
            raise ValueError(f"unknown settings profile {profile!r}: no file {profile_path}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name in fields:
            key = f"SHORTLIST_{name.upper()}"
            if key in env:
                values[name] = env[key]
        # The conventional Qdrant variables work too.
        if "QDRANT_URL" in env and "SHORTLIST_QDRANT_URL" not in env:
            values["qdrant_url"] = env["QDRANT_URL"]
        if "QDRANT_API_KEY" in env and "SHORTLIST_QDRANT_API_KEY" not in env:
            values["qdrant_api_key"] = env["QDRANT_API_KEY"]
        for name, variable in (("google_cloud_project", "GOOGLE_CLOUD_PROJECT"),
                               ("google_cloud_location", "GOOGLE_CLOUD_LOCATION"),
                               ("google_api_key", "GOOGLE_API_KEY"),
                               ("twelvelabs_api_key", "TWELVELABS_API_KEY")):
            if variable in env and f"SHORTLIST_{name.upper()}" not in env:
                values[name] = env[variable]
        unknown = set(values) - set(fields)
        if unknown:
            raise ValueError(f"unknown settings in profile {profile!r}: {sorted(unknown)}")
        return cls(**{k: _coerce(fields[k].type, v) for k, v in values.items()})


def expand_user(text: str) -> Path:
    """`~` and `~name` as a shell expands them. pathlib raises RuntimeError for a name that is
    no user here (or `~` without a home), which would reach the user as a traceback."""
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:
        head = text.split("/", 1)[0]
        raise ValueError(f"{head!r} names no home folder on this machine") from exc


def _coerce(type_name: Any, value: Any) -> Any:
    if value == "" and "None" in str(type_name):
        return None
    text = str(type_name)
    if text.startswith("Path"):
        # Absolute: the data folder's paths are written into renditions' manifests and
        # payloads, and a relative one would name other files from another working folder.
        return expand_user(str(value)).absolute()
    if text == "int":
        return int(value)
    if text == "float":
        return float(value)
    if text.startswith("tuple"):  # a TOML list, or a comma-separated environment value
        items = value.split(",") if isinstance(value, str) else value
        return tuple(str(i).strip() for i in items if str(i).strip())
    return value


def query_threads(settings: Settings) -> int:
    """settings.query_threads, 0 read as this machine's cores, at most 4 (measured on 2
    cores only; a busy server with many would lose them to each query)."""
    return settings.query_threads if settings.query_threads > 0 else min(4, os.cpu_count() or 1)
