"""Runs the ONNX checker (Debian's python3-onnx) with full shape inference on each file given; prints 'ok <file>' per file."""
import sys

import onnx

for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print('ok', path, 'opset', model.opset_import[0].version)
