"""Writes the small pickles of numpy arrays (detectron2's .pkl checkpoint form) used by NumpyPickleTest.

    /usr/bin/python3 make_pkl.py        # numpy only; deterministic

arrays_p{2,4}.pkl: {'model': {name: ndarray}, '__author__': ..., 'matching_heuristics': True} with protocol 2 (the
bytes of each array through _codecs.encode(str, 'latin1'), as old detectron2 model-zoo files) and 4 (raw bytes):
float32 C order, float64 Fortran order, float16 big-endian, int64, a 0-d float32 and an empty array.
plain_p2.pkl: the name -> array dict itself. expected.json: every array as nested lists (C order).
evil_d2_os_system.pkl: a d2 pickle whose '__author__' would run a command under pickle.load.
not_arrays.pkl: {'model': {'w': [1, 2, 3]}} (a list where an array belongs).
"""
import json
import os
import pickle

import numpy as np

MARKER = "/tmp/rest-tf-python-marker"


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


def arrays():
    a = {}
    a["backbone.bottom_up.stem.proj.0.weight"] = (np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) - 11.5) / 7
    a["fortran_f8"] = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3) * 1.25 - 2)
    a["big_endian_f2"] = np.array([[0.5, -2.0], [65504.0, 1e-4]], dtype=">f2")
    a["counts_i8"] = np.array([160000, -3, 2 ** 40], dtype=np.int64)
    a["scalar_f4"] = np.array(3.5, dtype=np.float32)
    a["empty_f4"] = np.zeros((0, 4), dtype=np.float32)
    return a


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    a = arrays()
    for p in (2, 4):
        with open("arrays_p%d.pkl" % p, "wb") as f:
            pickle.dump({"model": a, "__author__": "rest-tf fixture", "matching_heuristics": True}, f, protocol=p)
    with open("plain_p2.pkl", "wb") as f:
        pickle.dump(a, f, protocol=2)
    with open("evil_d2_os_system.pkl", "wb") as f:
        pickle.dump({"model": a, "__author__": Evil()}, f, protocol=2)
    with open("not_arrays.pkl", "wb") as f:
        pickle.dump({"model": {"w": [1, 2, 3]}}, f, protocol=2)
    with open("expected.json", "w") as f:
        json.dump({k: {"shape": list(v.shape), "values": np.ascontiguousarray(v).astype(np.float64).ravel().tolist()}
                   for k, v in a.items()}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
