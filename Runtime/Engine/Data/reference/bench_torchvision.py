"""The torchvision side of `archc data bench`: images/s of DataLoader + ImageFolder (PIL decode) with
RandomResizedCrop(size, scale, ratio) + RandomHorizontalFlip + ToTensor + Normalize(ImageNet), the same worker
count (one worker: num_workers=1, one decoding process beside the main one, as ArchDsl's one decoding thread beside
the training thread). Prints one JSON line: images/s, and milliseconds of CPU time per image of the main process and
the workers together (read from /proc, so the figure holds on a loaded machine)."""
import argparse, json, os, time
import torch, torchvision
from torchvision import datasets, transforms

p = argparse.ArgumentParser()
p.add_argument("root"); p.add_argument("--size", type=int, required=True); p.add_argument("--batch", type=int, required=True)
p.add_argument("--workers", type=int, required=True); p.add_argument("--batches", type=int, required=True)
p.add_argument("--scale", type=float, nargs=2, default=[0.08, 1.0]); p.add_argument("--ratio", type=float, nargs=2, default=[3 / 4, 4 / 3])
a = p.parse_args()
torch.set_num_threads(1)
t = transforms.Compose([transforms.RandomResizedCrop(a.size, scale=tuple(a.scale), ratio=tuple(a.ratio)), transforms.RandomHorizontalFlip(),
                        transforms.ToTensor(), transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = datasets.ImageFolder(a.root, transform=t)
loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=False, persistent_workers=True)
it = iter(loader)
next(it)  # warm-up: workers started, first batch made


def cpu_seconds():  # this process and its live DataLoader workers (user + system)
    total = time.process_time()
    for w in getattr(it, "_workers", []):
        with open(f"/proc/{w.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


images, start, cpu = 0, time.perf_counter(), cpu_seconds()
for _ in range(a.batches):
    try: x, _ = next(it)
    except StopIteration: it = iter(loader); x, _ = next(it)
    images += x.shape[0]
sec, cpu = time.perf_counter() - start, cpu_seconds() - cpu
print(json.dumps({"images": images, "seconds": sec, "images_per_second": images / sec, "cpu_ms_per_image": 1000 * cpu / images,
                  "torchvision_version": torchvision.__version__}))
