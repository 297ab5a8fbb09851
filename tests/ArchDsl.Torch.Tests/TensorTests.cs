using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Torch.Tests;

public class TensorTests : TorchTest
{
    /// <summary>torch.device's forms; anything else, an index that is no decimal number included, is an ArgumentException that names the text (never a FormatException).</summary>
    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData(" CUDA ", "cuda")]
    [InlineData("cuda:1", "cuda:1")]
    [InlineData("cuda:x", null)]
    [InlineData("cuda:-1", null)]
    [InlineData("cuda:", null)]
    [InlineData("cuda:+1", null)]
    [InlineData("cuda:99999999999", null)]
    [InlineData("gpu", null)]
    public void Device_parse_reads_torch_device_forms_and_names_anything_else(string text, string? expected)
    {
        if (expected is not null) { Assert.Equal(expected, Device.Parse(text).ToString()); return; }
        var e = Assert.Throws<ArgumentException>(() => Device.Parse(text));
        Assert.StartsWith($"unknown device '{text}' (expected cpu, cuda or cuda:N", e.Message);
    }

    [Fact]
    public void Create_copy_back_and_query()
    {
        using var scope = NewDisposeScope();
        var t = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(DeviceType.CPU, t.device_type);
        Assert.Equal("cpu", t.device.ToString());
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.data<float>());
        Assert.Equal(new float[] { 4, 5, 6 }, t[1].ToArray<float>());
        Assert.Equal(6f, t[1, 2].item<float>());
        Assert.Equal(21.0, t.sum().item<double>());

        var l = tensor(new long[] { 7, -8 });
        Assert.Equal(ScalarType.Int64, l.dtype);
        Assert.Equal(new long[] { 7, -8 }, l.data<long>());
        Assert.Throws<InvalidOperationException>(() => l.data<float>());

        Assert.Equal(new float[] { 0, 0, 0 }, zeros(3).data<float>());
        Assert.Equal(new float[] { 1, 1 }, ones(new long[] { 2 }).data<float>());
        Assert.Equal(new long[] { 0, 1, 2, 3 }, arange(4L).data<long>());
        Assert.Equal(new float[] { 0, 0.5f, 1f }, arange(0.0, 1.5, 0.5).data<float>());
        Assert.Equal(new double[] { 2.5, 2.5 }, full(new long[] { 2 }, 2.5, ScalarType.Float64).data<double>());
        Assert.Equal(new long[] { 3, 4, 5 }, randn(3, 4, 5).shape);
    }

    [Fact]
    public void Memory_formats_change_strides_not_values()
    {
        using var scope = NewDisposeScope();
        var x = arange(0.0, 2 * 3 * 4 * 5, 1.0).reshape(2, 3, 4, 5);
        Assert.Equal(new long[] { 60, 20, 5, 1 }, x.stride());
        var nhwc = x.to(channels_last);
        Assert.Equal(new long[] { 2, 3, 4, 5 }, nhwc.shape);
        Assert.Equal(new long[] { 60, 1, 15, 3 }, nhwc.stride());
        Assert.True(nhwc.is_contiguous(channels_last));
        Assert.False(nhwc.is_contiguous());
        Assert.Equal(x.data<float>(), nhwc.contiguous().data<float>());           // host copies are in logical order
        Assert.Equal(new long[] { 60, 20, 5, 1 }, nhwc.contiguous(contiguous_format).stride());

        // One channel: the default layout already counts as channels-last, so contiguous(format) keeps it,
        // while to(format) restrides it as PyTorch's to(memory_format=...) does (what makes a convolution go NHWC).
        var grey = zeros(2, 1, 4, 5);
        Assert.True(grey.is_contiguous(channels_last));
        Assert.Equal(new long[] { 20, 20, 5, 1 }, grey.contiguous(channels_last).stride());
        Assert.Equal(new long[] { 20, 1, 5, 1 }, grey.to(channels_last).stride());
        Assert.False(arange(3L).is_contiguous(channels_last)); // not 4-D: never channels-last
    }

    [Fact]
    public void Arithmetic_and_shape_ops()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 });
        var b = tensor(new float[] { 10, 20, 30, 40 }, new long[] { 2, 2 });
        Assert.Equal(new float[] { 11, 22, 33, 44 }, (a + b).data<float>());
        Assert.Equal(new float[] { 9, 18, 27, 36 }, (b - a).data<float>());
        Assert.Equal(new float[] { 10, 40, 90, 160 }, (a * b).data<float>());
        Assert.Equal(new float[] { 10, 10, 10, 10 }, (b / a).data<float>());
        Assert.Equal(new float[] { 3, 4, 5, 6 }, (a + 2).data<float>());
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, (a / 2.0).data<float>());
        Assert.Equal(new float[] { 0, -1, -2, -3 }, (1 - a).data<float>());
        Assert.Equal(new float[] { 70, 100, 150, 220 }, a.matmul(b).data<float>());
        Assert.Equal(new float[] { 1, 3, 2, 4 }, a.transpose(0, 1).contiguous().data<float>());
        Assert.Equal(new long[] { 4 }, a.flatten().shape);
        Assert.Equal(new long[] { 1, 2, 2 }, a.unsqueeze(0).shape);
        Assert.Equal(new float[] { 4, 6 }, a.sum(0).data<float>());
        Assert.Equal(new float[] { 1.5f, 3.5f }, a.mean(new long[] { 1 }).data<float>());
        Assert.Equal(new long[] { 1, 1 }, a.argmax(1).data<long>());
        Assert.Equal(new bool[] { false, true, false, false }, a.eq(2.0).data<bool>());
        Assert.Equal(new float[] { 1, 2, 3, 4, 10, 20, 30, 40 }, cat(new[] { a, b }, 0).data<float>());
        Assert.Equal(new long[] { 2, 2, 2 }, stack(new[] { a, b }, 0).shape);
        Assert.Equal(new float[] { 2, 4 }, a.select(1, 1).data<float>());
        Assert.Equal(new float[] { 3, 4 }, a.index_select(0, tensor(new long[] { 1 })).data<float>());
        Assert.Equal(new float[] { 2, 1, 4, 3 }, a.flip(1).data<float>());
        Assert.Equal(new float[] { 4, 3, 2, 1 }, a.flatten().roll(1, 0).flip(0).roll(1, 0).data<float>());
        var chunks = a.chunk(2, 1);
        Assert.Equal(new float[] { 1, 3 }, chunks[0].contiguous().data<float>());
        a.add_(b);
        Assert.Equal(new float[] { 11, 22, 33, 44 }, a.data<float>());
    }

    [Fact]
    public void Native_errors_become_exceptions_with_libtorch_message_and_the_process_goes_on()
    {
        using var scope = NewDisposeScope();
        var a = zeros(2, 3);
        var b = zeros(4, 5);
        var e = Assert.Throws<TorchException>(() => a.matmul(b));
        Assert.Contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", e.Message);

        var x = zeros(1, 3, 8, 8);
        var w = zeros(4, 2, 3, 3); // expects 2 input channels
        var ce = Assert.Throws<TorchException>(() => nn.functional.conv2d(x, w));
        Assert.Contains("expected input[1, 3, 8, 8] to have 2 channels", ce.Message);

        // wrong dtype: class-index targets must be integers
        var logits = zeros(2, 5);
        var te = Assert.Throws<TorchException>(() => nn.functional.cross_entropy(logits, zeros(2)));
        Assert.Contains("Float", te.Message);

        var ie = Assert.Throws<TorchException>(() => a.select(0, 7));
        Assert.Contains("out of range", ie.Message);

        if (!cuda.is_available())
            Assert.Contains("CUDA", Assert.Throws<TorchException>(() => zeros(new long[] { 2 }, device: CUDA)).Message);

        Assert.Equal("from the test", Assert.Throws<TorchException>(() => Native.Check(Native.ats_test_throw("from the test"))).Message);

        // the process, the thread and libtorch are fine afterwards
        Assert.Equal(new float[] { 2, 2 }, (ones(2) * 2).data<float>());
        Assert.Null(Native.LastError());
    }

    [Fact]
    public void Using_a_disposed_tensor_is_an_ObjectDisposedException()
    {
        var t = zeros(2);
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.sum());
        t.Dispose(); // twice is fine
    }

    [Fact]
    public void Dispose_scope_frees_what_it_created_and_keeps_what_was_moved_out()
    {
        GC.Collect();                     // settle what earlier tests left to the finalizer
        GC.WaitForPendingFinalizers();
        var before = LiveTensorHandles;
        Tensor kept, detached, inner;
        Tensor[] dropped;
        using (var outer = NewDisposeScope())
        {
            using (var scope = NewDisposeScope())
            {
                var a = randn(10, 10);
                var b = a.matmul(a).relu();
                var c = (b + 1).sum();
                dropped = new[] { a, b, c };
                kept = (a * 2).MoveToOuterDisposeScope();   // now owned by `outer`
                detached = (a * 3).DetachFromDisposeScope(); // owned by nobody but us
                Assert.Equal(5, scope.OwnedCount);
                Assert.Equal(before + 7, LiveTensorHandles);
            }
            Assert.All(dropped, t => Assert.True(t.IsDisposed));
            Assert.False(kept.IsDisposed);
            Assert.False(detached.IsDisposed);
            Assert.Equal(before + 2, LiveTensorHandles);
            Assert.Equal(1, outer.OwnedCount);
            inner = zeros(1);
            // an inner scope left open is closed by its outer one
            NewDisposeScope();
            var leaked = ones(1);
            Assert.False(leaked.IsDisposed);
            dropped = new[] { leaked };
        }
        Assert.True(kept.IsDisposed);
        Assert.True(inner.IsDisposed);
        Assert.True(dropped[0].IsDisposed);
        Assert.Null(DisposeScope.Current);
        Assert.False(detached.IsDisposed);
        Assert.Equal(before + 1, LiveTensorHandles);
        detached.Dispose();
        Assert.Equal(before, LiveTensorHandles);
    }

    [Fact]
    public void Parameters_buffers_and_their_gradients_are_not_scope_owned()
    {
        GC.Collect();                     // settle what earlier tests left to the finalizer
        GC.WaitForPendingFinalizers();
        var before = LiveTensorHandles;
        nn.Linear lin;
        using (var scope = NewDisposeScope())
        {
            lin = new nn.Linear(3, 2);
            var y = lin.forward(ones(4, 3)).sum();
            y.backward();
        }
        Assert.False(lin.weight.IsDisposed);
        using (var scope = NewDisposeScope())
        {
            var g = lin.weight.grad!;
            Assert.Equal(new long[] { 2, 3 }, g.shape);
            Assert.Equal(new float[] { 4, 4, 4, 4, 4, 4 }, g.data<float>());
        }
        lin.Dispose();
        Assert.Equal(before, LiveTensorHandles);
    }

    [Fact]
    public void No_grad_guard_disables_and_restores_autograd()
    {
        using var scope = NewDisposeScope();
        var w = ones(new long[] { 2 }, requires_grad: true);
        Assert.True(is_grad_enabled());
        using (no_grad())
        {
            Assert.False(is_grad_enabled());
            Assert.False((w * 2).requires_grad);
        }
        Assert.True(is_grad_enabled());
        Assert.True((w * 2).requires_grad);
    }

    [Fact]
    public void Backward_computes_gradients()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        var y = (x * x).sum();       // dy/dx = 2x
        y.backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>());
        var z = (x * 3).sum();
        z.backward();                // accumulates
        Assert.Equal(new float[] { 5, 7, 9 }, x.grad!.data<float>());
        x.grad = null;
        Assert.Null(x.grad);
        var v = x * 2;
        v.backward(tensor(new float[] { 1, 0, 1 }));
        Assert.Equal(new float[] { 2, 0, 2 }, x.grad!.data<float>());
    }

    [Fact]
    public void Threads_seed_and_device_queries()
    {
        var n = get_num_threads();
        set_num_threads(2);
        Assert.Equal(2, get_num_threads());
        set_num_threads(n);
        using var scope = NewDisposeScope();
        manual_seed(42);
        var a = randn(5).data<float>();
        manual_seed(42);
        var b = randn(5).data<float>();
        Assert.Equal(a, b);
        Assert.Equal(cuda.is_available(), cuda.device_count() > 0);
        if (!cuda.is_available()) Assert.Equal(0, cuda.memory_allocated());
        Assert.Matches(@"^\d+\.\d+", __version__);
        Assert.True(ProcessMemory.CurrentRss > 0 && ProcessMemory.PeakRss > 0); // VmHWM is updated lazily, so no ordering between them
    }
}
