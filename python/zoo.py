#!/usr/bin/python3
# Run with Debian's interpreter /usr/bin/python3 (it has torch 1.13 CPU and torchvision);
# the `python3` first on PATH may be another interpreter that cannot import torch.
"""zoo.py — the networks octcl imports from ONNX, as PyTorch modules (issue 10).

Three families, each exported by python/make_onnx.py for the parity tests and benchmarks:

(a) The seed's classes, from python/octnet.py unchanged (OctaveConv2d, OctaveConvBlock,
    SplitMergeHL, OctNetMini), plus two small networks around the block and the
    split/merge so that each class appears in an exported graph on its own:
    SeedBlockNet and SeedSplitMergeNet; and FanOutNet, values read by several nodes (an
    importer may fuse into none of them).  Channel split: Python round(); strided paths
    convolve with stride s; Up resizes to the high band's size (any input size works).

(b) The d-li14/octconv.pytorch family, written here from its architecture (same
    constructor arguments and defaults, same module names, same forward graph):
        OctaveConv, Conv_BN, Conv_BN_ACT      the layer, + BN per band, + ReLU
        Bottleneck, OctResNet, oct_resnet26/50/101/152/200
        OctMobileNet, oct_mobilenet           MobileNet v1 with depthwise OctConv
    Rules of that family (they differ from the seed's):
      - channel split: low = int(alpha * C) (floor), high = C - low;
      - stride 2 is AvgPool2d(2) THEN a stride-1 convolution (H->H: pool, conv;
        H->L: pool, pool, conv; L->L: pool, conv; L->H: conv with no Up);
      - H->L is AvgPool2d(2) then conv; L->H (stride 1) is conv then nearest
        Upsample(scale_factor=2), so the high band must be exactly twice the low band:
        every high band an OctConv with a low input sees must have even H and W.
        Valid input sizes (alpha > 0; any size at alpha 0) are given by
        OctResNet.valid_size / OctMobileNet.valid_size: for OctResNet ceil(H/4) (the
        size after the stem) must be a multiple of 8 (224, 64, 63, 61, 32, 31, 29 ...;
        not 65 or 57), for OctMobileNet ceil(H/2) = 16k or 16k + 1, k >= 1 (224, 64, 63,
        65, 66, 33, 32 ...; not 57 or 61).
    What is ours, not theirs (the last four where their code cannot run as written):
      - `alpha` (default 0.5) replaces their hard-coded 0.5 of the octave layers;
        alpha = 0 gives the plain network (no low band anywhere).  0 <= alpha < 1.
      - `width` (OctResNet, default 64) / `width_mult` (OctMobileNet, default 1.0)
        shrink the channels for quick tests; the defaults are their networks.
      - BatchNorm channel counts use the conv's split (C - int(alpha*C)); theirs use
        int(C*(1-alpha)), which only differs where their code fails to run.
      - depthwise OctConv (groups == in_channels == out_channels, alpha_in == alpha_out,
        as their MobileNet builds it): each band is its own depthwise conv, no H->L or
        L->H path (a depthwise conv keeps channel i in channel i, so no channel changes
        band).  Their code gives every path groups=in_channels, which PyTorch rejects
        (the band convs have fewer channels than groups).  Other groups > 1 go to all four
        paths as in theirs and must divide each band's channels.
      - zero_init_residual zeroes conv3's BatchNorm weights (theirs names a missing bn3).
      - They have no BasicBlock (OctResNet references one but never defines it), so there
        is none here either: Oct-ResNet is Bottleneck-only, 26/50/101/152/200.

(c) torchvision's plain ResNets: tv_resnet(18|34|50|101|152) is torchvision.models.resnetN
    (weights=None) at the standard width, and TVResNet (the same graph built from
    torchvision's own BasicBlock/Bottleneck) at a reduced width.

Helpers for the exports: randomize (seeded weights, non-trivial BatchNorm statistics),
calibrate (unit-scale activations, centred logits), make_traceable (the seed's split()
under torch.onnx.export), count_macs (forward hooks).  `python/zoo.py` runs a self-check.
"""
import math

import torch
import torch.nn as nn

from octnet import OctaveConv2d, OctaveConvBlock, SplitMergeHL, OctNetMini  # noqa: F401  (re-exported)


# ----------------------------------------------------------------------------------------------
# (a) seed: small networks around OctaveConvBlock and SplitMergeHL

class SeedBlockNet(nn.Module):
    """Stem Conv3x3(3->16)+BN+ReLU, split(alpha), three OctaveConvBlocks, merge; the
    output is the merged feature map (B, 16, H', W'), no pooling, so every position of
    the nearest-Up resize is compared.

        b1: 16 -> 24, 3x3, stride 2, pad 1, alpha -> alpha
        b2: 24 -> 20, 5x5, stride 1, pad 2, alpha -> alpha/2   (alpha_in != alpha_out)
        b3: 20 -> 16, 1x1, stride 1, pad 0, alpha/2 -> alpha/2
    """

    def __init__(self, in_channels=3, alpha=0.5):
        super().__init__()
        self.alpha = alpha
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.sm_in = SplitMergeHL(alpha=alpha)
        self.b1 = OctaveConvBlock(16, 24, alpha, alpha, kernel_size=3, stride=2, padding=1)
        self.b2 = OctaveConvBlock(24, 20, alpha, alpha / 2, kernel_size=5, stride=1, padding=2)
        self.b3 = OctaveConvBlock(20, 16, alpha / 2, alpha / 2, kernel_size=1, stride=1, padding=0)
        self.sm_out = SplitMergeHL(alpha=alpha / 2)

    def forward(self, x):                               # x: (B, C, H, W)
        x = self.stem(x)                                # (B, 16, H, W)
        x_h, x_l = self.sm_in.split(x)
        x_h, x_l = self.b1(x_h, x_l)
        x_h, x_l = self.b2(x_h, x_l)
        x_h, x_l = self.b3(x_h, x_l)
        return self.sm_out.merge(x_h, x_l)              # (B, 16, (H-1)//2+1, (W-1)//2+1)


class SeedSplitMergeNet(nn.Module):
    """Conv3x3(3->12, bias) -> split(alpha) -> ReLU on the high band, Conv3x3 on the low
    band -> merge -> Conv1x1(12->8, bias).  Output (B, 8, H, W): split's slice + AvgPool
    and merge's nearest resize to the (possibly odd) high size + Concat, unpooled."""

    def __init__(self, in_channels=3, alpha=0.5):
        super().__init__()
        self.alpha = alpha
        self.conv_in = nn.Conv2d(in_channels, 12, 3, padding=1, bias=True)
        self.sm = SplitMergeHL(alpha=alpha)
        c_l = int(round(12 * alpha))
        self.conv_l = nn.Conv2d(c_l, c_l, 3, padding=1, bias=True) if c_l > 0 else None
        self.relu = nn.ReLU(inplace=False)
        self.conv_out = nn.Conv2d(12, 8, 1, bias=True)

    def forward(self, x):                               # x: (B, C, H, W)
        x_h, x_l = self.sm.split(self.conv_in(x))
        x_h = self.relu(x_h)
        if x_l is not None:
            x_l = self.conv_l(x_l)
        return self.conv_out(self.sm.merge(x_h, x_l))   # (B, 8, H, W)


class FanOutNet(nn.Module):
    """Values read by several nodes, where an importer's fusions must stop: a conv's
    output read by a 1x1 conv and then by BatchNorm + ReLU (neither may fold into the
    conv), the sum read by two identical AvgPool2d(2) (one pool suffices) and a 3x3 conv,
    the second pool rectified after a conv read the first (the ReLU may not go into the
    shared pool), a conv's output read by a conv before it is added to a residual (the
    add may not become that conv's epilogue).  Output (B, 8, H/2, W/2); even H and W
    not needed (the pools floor)."""

    def __init__(self, in_channels=3, c=8):
        super().__init__()
        self.conv_a = nn.Conv2d(in_channels, c, 3, padding=1, bias=True)
        self.conv_b = nn.Conv2d(c, c, 1, bias=True)
        self.bn = nn.BatchNorm2d(c)
        self.conv_c = nn.Conv2d(c, c, 1, bias=True)
        self.conv_d = nn.Conv2d(c, c, 3, padding=1, bias=True)
        self.conv_e = nn.Conv2d(c, c, 1, bias=True)
        self.conv_f = nn.Conv2d(c, c, 1, bias=True)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        a = self.conv_a(x)
        b = self.conv_b(a)                       # reads a first
        s = b + torch.relu(self.bn(a))          # then BatchNorm and ReLU of a
        d = self.conv_d(s)
        p1 = self.pool(s)
        t = self.conv_c(p1) + torch.relu(self.pool(s))   # the same pool again, rectified
        e = self.conv_e(t)
        f = self.conv_f(e)                       # reads e first
        u = e + t                                # then e + a residual
        return f + u + self.pool(d)


class _TraceableSplitMergeHL(SplitMergeHL):
    """octnet.SplitMergeHL with split() reading the channel count as a Python int.

    torch.onnx.export traces x.shape as tensors, and octnet's split() calls round() on
    C * alpha, which a tensor does not define (TypeError).  Same maths, same slices."""

    def split(self, x):
        c = int(x.shape[1])
        c_l = int(round(c * self.alpha))
        x_h = x[:, :c - c_l]
        x_l = self.down(x[:, c - c_l:]) if c_l > 0 else None
        return x_h, x_l


def make_traceable(model):
    """Let torch.onnx.export trace the seed's classes: every octnet.SplitMergeHL in model
    becomes _TraceableSplitMergeHL (no parameters, identical outputs).  In place."""
    for m in model.modules():
        if type(m) is SplitMergeHL:
            m.__class__ = _TraceableSplitMergeHL
    return model


# ----------------------------------------------------------------------------------------------
# (b) the d-li14/octconv.pytorch family

def band_split(channels, alpha):
    """(high, low) channel counts: low = int(alpha * channels), floor as in d-li14's code."""
    low = int(alpha * channels)
    return channels - low, low


class OctaveConv(nn.Module):
    """OctConv with d-li14's rules: input x is a tensor (high band only) or a tuple
    (x_h, x_l); the output is always the tuple (y_h, y_l), y_l None when alpha_out = 0.

        stride 1:  y_h = Up(L2H(x_l)) + H2H(x_h)          y_l = H2L(Pool(x_h)) + L2L(x_l)
        stride 2:  y_h = L2H(x_l) + H2H(Pool(x_h))        y_l = H2L(Pool(Pool(x_h))) + L2L(Pool(x_l))

    Pool = AvgPool2d(2, 2), Up = nearest Upsample(scale_factor=2), every conv stride 1."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1, padding=0,
                 dilation=1, groups=1, bias=False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'OctaveConv: stride {stride}; the family defines 1 and 2 only')
        if not (0 <= alpha_in <= 1 and 0 <= alpha_out <= 1):
            raise ValueError(f'OctaveConv: alpha_in {alpha_in}, alpha_out {alpha_out}: both must be in [0, 1]')
        self.downsample = nn.AvgPool2d(kernel_size=(2, 2), stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        self.stride = stride
        self.alpha_in, self.alpha_out = alpha_in, alpha_out
        cin_h, cin_l = band_split(in_channels, alpha_in)
        cout_h, cout_l = band_split(out_channels, alpha_out)
        self.cin_h, self.cin_l, self.cout_h, self.cout_l = cin_h, cin_l, cout_h, cout_l
        self.depthwise = groups > 1 and groups == in_channels == out_channels

        def conv(ci, co, g):
            return nn.Conv2d(ci, co, kernel_size, 1, padding, dilation, g, bias)

        if self.depthwise:
            if alpha_in != alpha_out:
                raise ValueError(f'OctaveConv: depthwise (groups {groups}) needs alpha_in == alpha_out, '
                                 f'got {alpha_in} and {alpha_out}')
            self.conv_l2l = conv(cin_l, cout_l, cin_l) if cin_l > 0 else None
            self.conv_l2h = None
            self.conv_h2l = None
            self.conv_h2h = conv(cin_h, cout_h, cin_h) if cin_h > 0 else None
        else:
            # a path exists when both its bands do (alpha 0 / 1 remove a band), as theirs
            self.conv_l2l = conv(cin_l, cout_l, groups) if alpha_in > 0 and alpha_out > 0 else None
            self.conv_l2h = conv(cin_l, cout_h, groups) if alpha_in > 0 and alpha_out < 1 else None
            self.conv_h2l = conv(cin_h, cout_l, groups) if alpha_in < 1 and alpha_out > 0 else None
            self.conv_h2h = conv(cin_h, cout_h, groups) if alpha_in < 1 and alpha_out < 1 else None

    def forward(self, x):
        x_h, x_l = x if isinstance(x, tuple) else (x, None)    # (B, Ch, H, W), (B, Cl, H/2, W/2)
        y_h = y_l = None
        if x_h is not None:
            if self.stride == 2:
                x_h = self.downsample(x_h)
            if self.conv_h2h is not None:
                y_h = self.conv_h2h(x_h)
            if self.conv_h2l is not None:
                y_l = self.conv_h2l(self.downsample(x_h))
        if x_l is not None:
            if self.conv_l2h is not None:
                x_l2h = self.conv_l2h(x_l)
                if self.stride == 1:
                    x_l2h = self.upsample(x_l2h)
                y_h = x_l2h if y_h is None else x_l2h + y_h
            if self.conv_l2l is not None:
                x_l2l = self.conv_l2l(self.downsample(x_l) if self.stride == 2 else x_l)
                y_l = x_l2l if y_l is None else y_l + x_l2l
        return y_h, y_l


class Conv_BN(nn.Module):
    """OctaveConv + a BatchNorm per band (bn_h / bn_l; None where the band is empty)."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1, padding=0,
                 dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv = OctaveConv(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                               dilation, groups, bias)
        self.bn_h = None if alpha_out == 1 else norm_layer(self.conv.cout_h)
        self.bn_l = None if alpha_out == 0 else norm_layer(self.conv.cout_l)

    def forward(self, x):
        x_h, x_l = self.conv(x)
        x_h = self.bn_h(x_h) if x_h is not None else None
        x_l = self.bn_l(x_l) if x_l is not None else None
        return x_h, x_l


class Conv_BN_ACT(Conv_BN):
    """Conv_BN + an activation (ReLU) per band."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1, padding=0,
                 dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU):
        super().__init__(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding, dilation,
                         groups, bias, norm_layer)
        self.act = activation_layer(inplace=True)

    def forward(self, x):
        x_h, x_l = super().forward(x)
        x_h = self.act(x_h) if x_h is not None else None
        x_l = self.act(x_l) if x_l is not None else None
        return x_h, x_l


class Bottleneck(nn.Module):
    """conv1 1x1 (alpha_in -> alpha_out), conv2 3x3 (stride), conv3 1x1 (+BN, no ReLU),
    residual add per band, ReLU.  conv2/conv3 run at `alpha` -> `alpha` (their 0.5),
    or 0 -> 0 in the output stage (output=True)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, alpha_in=0.5,
                 alpha_out=0.5, norm_layer=None, output=False, alpha=0.5):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.)) * groups
        inner = 0 if output else alpha
        self.conv1 = Conv_BN_ACT(inplanes, width, kernel_size=1, alpha_in=alpha_in, alpha_out=alpha_out,
                                 norm_layer=norm_layer)
        self.conv2 = Conv_BN_ACT(width, width, kernel_size=3, stride=stride, padding=1, groups=groups,
                                 norm_layer=norm_layer, alpha_in=inner, alpha_out=inner)
        self.conv3 = Conv_BN(width, planes * self.expansion, kernel_size=1, norm_layer=norm_layer,
                             alpha_in=inner, alpha_out=inner)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity_h = x[0] if isinstance(x, tuple) else x
        identity_l = x[1] if isinstance(x, tuple) else None
        x_h, x_l = self.conv1(x)
        x_h, x_l = self.conv2((x_h, x_l))
        x_h, x_l = self.conv3((x_h, x_l))
        if self.downsample is not None:
            identity_h, identity_l = self.downsample(x)
        x_h = x_h + identity_h
        x_l = x_l + identity_l if identity_l is not None else None
        x_h = self.relu(x_h)
        x_l = self.relu(x_l) if x_l is not None else None
        return x_h, x_l


class OctResNet(nn.Module):
    """Stem Conv7x7/2 + BN + ReLU + MaxPool3x3/2, four stages of Bottlenecks (layer1 goes
    0 -> alpha, layer4 alpha -> 0 and then plain), AdaptiveAvgPool(1), view, Linear."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
                 norm_layer=None, alpha=0.5, width=64):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if not 0 <= alpha < 1:
            raise ValueError(f'OctResNet: alpha {alpha}: must be in [0, 1) (layer4 needs a high band)')
        self.alpha = alpha
        self.inplanes = width
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0], norm_layer=norm_layer, alpha_in=0)
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2, norm_layer=norm_layer)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2, norm_layer=norm_layer)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2, norm_layer=norm_layer, alpha_out=0,
                                       output=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    for bn in (m.conv3.bn_h, m.conv3.bn_l):
                        if bn is not None:
                            nn.init.constant_(bn.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, alpha_in=None, alpha_out=None, norm_layer=None,
                    output=False):
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        alpha_in = self.alpha if alpha_in is None else alpha_in
        alpha_out = self.alpha if alpha_out is None else alpha_out
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(Conv_BN(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride,
                                               alpha_in=alpha_in, alpha_out=alpha_out))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, alpha_in, alpha_out,
                        norm_layer, output, alpha=self.alpha)]
        self.inplanes = planes * block.expansion
        inner = 0 if output else self.alpha
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                norm_layer=norm_layer, alpha_in=inner, alpha_out=inner, output=output,
                                alpha=self.alpha))
        return nn.Sequential(*layers)

    @staticmethod
    def valid_size(h, w, alpha=0.5):
        """True when an H x W input runs: at alpha > 0 the high band of every octave stage
        must be even (Up doubles the low band), i.e. ceil(H/4) and ceil(W/4) -- the size
        after the stride-2 stem and max pool -- are multiples of 8 (and at least 8)."""
        if alpha == 0:
            return h >= 1 and w >= 1
        return all(-(-n // 4) >= 8 and (-(-n // 4)) % 8 == 0 for n in (h, w))

    def forward(self, x):                               # x: (B, 3, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x_h, x_l = self.layer1(x)
        x_h, x_l = self.layer2((x_h, x_l))
        x_h, x_l = self.layer3((x_h, x_l))
        x_h, x_l = self.layer4((x_h, x_l))
        x = self.avgpool(x_h)
        x = x.view(x.size(0), -1)
        return self.fc(x)                               # (B, num_classes)


def _no_pretrained(pretrained):
    if pretrained:
        raise ValueError('pretrained=True: zoo.py has no trained weights')


def oct_resnet26(pretrained=False, **kwargs):
    """Oct-ResNet-26: Bottleneck, [2, 2, 2, 2]."""
    _no_pretrained(pretrained)
    return OctResNet(Bottleneck, [2, 2, 2, 2], **kwargs)


def oct_resnet50(pretrained=False, **kwargs):
    """Oct-ResNet-50: Bottleneck, [3, 4, 6, 3]."""
    _no_pretrained(pretrained)
    return OctResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


def oct_resnet101(pretrained=False, **kwargs):
    """Oct-ResNet-101: Bottleneck, [3, 4, 23, 3]."""
    _no_pretrained(pretrained)
    return OctResNet(Bottleneck, [3, 4, 23, 3], **kwargs)


def oct_resnet152(pretrained=False, **kwargs):
    """Oct-ResNet-152: Bottleneck, [3, 8, 36, 3]."""
    _no_pretrained(pretrained)
    return OctResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


def oct_resnet200(pretrained=False, **kwargs):
    """Oct-ResNet-200: Bottleneck, [3, 24, 36, 3]."""
    _no_pretrained(pretrained)
    return OctResNet(Bottleneck, [3, 24, 36, 3], **kwargs)


def conv_bn(inp, oup, stride):
    """MobileNet's plain stem: Conv3x3(stride, pad 1) + BN + ReLU."""
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU(inplace=True))


def conv_dw(inp, oup, stride, alpha_in=0.5, alpha_out=0.5):
    """Depthwise OctConv 3x3 (alpha_in -> alpha_in) + BN + ReLU, then 1x1 OctConv
    (alpha_in -> alpha_out) + BN + ReLU."""
    return nn.Sequential(
        Conv_BN_ACT(inp, inp, kernel_size=3, stride=stride, padding=1, groups=inp, bias=False, alpha_in=alpha_in,
                    alpha_out=alpha_in),
        Conv_BN_ACT(inp, oup, kernel_size=1, alpha_in=alpha_in, alpha_out=alpha_out))


class OctMobileNet(nn.Module):
    """Oct-MobileNet v1: conv_bn(3, 32, /2), 13 conv_dw (the first 0 -> alpha, the
    twelfth alpha -> 0, the last two plain), AdaptiveAvgPool(1), view, Linear."""

    # (in, out, stride, alpha_in, alpha_out); None stands for `alpha`
    CFG = [(32, 64, 1, 0, None), (64, 128, 2, None, None), (128, 128, 1, None, None), (128, 256, 2, None, None),
           (256, 256, 1, None, None), (256, 512, 2, None, None), (512, 512, 1, None, None),
           (512, 512, 1, None, None), (512, 512, 1, None, None), (512, 512, 1, None, None),
           (512, 512, 1, None, 0), (512, 1024, 2, 0, 0), (1024, 1024, 1, 0, 0)]

    def __init__(self, num_classes=1000, alpha=0.5, width_mult=1.0):
        super().__init__()
        if not 0 <= alpha < 1:
            raise ValueError(f'OctMobileNet: alpha {alpha}: must be in [0, 1)')
        self.alpha = alpha

        def ch(c):  # width_mult, rounded to a multiple of 8 (at least 8)
            return c if width_mult == 1.0 else max(8, int(c * width_mult + 4) // 8 * 8)

        def a(v):
            return alpha if v is None else v

        blocks = [conv_bn(3, ch(32), 2)]
        blocks += [conv_dw(ch(i), ch(o), s, a(ai), a(ao)) for (i, o, s, ai, ao) in self.CFG]
        self.features = nn.Sequential(*blocks)
        self.out_channels = ch(1024)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.out_channels, num_classes)

    @staticmethod
    def valid_size(h, w, alpha=0.5):
        """True when an H x W input runs: at alpha > 0, with s = ceil(H/2) (after the
        stride-2 stem), the high bands of the three octave stages, s//2, s//4 and s//8,
        must be even (the first octave conv has no low input, so s itself may be odd):
        s % 16 in (0, 1) and s >= 16; the same for W."""
        if alpha == 0:
            return h >= 1 and w >= 1
        return all(-(-n // 2) >= 16 and (-(-n // 2)) % 16 in (0, 1) for n in (h, w))

    def forward(self, x):                               # x: (B, 3, H, W)
        x_h, x_l = self.features(x)
        x = self.avgpool(x_h)
        x = x.view(-1, self.out_channels)
        return self.fc(x)                               # (B, num_classes)


def oct_mobilenet(**kwargs):
    """Oct-MobileNet v1."""
    return OctMobileNet(**kwargs)


# ----------------------------------------------------------------------------------------------
# (c) torchvision's plain ResNets

_TV_LAYERS = {18: ('BasicBlock', [2, 2, 2, 2]), 34: ('BasicBlock', [3, 4, 6, 3]), 50: ('Bottleneck', [3, 4, 6, 3]),
              101: ('Bottleneck', [3, 4, 23, 3]), 152: ('Bottleneck', [3, 8, 36, 3])}


class TVResNet(nn.Module):
    """torchvision.models.ResNet's graph at stem width `width` (torchvision: 64), built
    from torchvision's own BasicBlock / Bottleneck: strided 3x3 convs (no pooling before
    them), downsample = Conv1x1(stride) + BN, flatten, Linear."""

    def __init__(self, depth=18, num_classes=1000, width=64):
        super().__init__()
        from torchvision.models import resnet as tvr
        block_name, layers = _TV_LAYERS[depth]
        block = getattr(tvr, block_name)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages = []
        for i, n in enumerate(layers):
            planes, stride = width << i, 1 if i == 0 else 2
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                           nn.BatchNorm2d(planes * block.expansion))
            blocks = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            blocks += [block(self.inplanes, planes) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)

    def forward(self, x):                               # x: (B, 3, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)                               # (B, num_classes)


def tv_resnet(depth, num_classes=1000, width=64):
    """torchvision.models.resnet<depth>(weights=None) at width 64, else TVResNet."""
    if width == 64:
        import torchvision
        return getattr(torchvision.models, f'resnet{depth}')(weights=None, num_classes=num_classes)
    return TVResNet(depth, num_classes, width)


# ----------------------------------------------------------------------------------------------
# Random weights that make a strong parity test

def randomize(model, seed):
    """Deterministic random weights for parity tests, in place; returns the model in eval().

    - Conv2d weights ~ N(0, 2 / fan_in) (Kaiming, ReLU gain), where fan_in of an OctConv
      path is the whole layer's (all input channels of both bands / groups x k x k), so
      H->H + Up(L->H) keeps the activations' scale instead of doubling it per layer;
      conv biases ~ N(0, 0.1).
    - BatchNorm: running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5),
      bias ~ N(0, 0.1): folding errors in any of the four show in the logits.
    - Linear: weight ~ N(0, 1 / in_features), bias ~ N(0, 0.1): logits on the scale of the
      features, so they depend on the input rather than on the bias."""
    gen = torch.Generator().manual_seed(int(seed) * 7919 + 17)
    fan = {}
    for m in model.modules():   # the whole OctConv layer's fan-in for each of its paths
        if isinstance(m, OctaveConv):
            paths, cin = (m.conv_h2h, m.conv_h2l, m.conv_l2l, m.conv_l2h), m.cin_h + m.cin_l
        elif isinstance(m, OctaveConv2d):
            paths, cin = (m.hh, m.hl, m.ll, m.lh), m.cin_h + m.cin_l
        else:
            continue
        for c in paths:
            if c is not None:
                fan[c] = (cin // c.groups if not getattr(m, 'depthwise', False) else 1) * \
                    c.kernel_size[0] * c.kernel_size[1]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                f = fan.get(m, m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / f))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / math.sqrt(m.in_features))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    return model.eval()


def calibrate(model, x):
    """Rescale every Conv2d's weight (and bias) so that its output over x has unit rms,
    in one forward pass in eval(): a hook divides the conv's output by its rms as it goes,
    so the layers after it see the rescaled activations (LSUV-style).  Deep residual nets
    then keep activations of order 1 -- like a trained net whose BatchNorm statistics
    match its activations -- so BN's mean and bias (~0.1) still move the logits by a
    few percent instead of vanishing under activations in the thousands.
    Every Linear's bias is shifted by -W @ (its mean input over x): after ReLU and global
    pooling the features share a large positive mean, and without the shift the logits
    are mostly W @ mean, the same for every image.  In place."""
    def hook(mod, inp, out):
        rms = float(out.double().pow(2).mean().sqrt())
        if rms > 0:
            with torch.no_grad():
                mod.weight.div_(rms)
                if mod.bias is not None:
                    mod.bias.div_(rms)
            return out / rms
        return out

    def center(mod, inp, out):
        if mod.bias is None:
            return out
        shift = mod.weight.double() @ inp[0].double().reshape(-1, mod.in_features).mean(0)
        with torch.no_grad():
            mod.bias.sub_(shift.to(mod.bias.dtype))
        return out - shift.to(out.dtype)

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(center) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    return model


def count_macs(model, x):
    """Multiply-accumulates of one forward pass over x, per image: every Conv2d (output
    elements x in/groups x kh x kw) and Linear (out x in), counted by forward hooks."""
    total = [0]

    def conv_hook(mod, inp, out):
        total[0] += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]

    def linear_hook(mod, inp, out):
        total[0] += out.numel() * mod.in_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return total[0] // x.shape[0]


if __name__ == '__main__':
    # Self-check: the architectures against the published figures, and valid_size against
    # what really runs.  d-li14's README: Oct-ResNet-50 (alpha 0.5) and ResNet-50 have
    # 25.557M parameters and 2.367 / 4.089 GFLOPs (multiply-accumulates) at 224x224.
    import sys
    torch.set_num_threads(2)
    fails = 0

    def check(what, got, want):
        global fails
        ok = got == want
        fails += not ok
        print(f'{what}: {got}{"" if ok else f", expected {want} FAIL"}')

    x224 = torch.randn(1, 3, 224, 224)
    for a, macs in ((0.5, 2367143936), (0.0, 4089184256)):
        m = oct_resnet50(alpha=a).eval()
        check(f'oct_resnet50 alpha {a} parameters', sum(p.numel() for p in m.parameters()), 25557032)
        check(f'oct_resnet50 alpha {a} MACs at 224', count_macs(m, x224), macs)
    m = tv_resnet(50).eval()
    check('torchvision resnet50 MACs at 224', count_macs(m, x224), 4089184256)
    for a in (0.5, 0.0):   # Oct-MobileNet keeps MobileNet v1's 4.23M parameters at every alpha
        check(f'oct_mobilenet alpha {a} parameters', sum(p.numel() for p in oct_mobilenet(alpha=a).parameters()),
              4231976)
    for name, make, cls in (('oct_resnet26 w8', lambda: oct_resnet26(width=8, num_classes=10), OctResNet),
                            ('oct_mobilenet w8', lambda: oct_mobilenet(width_mult=0.25, num_classes=10),
                             OctMobileNet)):
        m = make().eval()
        wrong = []
        for n in range(1, 80):
            try:
                with torch.no_grad():
                    m(torch.randn(1, 3, n, 32))
                runs = True
            except RuntimeError:
                runs = False
            if runs != cls.valid_size(n, 32):
                wrong.append(n)
        check(f'{name}: heights 1..79 (width 32) where valid_size disagrees with a forward pass', wrong, [])
    sys.exit(1 if fails else 0)
