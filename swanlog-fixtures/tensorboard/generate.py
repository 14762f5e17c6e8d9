"""Writes the TensorBoard fixtures of `swanlog import` with the real writers, and what
TensorBoard's own reader (EventAccumulator) shows of them, as reference.json.

    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install torch tensorboard tensorboardX numpy
    /tmp/tbvenv/bin/python swanlog-fixtures/tensorboard/generate.py

Then swanlog's own export of three of them, and what EventAccumulator shows of it
(exported-reference.json), so a test checks that TensorBoard reads `swanlog export --format tfevents`:

    S="node apps/cli/bin/swanlog.js"; L=$(mktemp -d)
    $S import swanlog-fixtures/tensorboard/runs --logdir $L
    for r in tbx tensor-dtypes torch-purge; do
      rm -rf swanlog-fixtures/tensorboard/exported/$r
      $S export $r --logdir $L --format tfevents --out swanlog-fixtures/tensorboard/exported/$r
    done
    /tmp/tbvenv/bin/python swanlog-fixtures/tensorboard/generate.py --exported

Runs (each directory under runs/ is one TensorBoard run):
  torch-purge/       PyTorch SummaryWriter, a step written twice, a histogram, an image and text;
                     then a second writer with purge_step=5 (a restart: SessionLog START)
  tbx/               tensorboardX add_scalar and add_scalars (one subdirectory per series),
                     NaN and +-Infinity
  tensor-style/      torch's add_scalar(new_style=True, double_precision=True) and new_style float32
                     (tensorboardX 2.6.5 has no new_style: its file beside them writes simple_value
                     with metadata)
  tensor-dtypes/     tensorboard's own EventFileWriter: scalar tensors of every dtype a writer
                     uses, in tensor_content and in the typed *_val fields, plugin metadata only on
                     a tag's first value
  tf1-restart/       file_version brain.Event:1 (TF1), a job restarted from a checkpoint: steps
                     go back, which purges the older points of those tags
"""

import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import tensorboardX
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util
from torch.utils.tensorboard import SummaryWriter

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")


def torch_purge():
    d = os.path.join(RUNS, "torch-purge")
    w = SummaryWriter(d)
    for step in range(10):
        w.add_scalar("train/loss", 1.0 / (step + 1), step)
        w.add_scalar("train/acc", step / 10, step)
    w.add_scalar("train/loss", 0.123456789, 9)  # step 9 written twice: TensorBoard keeps both
    w.add_histogram("weights", np.arange(10, dtype=np.float32), 9)
    w.add_image("sample", np.zeros((3, 4, 4), dtype=np.uint8), 9)
    w.add_text("note", "hello", 9)
    w.close()
    time.sleep(1.1)  # a new file name (its name carries the second)
    w = SummaryWriter(d, purge_step=5)
    for step in range(5, 13):
        w.add_scalar("train/loss", 10.0 + step, step)
    w.close()


def tbx():
    d = os.path.join(RUNS, "tbx")
    w = tensorboardX.SummaryWriter(d)
    for step in range(8):
        w.add_scalar("loss", 0.5**step, step)
        w.add_scalars("lr", {"a": 0.1 * step, "b": 0.2 * step}, step)
    w.add_scalar("loss", 42.0, 7)  # step 7 written twice: TensorBoard keeps both, swanlog shows the last
    w.add_scalar("edge", float("nan"), 8)
    w.add_scalar("edge", float("inf"), 9)
    w.add_scalar("edge", float("-inf"), 10)
    w.add_scalar("edge", 3.3, 11)
    w.close()


def tensor_style():
    d = os.path.join(RUNS, "tensor-style")
    w = SummaryWriter(d)
    for step in range(6):
        w.add_scalar("torch/double", 1 / 3 + step, step, new_style=True, double_precision=True)
        w.add_scalar("torch/float", 1 / 3 + step, step, new_style=True)
    w.close()
    w = tensorboardX.SummaryWriter(d, filename_suffix=".tbx")
    for step in range(6):
        w.add_scalar("tbx/plain", 2 / 3 + step, step, display_name="plain")
    w.close()


def scalar_value(tag, proto, first):
    v = summary_pb2.Summary.Value(tag=tag, tensor=proto)
    if first:
        v.metadata.plugin_data.plugin_name = "scalars"
    return v


def tensor_dtypes():
    d = os.path.join(RUNS, "tensor-dtypes")
    os.makedirs(d, exist_ok=True)
    w = EventFileWriter(d)
    from tensorboard.compat.proto import types_pb2 as types

    def content(dtype, fmt, x):
        return tensor_pb2.TensorProto(dtype=dtype, tensor_content=struct.pack(fmt, x))

    def half_bits(x):
        return int(np.array(x, dtype=np.float16).view(np.uint16))

    def bf16_bits(x):
        return struct.unpack("<I", struct.pack("<f", x))[0] >> 16

    forms = {
        "float_content": lambda x: content(types.DT_FLOAT, "<f", x),
        "double_content": lambda x: content(types.DT_DOUBLE, "<d", x),
        "half_content": lambda x: content(types.DT_HALF, "<e", x),
        "int32_content": lambda x: content(types.DT_INT32, "<i", int(x * 10)),
        "int64_content": lambda x: content(types.DT_INT64, "<q", int(x * 10) + 2**40),
        "bfloat16_content": lambda x: tensor_pb2.TensorProto(
            dtype=types.DT_BFLOAT16, tensor_content=struct.pack("<H", bf16_bits(x))
        ),
        "float_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_FLOAT, float_val=[x]),
        "double_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_DOUBLE, double_val=[x]),
        "int_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_INT32, int_val=[int(x * 10)]),
        "int64_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_INT64, int64_val=[int(x * 10) - 2**41]),
        "half_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_HALF, half_val=[half_bits(x)]),
        "bfloat16_val": lambda x: tensor_pb2.TensorProto(dtype=types.DT_BFLOAT16, half_val=[bf16_bits(x)]),
    }
    for step in range(4):
        x = 1.25 + step / 3
        values = [scalar_value(f"dtype/{name}", make(x), step == 0) for name, make in forms.items()]
        # A tensor of another plugin and a vector: counted and skipped, as TensorBoard shows no scalar.
        values.append(
            summary_pb2.Summary.Value(
                tag="vector",
                tensor=tensor_pb2.TensorProto(
                    dtype=types.DT_FLOAT,
                    tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)]),
                    float_val=[1, 2],
                ),
                metadata=summary_pb2.SummaryMetadata(
                    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="histograms")
                ),
            )
        )
        w.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=values)))
    w.close()


def tf1_restart():
    d = os.path.join(RUNS, "tf1-restart")
    os.makedirs(d, exist_ok=True)
    name = os.path.join(d, "events.out.tfevents.1500000000.tf1host")
    rw = tensorboardX.record_writer.RecordWriter(name)
    t0 = 1500000000.0

    def event(**kw):
        rw.write(event_pb2.Event(**kw).SerializeToString())

    event(wall_time=t0, file_version="brain.Event:1")
    t = t0
    for step in list(range(0, 10)) + list(range(6, 12)):  # restarted from the checkpoint of step 6
        t += 1.5
        values = [
            summary_pb2.Summary.Value(tag="loss", simple_value=100.0 / (step + 1) + (t - t0) / 1000),
            summary_pb2.Summary.Value(tag="acc", simple_value=step / 20),
        ]
        event(wall_time=t, step=step, summary=summary_pb2.Summary(value=values))
    rw.close()


def reference(run_dir):
    ea = event_accumulator.EventAccumulator(run_dir, size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    out = {}
    for tag in ea.Tags()["scalars"]:
        out[tag] = [[e.step, num(e.value), e.wall_time] for e in ea.Scalars(tag)]
    for tag in ea.Tags()["tensors"]:
        if ea.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        out[tag] = [[e.step, num(tensor_value(e.tensor_proto)), e.wall_time] for e in ea.Tensors(tag)]
    return out


def tensor_value(proto):
    try:
        return tensor_util.make_ndarray(proto).item()
    except TypeError:
        # TensorBoard without TensorFlow has no numpy bfloat16 (make_ndarray fails on it, so
        # TensorBoard shows nothing for such a tag): the bits are the high half of a float32.
        bits = struct.unpack("<H", proto.tensor_content)[0] if proto.tensor_content else proto.half_val[0]
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]


def num(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def write_reference(runs_dir, out_name, note):
    ref = {}
    for root, _dirs, files in sorted(os.walk(runs_dir)):
        if any("tfevents" in f for f in files):
            ref[os.path.relpath(root, runs_dir)] = reference(root)
    with open(os.path.join(HERE, out_name), "w") as f:
        json.dump({"note": note, "tensorboard": __import__("tensorboard").__version__, "runs": ref}, f, indent=1)
        f.write("\n")


def main():
    if sys.argv[1:] == ["--exported"]:
        write_reference(
            os.path.join(HERE, "exported"),
            "exported-reference.json",
            "EventAccumulator(dir, size_guidance={'scalars': 0, 'tensors': 0}) of swanlog's export "
            "(--format tfevents) of each run under exported/: per tag [step, value, wall_time]",
        )
        return
    shutil.rmtree(RUNS, ignore_errors=True)
    os.makedirs(RUNS)
    torch_purge()
    tbx()
    tensor_style()
    tensor_dtypes()
    tf1_restart()
    write_reference(
        RUNS,
        "reference.json",
        "EventAccumulator(dir, size_guidance={'scalars': 0, 'tensors': 0}) of each run under runs/, "
        "written by generate.py: per tag [step, value, wall_time] in the order TensorBoard keeps them",
    )


if __name__ == "__main__":
    main()
