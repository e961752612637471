# Writes py3_protocol2_batch: a 3-image CIFAR-10 python batch pickled by python 3 with protocol 2, with
# numpy's ndarray/dtype __reduce__ emulated (numpy is not installed here). Usage: python3 make_py3_batch.py OUT
import pickle, sys, types, copyreg

numpy = types.ModuleType("numpy"); core = types.ModuleType("numpy.core"); multiarray = types.ModuleType("numpy.core.multiarray")
sys.modules.update({"numpy": numpy, "numpy.core": core, "numpy.core.multiarray": multiarray})
numpy.core = core; core.multiarray = multiarray

def _reconstruct(cls, shape, typecode): return cls.__new__(cls)
_reconstruct.__module__ = "numpy.core.multiarray"; _reconstruct.__qualname__ = "_reconstruct"
multiarray._reconstruct = _reconstruct

class dtype:
    def __init__(self, code, align=False, copy=True): self.code = code
    def __reduce__(self): return (dtype, (self.code, False, True), (3, '|', None, None, None, -1, -1, 0))
    def __setstate__(self, s): pass
dtype.__module__ = "numpy"; numpy.dtype = dtype

class ndarray:
    def __reduce__(self): return (_reconstruct, (ndarray, (0,), b'b'), (1, self.shape, self.dt, False, self.raw))
    def __setstate__(self, s): _, self.shape, self.dt, _, self.raw = s
ndarray.__module__ = "numpy"; numpy.ndarray = ndarray

n = 3
raw = bytes((i * 7 + 3) % 256 for i in range(n * 3072))
arr = ndarray(); arr.shape = (n, 3072); arr.dt = dtype('u1'); arr.raw = raw
batch = {b'batch_label': b'testing batch 1 of 1', b'labels': [3, 9, 0], b'data': arr, b'filenames': [b'a.png', b'b.png', b'c.png']}
data = pickle.dumps(batch, protocol=2)
open(sys.argv[1], "wb").write(data)
back = pickle.loads(data)
assert back[b'data'].raw == raw and back[b'labels'] == [3, 9, 0]
print(len(data))
