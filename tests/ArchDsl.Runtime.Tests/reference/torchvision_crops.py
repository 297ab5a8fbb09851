"""torchvision 0.14.1 on PIL images, the reference of DataTransformTests: for an image file and crop boxes, the bytes
of F.resized_crop(img, top, left, height, width, size) (RandomResizedCrop's output for that box, bilinear) and of
timm's eval transform Resize(floor(size / crop_pct)) + CenterCrop(size). Prints one JSON object."""
import json, math, sys
import numpy as np
from PIL import Image
import torchvision
from torchvision.transforms import functional as F, InterpolationMode
from torchvision import transforms

if sys.argv[1] == "areas":  # mean area fraction and aspect ratio of RandomResizedCrop.get_params on a W×H image
    import torch
    torch.manual_seed(0)
    w, h, n = int(sys.argv[2]), int(sys.argv[3]), 4000
    boxes = [transforms.RandomResizedCrop.get_params(Image.new("RGB", (w, h)), (0.08, 1.0), (3 / 4, 4 / 3)) for _ in range(n)]
    print(json.dumps({"area": sum(bh * bw for _, _, bh, bw in boxes) / (w * h * n), "ratio": sum(bw / bh for _, _, bh, bw in boxes) / n}))
    sys.exit(0)
path, size, crop_pct = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
boxes = json.loads(sys.argv[4])
img = Image.open(path).convert("RGB")
out = {"version": torchvision.__version__, "crops": []}
for (left, top, w, h) in boxes:
    c = F.resized_crop(img, top, left, h, w, [size, size], InterpolationMode.BILINEAR)
    out["crops"].append(np.asarray(c).reshape(-1).tolist())
ev = transforms.Compose([transforms.Resize(math.floor(size / crop_pct), InterpolationMode.BILINEAR), transforms.CenterCrop(size)])(img)
out["eval"] = np.asarray(ev).reshape(-1).tolist()
print(json.dumps(out))
