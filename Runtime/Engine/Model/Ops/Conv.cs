using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>conv2d</c>: PyTorch's Conv2d init (kaiming_uniform_(a=√5), bias U(±1/√fan_in)).</summary>
internal sealed class ConvModule : OpModule
{
    public override OpId Op => OpId.Conv2d;
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"nn.Conv2d({n.Input.Dims[0]}, {n.Attr<long>("out")}, {n.Attr<long>("kernel")}, stride={n.Attr<long>("stride")}, " +
        $"padding={(n.Node.Attrs.ContainsKey("padding_end") ? "'same'" : n.Attr<long>("padding"))}, groups={n.Attr<long>("groups")}, bias={ExportNode.Py(n.Has("bias"))})");
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"nn.Conv2d({n.Input.Dims[0]}, {n.Attr<long>("out")}, {n.Attr<long>("kernel")}, " +
        // stride and padding by position: a named `padding: 0` would also convert to the Padding enum (ambiguous overloads).
        (n.Node.Attrs.ContainsKey("padding_end") ? "padding: Padding.Same" : $"{n.Attr<long>("stride")}, {n.Attr<long>("padding")}") +
        $", groups: {n.Attr<long>("groups")}, bias: {Cs.Literal(n.Has("bias"))})");
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long k = n.Attr<long>("kernel"), s = n.Attr<long>("stride"), p = n.Attr<long>("padding");
        // padding_end (an even kernel with padding: same) pads the extra row and column at the bottom/right; pads are [top, left, bottom, right].
        var end = n.Node.Attrs.ContainsKey("padding_end") ? n.Attr<long>("padding_end") : p;
        string[] inputs = n.Has("bias") ? [x[0], g.Weight("weight"), g.Weight("bias")] : [x[0], g.Weight("weight")];
        return g.Node("Conv", inputs, ("kernel_shape", new[] { k, k }), ("strides", new[] { s, s }), ("pads", new[] { p, p, end, end }), ("group", n.Attr<long>("groups")));
    });
    public override void Init(NodeTensors t) => nn.init.layer_default_(t.P("weight"), t.Opt("bias"));
    /// <summary>A product over in/groups·k² values into <c>out</c> channels; a depthwise one stays float32 on the CPU.</summary>
    public override AmpPolicy Amp(NodeTensors t)
    {
        var w = t.P("weight");
        return AmpPolicy.Product(w.size(1) * w.size(2) * w.size(3), w.size(0), depthwise: t.Attr<long>("groups") > 1 && w.size(1) == 1);
    }
    public override NodeKernel Create(NodeTensors t)
    {
        long stride = t.Attr<long>("stride"), padding = t.Attr<long>("padding"), groups = t.Attr<long>("groups");
        // padding_end (only on an even kernel with padding: same) pads one more at the bottom/right: libtorch's own padding='same'.
        if (t.Node.Attrs.ContainsKey("padding_end")) return new SameConv(t.P("weight"), t.Opt("bias"), groups);
        return new Conv(t.P("weight"), t.Opt("bias"), stride, padding, groups);
    }

    /// <summary>Stride-1 convolution with PyTorch's padding='same' (F.conv2d(..., padding="same")), for even kernels.</summary>
    sealed class SameConv(Tensor w, Tensor? b, long groups) : NodeKernel
    {
        readonly long[] _stride = { 1, 1 }, _dilation = { 1, 1 };
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => F.conv2d(x, w, b, _stride, nn.Padding.Same, _dilation, groups);
    }

    /// <summary>
    /// 2-D convolution. A depthwise one on the CPU with stride 1 runs on the shim's own kernels
    /// (<see cref="nn.functional.depthwise_conv2d"/>): libtorch 1.13's oneDNN backward for it is slow (measured on
    /// [128, 128, 14, 14], 5×5, channels-last, 1 thread, CPU time: forward + backward 31–32 ms there, 9.5 ms with the
    /// shim's kernels). A strided one adds its bias after the convolution rather than inside it: libtorch 1.13's CPU
    /// depthwise backward with a bias takes ~5 ms more than without one plus a separate bias add, whose gradient is one
    /// sum (same shape, 2 threads: 23.5 against 18.7 ms forward + backward). A pointwise one (1×1, stride 1, no padding, one
    /// group) is <see cref="nn.functional.pointwise_conv2d"/>: on channels-last float32 CPU values, oneDNN's sgemm over the
    /// pixels instead of libtorch 1.13's oneDNN convolution (the default ConvMixer's [128, 128, 14, 14] → 128 with bias, 1 thread,
    /// median process CPU time: forward 10.6–11.1 ms + backward 20.0–20.7 ms against the convolution's 10.3–10.5 + 21.2–21.3 ms,
    /// about even; the gain is in the 2-thread training step, 977–978 against 1,026–1,080 ms; figures and commands in
    /// src/linear.cpp). The value is the same either way (to float rounding).
    /// </summary>
    sealed class Conv(Tensor w, Tensor? b, long stride, long padding, long groups) : NodeKernel
    {
        readonly long[] _stride = { stride, stride }, _padding = { padding, padding }, _dilation = { 1, 1 };
        readonly long[] _biasShape = { 1, -1, 1, 1 };
        readonly bool _depthwise = groups > 1 && w.size(1) == 1 && groups == w.size(0);
        readonly bool _pointwise = groups == 1 && stride == 1 && padding == 0 && w.size(2) == 1 && w.size(3) == 1;

        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (_pointwise) return F.pointwise_conv2d(x, w, b);
            if (!_depthwise || w.device_type != DeviceType.CPU) return F.conv2d(x, w, b, _stride, _padding, _dilation, groups);
            if (stride == 1) return F.depthwise_conv2d(x, w, b, padding);
            if (b is null) return F.conv2d(x, w, null, _stride, _padding, _dilation, groups);
            var o = F.conv2d(x, w, null, _stride, _padding, _dilation, groups);
            using var bias = b.view(_biasShape);
            return o.add_(bias);
        }
    }
}
