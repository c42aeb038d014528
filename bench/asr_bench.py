"""Word error and speed of the two packaged Whisper models on the sample corpus's speech.

  python bench/asr_bench.py [--corpus samples/corpus] [--out bench/results]

Every video of the corpus whose manifest says it has speech, with its spoken text
(`narration`, or for a talk the text it reads), is transcribed by tiny.en and by the
multilingual base model with the settings ingest uses. Reported per model, same run:
word error rate (jiwer, lower-cased, punctuation stripped), how many of the spoken
capitalised words (names: "Ajanta", "Hubble") come back exactly, and the real-time
factor. Writes OUT/asr.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from shortlist.models.asr import FasterWhisperTranscriber  # noqa: E402 - the repository root

MODELS = ("tiny.en", "base")


def spoken_text(meta: dict) -> str | None:
    if not meta.get("speech"):
        return None
    if meta.get("narration"):
        return meta["narration"]
    return meta.get("about") if meta.get("kind") == "talk" else None


def normalise(text: str) -> str:
    text = re.sub(r"--.*$", "", text)  # a fortune's attribution is not read differently
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def names_in(text: str) -> set[str]:
    """Capitalised words that do not start a sentence: the names ASR loses most."""
    words = re.findall(r"(?<![.!?\"] )(?<!^)\b([A-Z][a-z]+)", text.strip())
    return {w.lower() for w in words}


def to_wav(video: Path, wav: Path) -> float:
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(video), "-ac", "1", "-ar", "16000",
                    str(wav)], check=True)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", str(wav)], check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip())


def main() -> None:
    import jiwer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "samples" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    manifest = json.loads((args.corpus / "manifest.json").read_text())
    spoken = {name: text for name, meta in manifest.items() if (text := spoken_text(meta))}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="shortlist-asr-") as tmp:
        audio = {}
        for name in spoken:
            wav = Path(tmp) / f"{Path(name).stem}.wav"
            audio[name] = (wav, to_wav(args.corpus / name, wav))
        seconds = sum(d for _, d in audio.values())
        for model in MODELS:
            transcriber = FasterWhisperTranscriber(model=model, threads=2)
            transcriber.load()
            refs, hyps, names_said, names_heard = [], [], 0, 0
            started = time.perf_counter()
            for name, text in spoken.items():
                heard = transcriber.transcribe(audio[name][0]).text
                refs.append(normalise(text))
                hyps.append(normalise(heard) or "")
                names = names_in(re.sub(r"--.*$", "", text))
                names_said += len(names)
                names_heard += len(names & set(normalise(heard).split()))
            elapsed = time.perf_counter() - started
            results[model] = {
                "wer": round(jiwer.wer(refs, hyps), 4),
                "names_said": names_said,
                "names_heard": names_heard,
                "name_recall": round(names_heard / max(1, names_said), 4),
                "rtf": round(elapsed / seconds, 4),
                "seconds_of_audio": round(seconds, 1),
            }
            print(model, results[model], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "asr.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["## Speech recognition (`python bench/asr_bench.py`)", "",
             f"{len(spoken)} spoken sample videos, {seconds:.0f} s of speech, one run, "
             "int8 on 2 CPU threads, beam 1, VAD on.", "",
             "| model | word error rate | names heard | real-time factor |",
             "|---|---|---|---|"]
    for model, r in results.items():
        lines.append(f"| {model} | {r['wer']:.3f} | {r['names_heard']}/{r['names_said']} "
                     f"({r['name_recall']:.2f}) | {r['rtf']:.3f} |")
    (args.out / "asr.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
