"""The composition root for one process: builds stores and models from settings, on first use.

Tasks receive settings (small, picklable) and ask this module for the heavy parts, so
a model is loaded once per process and per device, never at import time.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from shortlist.api.client import serving_client
from shortlist.settings import Settings, query_threads
from shortlist.store.records import dimensions
from shortlist.versions import component_version

if TYPE_CHECKING:  # each model's module is imported when the model is first asked for:
    # a `shortlist recommend` needs none of them (about 40 ms of a cold start)
    from shortlist.describe import Describer
    from shortlist.gpu import GpuSlots
    from shortlist.models.asr import Transcriber
    from shortlist.models.audio import AudioTagger
    from shortlist.models.ocr import TextReader
    from shortlist.models.safety import SafetyScorer
    from shortlist.models.text_embedding import TextEmbedder
    from shortlist.models.video_embedding import VideoEmbedder
    from shortlist.models.vision import FrameTagger
    from shortlist.store.interface import VideoStore


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # builders may ask for other components
        self._made: dict[tuple[str, str], Any] = {}

    def _once(self, key: str, device: str, build) -> Any:
        with self._lock:
            if (key, device) not in self._made:
                self._made[(key, device)] = build()
            return self._made[(key, device)]

    def store(self, hold: bool = False) -> VideoStore:
        """This process's store, chosen here once from settings: a Qdrant server when
        QDRANT_URL is set, PostgreSQL + pgvector when SHORTLIST_PG_DSN is; else the
        embedded engine (shared by every Components of this process naming the same folder,
        as it admits one process), or, while another process's `shortlist serve` owns it,
        the store through that server.
        `hold`: keep the embedded shard open for the life of the process (`shortlist
        serve`); others open it per operation so that several commands can take turns."""
        s = self.settings
        sizes = self.store_sizes()
        shared = s.qdrant_url or s.pg_dsn  # a server every process can use at once
        key = (None if shared else s.qdrant_path, s.qdrant_url, s.pg_dsn, s.collection)
        with _built_lock:
            held = getattr(_stores.get(key), "hold", False)
        if not hold and not held and (client := serving_client(s)) is not None:
            from shortlist.api.served_store import ServedStore

            return ServedStore(client, sizes)  # asked each time: a server may start or stop
        with _built_lock:
            if key not in _stores:
                if s.qdrant_url and s.pg_dsn:
                    raise ValueError("set QDRANT_URL or SHORTLIST_PG_DSN, not both: they name "
                                     "two different stores")
                if s.pg_dsn:
                    from shortlist.store.pg_store import PgVectorStore

                    _stores[key] = PgVectorStore(s.pg_dsn, collection=s.collection,
                                                 timeout_s=s.store_timeout_s, sizes=sizes)
                elif s.qdrant_url:
                    from shortlist.store.qdrant_store import QdrantServerStore

                    _stores[key] = QdrantServerStore(
                        url=s.qdrant_url, api_key=s.qdrant_api_key, collection=s.collection,
                        timeout_s=s.store_timeout_s, sizes=sizes)
                else:
                    from shortlist.store.edge_store import EdgeStore

                    _stores[key] = EdgeStore(s.qdrant_path, collection=s.collection,
                                             hold=hold, sizes=sizes)
            if hold and hasattr(_stores[key], "hold"):
                _stores[key].hold = True  # asked for before serve took it: hold from now on
            return _stores[key]

    def store_sizes(self) -> dict[str, int]:
        """Each store space's size, from the text embedder and the video embedder if any."""
        video = self.video_embedder()
        return dimensions(self.embedder().dim, video.dim if video else None)

    def gpu_slots(self) -> GpuSlots:
        from shortlist.gpu import GpuSlots

        return self._once("gpu", "", lambda: GpuSlots(self.settings.gpu_count,
                                                      self.settings.data_dir / "gpu-locks"))

    def transcriber(self, device: str = "cpu") -> Transcriber:
        from shortlist.models.asr import FasterWhisperTranscriber

        s = self.settings
        if s.asr_backend == "faster-whisper":
            on_gpu = device.startswith("cuda")
            dev, compute = ("cuda", s.asr_compute_type) if on_gpu else ("cpu", "int8")
            index = int(device.partition(":")[2] or 0) if on_gpu else 0
            return self._once("asr", device, lambda: FasterWhisperTranscriber(
                s.asr_model, device=dev, compute_type=compute, threads=s.model_threads,
                beam_size=s.asr_beam_size, device_index=index))
        raise ValueError(f"unknown asr_backend {s.asr_backend!r}: only faster-whisper (openai-"
                         "whisper was removed, see shortlist/models/asr.py; other Whisper "
                         "weights convert to a CTranslate2 folder for SHORTLIST_ASR_MODEL)")

    def frame_tagger(self, device: str = "cpu") -> FrameTagger:
        from shortlist.models.vision import FrameTagger

        return self._once("vision", device, lambda: FrameTagger(
            device=device, threads=self.settings.model_threads))

    def audio_tagger(self) -> AudioTagger:
        from shortlist.models.audio import AudioTagger

        return self._once("audio", "", lambda: AudioTagger(
            self.settings.data_dir / "models", threads=self.settings.model_threads))

    def text_reader(self) -> TextReader:
        from shortlist.models.ocr import TextReader

        return self._once("ocr", "", lambda: TextReader(threads=self.settings.model_threads))

    def safety(self) -> SafetyScorer:
        from shortlist.models.safety import SafetyScorer

        return self._once("safety", "", SafetyScorer)

    def embedder(self) -> TextEmbedder:
        """The text embedder, chosen once: its size sets the store's text spaces."""
        kind = self.settings.text_embedder
        if kind == "local":
            from shortlist.models.text_embedding import MiniLMEmbedder

            return self._once("embed", "", lambda: MiniLMEmbedder(
                threads=self.settings.model_threads,
                query_threads=query_threads(self.settings)))
        if kind == "vertex":
            from shortlist.cloud.vertex_embeddings import VertexTextEmbedder

            return self._once("embed", "", lambda: VertexTextEmbedder(self.settings))
        raise ValueError(f"unknown text_embedder {kind!r}: 'local' or 'vertex'")

    def video_embedder(self) -> VideoEmbedder | None:
        """Twelve Labs Marengo when configured; none runs offline."""
        kind = self.settings.video_embedder
        if kind == "none":
            return None
        if kind == "marengo":
            from shortlist.cloud.marengo import MarengoEmbedder

            return self._once("video-embed", "", lambda: MarengoEmbedder(self.settings))
        raise ValueError(f"unknown video_embedder {kind!r}: 'none' or 'marengo'")

    def describer(self) -> Describer:
        if self.settings.describer == "local":
            from shortlist.describe import LocalDescriber

            return self._once("describe", "", lambda: LocalDescriber(self.embedder()))
        if self.settings.describer == "gemini":
            from shortlist.cloud.gemini import GeminiDescriber

            return self._once("describe", "", lambda: GeminiDescriber(self.settings))
        raise ValueError(f"unknown describer {self.settings.describer!r}: 'local' or 'gemini'")

    def playable_urls(self):
        from shortlist.recommend.search import PlayableUrls

        s = self.settings
        return self._once("urls", "", lambda: PlayableUrls(s.publish_base_url, s.presign_ttl_s,
                                                           s.publish_bucket))

    def warm_up(self) -> None:
        """Load every ingest model now; the CLI does this while Prefect starts its server."""
        for model in (self.embedder(), self.describer(), self.transcriber(), self.frame_tagger(),
                      self.audio_tagger(), self.text_reader(), self.safety()):
            load = getattr(model, "load", None)
            if load is not None:
                load()

    def stage_versions(self) -> dict[str, str]:
        """What each stage's output depends on (shortlist/versions.py): part of every cache
        key and stored per video. Built from the components, which load nothing for it."""
        from shortlist.media import shots
        from shortlist.pipeline import transcode_options

        s = self.settings
        asr_device = "cuda:0" if s.device == "cuda" else "cpu"
        return {
            "transcode": transcode_options(s).fingerprint,
            "shots": shots.VERSION,
            "asr": component_version(self.transcriber(asr_device)),
            "visual": f"{component_version(self.frame_tagger())}:{s.max_tag_frames}f:{FRAMES}",
            "audio": component_version(self.audio_tagger()),
            "ocr": (f"{component_version(self.text_reader())}:{s.ocr_frames}f:per-minute-timed"
                    f":{FRAMES}"),
            "safety": f"{component_version(self.safety())}:{FRAMES}",
            "describe": component_version(self.describer()),
            "embed": (f"{component_version(self.embedder())}:doc-4:text+speech+scene:proj256+128"
                      ":kw-bm25:moments-5-15s-cuts-stored+screen+clips"),
            **({"video_embed": component_version(video)}
               if (video := self.video_embedder()) else {}),
        }


# How frames are chosen for the image models (shortlist/media/frames.py): distinct pictures.
FRAMES = "distinct4"

_built: dict[Settings, Components] = {}
_stores: dict[tuple, VideoStore] = {}
_built_lock = threading.Lock()


def components_for(settings: Settings) -> Components:
    """One Components per settings value in this process (the embedded store admits one client)."""
    with _built_lock:
        if settings not in _built:
            _built[settings] = Components(settings)
        return _built[settings]


def close_all() -> None:
    """Release stores (the embedded one holds a folder lock) before the process exits."""
    with _built_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _built.clear()
