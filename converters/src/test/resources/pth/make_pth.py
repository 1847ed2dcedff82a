"""Writes the small synthetic torch.save files used by TorchCheckpointFormatTest and TorchSecurityTest.

Torch is not needed: a fake `torch` module supplies the globals the pickles name (torch._utils
._rebuild_tensor_v2, torch.FloatStorage, ...), and the zip / legacy layouts are written as torch.save
writes them. expected.json holds every tensor's values computed independently with numpy strided views.
Run from this directory:  python3 make_pth.py   (needs numpy)
"""
import argparse
import collections
import io
import json
import os
import pathlib
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

MARKER = "/tmp/resttf_pwned_marker"

# ---- a fake torch, just enough for pickle to name the globals ----
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch_tensor = types.ModuleType("torch._tensor")
sys.modules.update({"torch": torch, "torch._utils": torch_utils, "torch._tensor": torch_tensor})


def _fn(module, name):
    def f(*a):
        raise RuntimeError("fake")
    f.__module__ = module.__name__
    f.__qualname__ = f.__name__ = name
    setattr(module, name, f)
    return f


rebuild_v2 = _fn(torch_utils, "_rebuild_tensor_v2")
rebuild_param = _fn(torch_utils, "_rebuild_parameter")
STORAGE_TYPES = {}
for dt, name in [("F32", "FloatStorage"), ("F16", "HalfStorage"), ("BF16", "BFloat16Storage"),
                 ("F64", "DoubleStorage"), ("I64", "LongStorage"), ("I32", "IntStorage"),
                 ("I16", "ShortStorage"), ("I8", "CharStorage"), ("U8", "ByteStorage"), ("BOOL", "BoolStorage")]:
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch, name, cls)
    STORAGE_TYPES[dt] = cls

NP = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "I16": "<i2",
      "I8": "i1", "U8": "u1", "BOOL": "?"}


class Storage:
    def __init__(self, key, dtype, values):
        self.key, self.dtype = key, dtype
        self.array = np.asarray(values).astype(NP[dtype])

    def bytes(self, big=False):
        a = self.array
        return (a.astype(a.dtype.newbyteorder(">")) if big else a).tobytes()


class Tensor:
    def __init__(self, storage, offset, shape, stride, parameter=False):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)
        self.parameter = parameter

    def __reduce_ex__(self, proto):
        t = (rebuild_v2, (self.storage, self.offset, self.shape, self.stride, False, collections.OrderedDict()))
        if self.parameter:
            return (rebuild_param, (_Reduced(t), True, collections.OrderedDict()))
        return t

    def expected(self):
        a = self.storage.array
        v = np.lib.stride_tricks.as_strided(a[self.offset:] if a.size else a, shape=self.shape,
                                            strides=[s * a.itemsize for s in self.stride])
        flat = np.array(v).reshape(-1)
        dt = self.storage.dtype
        if dt == "F16":
            vals = [int(x) for x in flat.astype(np.float32).view(np.uint32)]
        elif dt == "BF16":
            vals = [int(x) << 16 for x in flat.astype(np.uint32)]
        elif dt == "F32":
            vals = [int(x) for x in flat.view(np.uint32)]
        elif dt == "F64":
            vals = [int(x) for x in flat.view(np.uint64)]
        else:
            vals = [int(x) for x in flat.astype(np.int64)]
        return {"dtype": dt, "shape": list(self.shape), "values": vals}


class _Reduced:
    def __init__(self, t):
        self.t = t

    def __reduce_ex__(self, proto):
        return self.t


class ZipPickler(pickle._Pickler):
    """Pure-Python pickler, so that protocol 0 too writes the persistent id tuple with BINPERSID (as the
    text PERSID form cannot hold a tuple)."""

    def save_pers(self, pid):
        self.save(pid, save_persistent_id=False)
        self.write(pickle.BINPERSID)

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_TYPES[obj.dtype], obj.key, "cpu", int(obj.array.size))
        return None


class LegacyPickler(pickle.Pickler):
    views = {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE_TYPES[obj.dtype], obj.key, "cpu", int(obj.array.size), None)
        if isinstance(obj, View):
            return ("storage", STORAGE_TYPES[obj.root.dtype], obj.root.key, "cpu", int(obj.root.array.size),
                    (obj.key, obj.offset, obj.size))
        return None


class View:
    """A legacy view storage: elements [offset, offset+size) of a root storage."""

    def __init__(self, root, key, offset, size):
        self.root, self.key, self.offset, self.size = root, key, offset, size
        self.dtype = root.dtype
        self.array = root.array[offset:offset + size]


def storages_of(obj, out):
    if isinstance(obj, Tensor):
        s = obj.storage.root if isinstance(obj.storage, View) else obj.storage
        out.setdefault(s.key, s)
    elif isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            storages_of(v, out)
    return out


def write_zip(path, obj, protocol=2, root="archive", big=False, byteorder=True):
    buf = io.BytesIO()
    ZipPickler(buf, protocol=protocol).dump(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(root + "/data.pkl", buf.getvalue())
        if byteorder:
            z.writestr(root + "/byteorder", "big" if big else "little")
        for key, s in storages_of(obj, {}).items():
            z.writestr(root + "/data/" + key, s.bytes(big))
        z.writestr(root + "/version", "3\n")


def write_legacy(path, obj, protocol=2):
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=protocol)
        pickle.dump(1001, f, protocol=protocol)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=protocol)
        LegacyPickler(f, protocol=protocol).dump(obj)
        st = storages_of(obj, {})
        pickle.dump(list(st.keys()), f, protocol=protocol)
        for s in st.values():
            f.write(struct.pack("<q", s.array.size))
            f.write(s.bytes())


def state_dict(prefix="", scale=1.0):
    s0 = Storage(prefix + "0", "F32", (np.arange(24) * 0.5 - 3) * scale)
    s1 = Storage(prefix + "1", "F16", [0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, np.inf, -np.inf, 0.333])
    s2 = Storage(prefix + "2", "BF16", [0x3f80, 0xbf80, 0x7f80, 0x0001, 0x4049, 0xc2f7, 0x0000, 0x8000])
    s3 = Storage(prefix + "3", "F64", [np.pi, -1e300, 1e-320])
    s4 = Storage(prefix + "4", "I64", [12345678901])
    sd = collections.OrderedDict()
    sd["a"] = Tensor(s0, 0, (2, 3, 4), (12, 4, 1), parameter=True)
    sd["a_t"] = Tensor(s0, 0, (4, 3, 2), (1, 4, 12))
    sd["a_slice"] = Tensor(s0, 5, (2, 2), (12, 2))
    sd["a_scalar"] = Tensor(s0, 7, (), ())
    sd["a_empty"] = Tensor(s0, 24, (0, 3), (3, 1))
    sd["a_bcast"] = Tensor(s0, 1, (3, 2), (0, 1))
    sd["h"] = Tensor(s1, 0, (10,), (1,))
    sd["h_step"] = Tensor(s1, 1, (4,), (2,))
    sd["bf"] = Tensor(s2, 0, (2, 4), (4, 1))
    sd["d"] = Tensor(s3, 0, (3,), (1,))
    sd["num_batches_tracked"] = Tensor(s4, 0, (), ())
    for i, (dt, vals) in enumerate([("I32", [-2**31, 2**31 - 1, 7]), ("I16", [-32768, 32767]),
                                    ("I8", [-128, 127, -1]), ("U8", [0, 255, 128]), ("BOOL", [True, False, True])]):
        sd[dt.lower()] = Tensor(Storage(prefix + str(5 + i), dt, vals), 0, (len(vals),), (1,))
    sd._metadata = collections.OrderedDict({"": {"version": 1}, "a": {"version": 2}})
    return sd


def expected(sd):
    return {k: t.expected() for k, t in sd.items()}


class Evil:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    sd = state_dict()
    ema = state_dict("e", scale=-1.0)
    exp = {"model": expected(sd), "model_ema": expected(ema)}
    ns = argparse.Namespace(model="restv2_tiny", lr=1e-3, drop_path=0.1, output_dir=pathlib.PosixPath("/tmp/out"),
                            resume="", betas=(0.9, 0.999), tags={"a", "b"})
    opt_state = Storage("90", "F32", np.ones(6))
    training = {
        "model": sd, "model_ema": ema,
        "optimizer": {"state": {0: {"step": 3, "exp_avg": Tensor(opt_state, 0, (2, 3), (3, 1))}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
        "epoch": 7, "args": ns, "best_acc": np.float64(0.875), "raw": b"\x00\xff\x10",
        "big": 2 ** 70, "neg": -(2 ** 65), "none": None, "flag": True, "f": 1.5,
        "frozen": frozenset([1, 2]), "arr": np.arange(3, dtype=np.int16),
    }
    for p in range(6):
        write_zip(f"training_p{p}.pth", training, protocol=p)
    write_zip("plain_basename_root.pth", sd, root="plain_basename_root", byteorder=False)
    write_zip("bigendian.pth", sd, big=True)
    write_zip("module_prefix.pth", {"state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
                                    "epoch": 41})

    # legacy: plain state_dict with a view storage (legacy torch could name slices of a root storage)
    root = Storage("100", "F32", np.arange(10, dtype=np.float32) + 0.25)
    legacy_sd = collections.OrderedDict()
    legacy_sd["w"] = Tensor(root, 0, (2, 5), (5, 1))
    legacy_sd["v"] = Tensor(View(root, "101", 4, 6), 1, (2, 2), (1, 2))
    legacy_sd["h"] = sd["h"]
    legacy_sd["num_batches_tracked"] = sd["num_batches_tracked"]
    legacy_sd._metadata = {"": {"version": 1}}
    write_legacy("legacy_views.pth", legacy_sd)
    exp["legacy"] = {"w": legacy_sd["w"].expected(),
                     "v": Tensor(Storage("x", "F32", root.array[4:10]), 1, (2, 2), (1, 2)).expected(),
                     "h": legacy_sd["h"].expected(),
                     "num_batches_tracked": legacy_sd["num_batches_tracked"].expected()}
    write_legacy("legacy_training.pth", {"model": legacy_sd, "epoch": 2, "args": ns})

    # hostile: each would run a command in Python's pickle.load / torch.load
    import builtins
    import subprocess
    cmd = "touch " + MARKER
    hostile = {
        "evil_os_system.pth": (os.system, (cmd,)),
        "evil_eval.pth": (builtins.eval, ("__import__('os').system(%r)" % cmd,)),
        "evil_exec.pth": (builtins.exec, ("import os; os.system(%r)" % cmd,)),
        "evil_popen.pth": (subprocess.Popen, (["touch", MARKER],)),
        "evil_getattr.pth": (builtins.getattr, (pathlib.PosixPath(MARKER), "touch")),
    }
    for name, (fn, args) in hostile.items():
        # hidden in a training checkpoint next to a valid model, as an attacker would
        write_zip(name, {"model": sd, "args": Evil(fn, args), "epoch": 1}, protocol=4 if ("eval" in name or "popen" in name) else 2)
    # an mmseg checkpoint ({'meta', 'state_dict'}) whose meta hides the call, as a doctored segmentation download would
    write_zip("evil_mmseg_meta_os_system.pth",
              {"meta": {"mmseg_version": "0.20.2", "CLASSES": ("wall", "floor"), "PALETTE": [[120, 120, 120], [80, 50, 50]],
                        "config": Evil(os.system, (cmd,)), "iter": 160000},
               "state_dict": collections.OrderedDict(("backbone." + k, v) for k, v in sd.items())})
    write_legacy("evil_legacy_os_system.pth", collections.OrderedDict(sd, extra=Evil(os.system, (cmd,))))
    write_zip("evil_p0_os_system.pth", Evil(os.system, (cmd,)), protocol=0)

    with open("expected.json", "w") as f:
        json.dump(exp, f, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
