#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and numpy);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""PyTorch reference for octcl: the seed notebook's OctNetMini.

Same class names, attribute names and state_dict keys as the seed
(shared/seed/octconv_notebook.md):

    stem.0.weight, stem.1.{weight,bias,running_mean,running_var,num_batches_tracked},
    b1.oct.{hh,hl,ll,lh}.weight, b1.bn_h.*, b1.bn_l.*, b2.* (same), fc.weight, fc.bias

(paths and BatchNorms whose channel count is 0 do not exist, exactly as in the seed).

Everything is as in the seed (AvgPool2d(2) in floor mode for Down, Python's round()
-- half to even -- for the channel split, BatchNorm eps 1e-5, nearest Up), except
for the two generalisations octcl defines:

(a) any input size.  Up is
        F.interpolate(y_lh, size=(H_out, W_out), mode='nearest')
    where (H_out, W_out) is the high-band output size, the conv output size of the
    high-band input: H_out = (H + 2p - k) // s + 1.  When the layer has no high input
    channels (alpha_in = 1) the high band's spatial size still comes from the input:
    x_h is passed as a tensor with 0 channels, shape (B, 0, H, W), and the layer
    returns y_h with 0 channels, shape (B, 0, H_out, W_out), when cout_h == 0.
    merge() upsamples the low band with size=(H, W) of the high band.
    The low band of a band pair always has size (H // 2, W // 2) of the high band
    (split uses AvgPool2d(2), floor mode), so HL(Down(x_h)) and LL(x_l) agree.
(b) alpha = 1.  split() gives x_h with 0 channels; merge() of a 0-channel high band
    returns the upsampled low band alone.

Nearest resize note (for the C side): with size= given, PyTorch 1.13 CPU computes the
source index as  out == in      -> dst
                 out == 2 * in  -> dst >> 1
                 otherwise      -> min((int64)floorf((float)dst * ((float)in / (float)out)), in - 1)
i.e. in float32, which for some sizes differs from the exact (dst * in) / out.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_out(n, k, s, p):
    """Output size of a convolution along one axis."""
    return (n + 2 * p - k) // s + 1


class OctaveConv2d(nn.Module):
    """Octave Convolution (seed layer, generalised to any input size).

    y_h = HH(x_h) + Up(LH(x_l), size of HH's output)
    y_l = LL(x_l) + HL(Down(x_h))
    """

    def __init__(self, cin, cout, kernel_size=3, stride=1, padding=1,
                 alpha_in=0.5, alpha_out=0.5, bias=False):
        super().__init__()

        assert 0.0 <= alpha_in <= 1.0
        assert 0.0 <= alpha_out <= 1.0

        self.alpha_in = alpha_in
        self.alpha_out = alpha_out
        self.stride = stride
        self.kernel_size = kernel_size
        self.padding = padding

        # 1) channel split (Python round(): half to even)
        cin_l = int(round(cin * alpha_in))
        cin_h = cin - cin_l
        cout_l = int(round(cout * alpha_out))
        cout_h = cout - cout_l

        self.cin_h, self.cin_l = cin_h, cin_l
        self.cout_h, self.cout_l = cout_h, cout_l

        # 2) downsample between bands
        self.down = nn.AvgPool2d(kernel_size=2, stride=2)

        # 3) the four paths; a path with 0 channels on either side does not exist
        self.hh = nn.Conv2d(cin_h, cout_h, kernel_size, stride=stride, padding=padding, bias=bias) if (cin_h > 0 and cout_h > 0) else None
        self.hl = nn.Conv2d(cin_h, cout_l, kernel_size, stride=stride, padding=padding, bias=bias) if (cin_h > 0 and cout_l > 0) else None
        self.ll = nn.Conv2d(cin_l, cout_l, kernel_size, stride=stride, padding=padding, bias=bias) if (cin_l > 0 and cout_l > 0) else None
        self.lh = nn.Conv2d(cin_l, cout_h, kernel_size, stride=stride, padding=padding, bias=bias) if (cin_l > 0 and cout_h > 0) else None

    def high_out_size(self, x_h, x_l):
        """(H_out, W_out) of the high band."""
        if x_h is not None:
            H, W = x_h.shape[-2], x_h.shape[-1]
        else:  # seed behaviour: the high band is twice the low band
            H, W = 2 * x_l.shape[-2], 2 * x_l.shape[-1]
        k, s, p = self.kernel_size, self.stride, self.padding
        return conv_out(H, k, s, p), conv_out(W, k, s, p)

    def forward(self, x_h, x_l=None):
        y_h = 0
        y_l = 0
        H_out, W_out = self.high_out_size(x_h, x_l)

        # --- H -> H ---
        if self.hh is not None and x_h is not None:
            y_h = y_h + self.hh(x_h)

        # --- H -> L --- (downsample + conv)
        if self.hl is not None and x_h is not None:
            y_l = y_l + self.hl(self.down(x_h))

        # --- L -> L ---
        if self.ll is not None and x_l is not None:
            y_l = y_l + self.ll(x_l)

        # --- L -> H --- (conv + nearest resize to the high-band output size)
        if self.lh is not None and x_l is not None:
            y_lh = self.lh(x_l)
            y_h = y_h + F.interpolate(y_lh, size=(H_out, W_out), mode='nearest')

        if isinstance(y_h, int):
            if x_h is not None and self.cout_h == 0:
                # no high output channels: keep the band's spatial size (generalisation a)
                y_h = x_h.new_zeros((x_h.shape[0], 0, H_out, W_out))
            else:
                y_h = None
        if isinstance(y_l, int):
            y_l = None

        return y_h, y_l


class OctaveConvBlock(nn.Module):
    """OctConv + BN + ReLU, a BatchNorm per band (seed)."""

    def __init__(self, cin, cout, alpha_in=0.5, alpha_out=0.5,
                 kernel_size=3, stride=1, padding=1):
        super().__init__()
        self.oct = OctaveConv2d(cin, cout, kernel_size, stride, padding, alpha_in, alpha_out, bias=False)

        self.bn_h = nn.BatchNorm2d(self.oct.cout_h) if self.oct.cout_h > 0 else None
        self.bn_l = nn.BatchNorm2d(self.oct.cout_l) if self.oct.cout_l > 0 else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x_h, x_l=None):
        y_h, y_l = self.oct(x_h, x_l)
        if y_h is not None and self.bn_h is not None:
            y_h = self.act(self.bn_h(y_h))
        if y_l is not None and self.bn_l is not None:
            y_l = self.act(self.bn_l(y_l))
        return y_h, y_l


class SplitMergeHL(nn.Module):
    """Single band <-> band pair (seed, with merge generalised to any size and alpha=1)."""

    def __init__(self, alpha=0.5):
        super().__init__()
        self.alpha = alpha
        self.down = nn.AvgPool2d(2)

    def split(self, x):
        """x: (B, C, H, W) -> (x_h, x_l); x_h has C_h channels (0 when alpha=1)."""
        B, C, H, W = x.shape
        c_l = int(round(C * self.alpha))
        c_h = C - c_l
        x_h = x[:, :c_h]
        x_l = self.down(x[:, c_h:]) if c_l > 0 else None
        return x_h, x_l

    def merge(self, x_h, x_l):
        """(x_h, x_l) -> (B, C, H, W), low band resized to the high band's (H, W)."""
        if x_l is None:
            return x_h
        if x_h is None:  # seed behaviour
            size = (2 * x_l.shape[-2], 2 * x_l.shape[-1])
        else:
            size = (x_h.shape[-2], x_h.shape[-1])
        x_l_up = F.interpolate(x_l, size=size, mode='nearest')
        if x_h is None or x_h.shape[1] == 0:
            return x_l_up
        return torch.cat([x_h, x_l_up], dim=1)


class OctNetMini(nn.Module):
    """Stem Conv(in->64)+BN+ReLU, split, 2 OctaveConvBlocks (64->128->128), merge,
    global average pool, Linear(128 -> num_classes)."""

    def __init__(self, in_channels=3, num_classes=10, alpha=0.5):
        super().__init__()
        self.alpha = alpha
        self.sm = SplitMergeHL(alpha=alpha)

        # 1) Stem
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
        )

        # 2) OctConv backbone
        self.b1 = OctaveConvBlock(64, 128, alpha_in=alpha, alpha_out=alpha)
        self.b2 = OctaveConvBlock(128, 128, alpha_in=alpha, alpha_out=alpha)

        # 3) Head
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x, verbose=False):
        x = self.stem(x)
        if verbose:
            print('Stem out:', x.shape)

        x_h, x_l = self.sm.split(x)
        if verbose:
            print('Split x_h:', None if x_h is None else x_h.shape)
            print('Split x_l:', None if x_l is None else x_l.shape)

        x_h, x_l = self.b1(x_h, x_l)
        if verbose:
            print('After b1 x_h:', None if x_h is None else x_h.shape)
            print('After b1 x_l:', None if x_l is None else x_l.shape)

        x_h, x_l = self.b2(x_h, x_l)
        if verbose:
            print('After b2 x_h:', None if x_h is None else x_h.shape)
            print('After b2 x_l:', None if x_l is None else x_l.shape)

        x = self.sm.merge(x_h, x_l)
        if verbose:
            print('Merged x:', x.shape)

        x = self.pool(x)
        x = torch.flatten(x, 1)
        logits = self.fc(x)
        if verbose:
            print('Logits:', logits.shape)
        return logits


def count_params(m: nn.Module):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def randomize_bn(model: nn.Module, gen: torch.Generator):
    """Give every BatchNorm non-trivial affine parameters and running statistics
    (so that BN folding is really exercised).  Deterministic for a given generator."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)            # [0.5, 1.5)
                m.bias.copy_((torch.rand(c, generator=gen) - 0.5) * 0.4)      # [-0.2, 0.2)
                m.running_mean.copy_((torch.rand(c, generator=gen) - 0.5) * 0.4)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)  # [0.25, 1.75)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))
    return model


def random_model(alpha, seed, in_channels=3, num_classes=10):
    """A random-init OctNetMini with randomised BN statistics, in eval() mode.

    The head is re-drawn as fc.weight ~ N(0, 1), fc.bias ~ U(-0.1, 0.1): with the
    default init the logits are dominated by fc.bias and barely depend on the input,
    which makes a weak parity test.  Deterministic for a given seed."""
    torch.manual_seed(seed)
    model = OctNetMini(in_channels=in_channels, num_classes=num_classes, alpha=alpha)
    gen = torch.Generator().manual_seed(seed + 7919)
    randomize_bn(model, gen)
    with torch.no_grad():
        model.fc.weight.copy_(torch.randn(model.fc.weight.shape, generator=gen))
        model.fc.bias.copy_((torch.rand(model.fc.bias.shape, generator=gen) - 0.5) * 0.2)
    return model.eval()


if __name__ == '__main__':
    torch.set_num_threads(1)
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        m = OctNetMini(in_channels=3, num_classes=10, alpha=a).eval()
        n = count_params(m)
        print(f'alpha={a}: trainable params {n}')
        assert n == 224842, n
        for (H, W) in ((32, 32), (9, 7), (7, 7), (33, 33), (8, 8)):
            with torch.no_grad():
                out = m(torch.randn(2, 3, H, W))
            assert out.shape == (2, 10), out.shape
    m = OctNetMini(in_channels=3, num_classes=10, alpha=0.5)
    m(torch.randn(2, 3, 32, 32), verbose=True)
    print('ok')
