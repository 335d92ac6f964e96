#!/usr/bin/python3
"""bench/cnn_torch.py - the same network as pipelines/cnn-original.cfg (or cnn.cfg) in
PyTorch on the CPU, trained on the same images: seconds per epoch and CPU seconds.

    bench/cnn_torch.py IMAGES.npy N_IMAGES EPOCHS [THREADS] [original|improved]

IMAGES.npy is a decode stream (numpy structured array with fields id, x). Labels are random
(speed only). Prints one line per epoch: "epoch E wall W cpu C img/s R"."""
import sys, time
import numpy as np
import torch
import torch.nn as nn

path, n, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
arch = sys.argv[5] if len(sys.argv) > 5 else "original"
torch.set_num_threads(threads)
torch.manual_seed(1)

a = np.load(path)["x"][:n]
S = a.shape[1]
x = torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).float() / 255.0
y = torch.from_numpy(np.random.RandomState(1).randint(0, 2, size=len(x))).long()


def original(S):
    # conv same, conv valid, maxpool (floor), dropout .25 -- three blocks; dense 512; .5; out
    layers, c, s = [], 3, S
    for f in (32, 32, 64):
        layers += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(), nn.Conv2d(f, f, 3), nn.ReLU(),
                   nn.MaxPool2d(2), nn.Dropout(0.25)]
        c, s = f, (s - 2) // 2
    layers += [nn.Flatten(), nn.Linear(c * s * s, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 2)]
    return nn.Sequential(*layers)


def improved(S):
    # pipelines/cnn.cfg: same-padded convs with batch norm, global average pooling head
    layers, c = [], 3
    for f in (32, 64, 128):
        layers += [nn.Conv2d(c, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                   nn.Conv2d(f, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                   nn.MaxPool2d(2), nn.Dropout(0.1)]
        c = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(c, 2)]
    return nn.Sequential(*layers)


net = original(S) if arch == "original" else improved(S)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
B = 32
for e in range(1, epochs + 1):
    net.train()
    perm = torch.randperm(len(x))
    t0, c0 = time.time(), time.process_time()
    for i in range(0, len(x), B):
        idx = perm[i:i + B]
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
    w, c = time.time() - t0, time.process_time() - c0
    print(f"epoch {e} wall {w:.3f} cpu {c:.3f} img/s {len(x) / w:.1f}", flush=True)
