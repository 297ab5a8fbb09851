"""Top-1 accuracy of an exported PyTorch module (`archc export RUN --format pytorch`) on an IDX test set, with
PyTorch alone (Debian's python3-torch; no ArchDsl, no torchvision):

    /usr/bin/python3 scripts/eval_export.py RUN/export/convmixer.py [DATA_DIR]

DATA_DIR (default /usr/share/datasets/fashion-mnist) holds t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]
(the IDX format of MNIST and Fashion-MNIST: big-endian header, then uint8 samples). Pixels go in as v / 255 in [0, 1]:
the exported model normalises them itself. The weights are the .safetensors beside the .py. Prints the accuracy in
percent to two decimals, as a run's summary.yaml reports its test accuracy, and the count it comes from.
"""
import gzip
import importlib.util
import os
import struct
import sys

import torch


def read_idx(path):
    """An IDX file as a uint8 tensor of its dims (reads path or path.gz)."""
    if not os.path.exists(path):
        path += '.gz'
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack('>HBB', data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f'{path}: not an unsigned-byte IDX file')
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def main(module_path, data_dir='/usr/share/datasets/fashion-mnist'):
    spec = importlib.util.spec_from_file_location('exported', module_path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    model = exported.create_model(os.path.splitext(module_path)[0] + '.safetensors')
    images = read_idx(os.path.join(data_dir, 't10k-images-idx3-ubyte'))
    labels = read_idx(os.path.join(data_dir, 't10k-labels-idx1-ubyte')).long()
    c, h, w = exported.INPUT_SIZE
    x = images.reshape(-1, c, h, w).float() / 255
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            correct += (model(x[i:i + 500]).argmax(-1) == labels[i:i + 500]).sum().item()
    print(f'test accuracy {100 * correct / len(x):.2f}% ({correct}/{len(x)})')


if __name__ == '__main__':
    main(*sys.argv[1:])
